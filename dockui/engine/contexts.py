"""Docker contexts, read the way the docker CLI reads them.

The CLI keeps its contexts beside its config file: `$DOCKER_CONFIG` (or `~/.docker`)
holds `config.json` (whose `currentContext` names the active one) and a `contexts/`
store where each context lives under the SHA-256 of its name:

    contexts/meta/<sha256(name)>/meta.json          name, description, endpoints
    contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem   TLS material, each optional

docker-py's `docker.context.ContextAPI` reads the same store, but it only finds the
store when `config.json` exists (a fresh `docker context create` does not write one),
reads the process environment only, ignores DOCKER_HOST for the `default` context,
drops TLS unless all three PEM files exist, and raises a bare `Exception` on a corrupt
meta file. So this module reads the store itself, reusing docker-py's naming
(`get_context_id`, `METAFILE`) and its `TLSConfig`.

Which context is active follows the CLI exactly (docker/cli `resolveContextName`):
`--context` flag > `--host` flag (the `default` context with that host) > a non-empty
DOCKER_HOST (ditto) > a non-empty DOCKER_CONTEXT > `currentContext` in config.json >
`default`. Note that DOCKER_HOST beats DOCKER_CONTEXT: the CLI warns "DOCKER_HOST
environment variable overrides the active context" and does the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dockui.engine.client import DEFAULT_HOST, EngineUnavailable

if TYPE_CHECKING:
    from docker.tls import TLSConfig

# The context store's layout, as docker.context.config has it (METAFILE, get_context_id);
# written out so resolving the default socket does not import docker-py (a test compares).
METAFILE = "meta.json"


def get_context_id(name: str) -> str:
    """The directory name of a context in the store: the SHA-256 of its name."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


DEFAULT_CONTEXT = "default"
DEFAULT_DESCRIPTION = "Current DOCKER_HOST based configuration"

# Where the active context's name came from (Target.source / ContextInfo.source).
FROM_FLAG = "--context"
FROM_HOST_FLAG = "--host"
FROM_DOCKER_HOST = "DOCKER_HOST"
FROM_DOCKER_CONTEXT = "DOCKER_CONTEXT"
FROM_CONFIG = "config.json"
FROM_DEFAULT = "default"


@dataclass(frozen=True)
class ContextInfo:
    """One row of `docker context ls`."""

    name: str
    host: str  # the Docker endpoint: unix:///..., tcp://..., ssh://...
    description: str = ""
    tls: bool = False  # TLS material or skip-verify is configured (tcp endpoints)
    current: bool = False
    source: str = ""  # meta.json path for stored contexts; "DOCKER_HOST"/"default" for default
    error: str = ""  # non-empty: the context is broken and cannot be used (why)

    @property
    def label(self) -> str:
        return self.host if self.name == DEFAULT_CONTEXT else f"{self.name} ({self.host})"


@dataclass(frozen=True)
class Target:
    """Where to connect and how: what `connect()` needs, resolved from flags/env/config."""

    name: str  # the context's name; "default" for --host / DOCKER_HOST / the local socket
    host: str
    tls_config: TLSConfig | None = None
    label: str = ""  # for humans: "staging (tcp://10.0.0.5:2376)" or just the host
    source: str = FROM_DEFAULT  # which rule chose it (FROM_*)
    cert_path: str | None = None  # directory holding ca.pem/cert.pem/key.pem, if any
    tls_verify: bool = False

    @property
    def is_context(self) -> bool:
        """A named context from the store (not the implicit default)."""
        return self.name != DEFAULT_CONTEXT

    def cli_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment that points the docker CLI at this same engine."""
        env = dict(os.environ if environ is None else environ)
        for key in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"):
            env.pop(key, None)
        env["DOCKER_HOST"] = self.host
        if self.tls_config is not None and urlparse(self.host).scheme in ("tcp", "https"):
            if self.tls_verify:
                env["DOCKER_TLS_VERIFY"] = "1"
            else:
                env["DOCKER_TLS"] = "1"
            if self.cert_path:
                env["DOCKER_CERT_PATH"] = self.cert_path
        return env


# -- where things are ----------------------------------------------------------------------
def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The docker CLI's config directory: $DOCKER_CONFIG, else ~/.docker."""
    env = _env(environ)
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]).expanduser()
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".docker"


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "config.json"


def meta_dir(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "contexts" / "meta"


def tls_dir(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """The directory holding a context's docker-endpoint TLS material."""
    return config_dir(environ) / "contexts" / "tls" / get_context_id(name) / "docker"


def _load_config(environ: Mapping[str, str] | None) -> dict[str, Any]:
    """config.json, or {} when missing or unreadable (the CLI warns and carries on)."""
    try:
        data = json.loads(config_file(environ).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# -- which one -----------------------------------------------------------------------------
def current_context_name(
    environ: Mapping[str, str] | None = None,
    *,
    context: str | None = None,
    host: str | None = None,
) -> str:
    """The active context's name, by the docker CLI's rules (see the module docstring)."""
    return _choose(environ, context, host)[0]


def _choose(
    environ: Mapping[str, str] | None, context: str | None, host: str | None
) -> tuple[str, str]:
    env = _env(environ)
    if context:
        return context, FROM_FLAG
    if host:
        return DEFAULT_CONTEXT, FROM_HOST_FLAG
    if env.get("DOCKER_HOST"):
        return DEFAULT_CONTEXT, FROM_DOCKER_HOST
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"], FROM_DOCKER_CONTEXT
    current = _load_config(environ).get("currentContext")
    if isinstance(current, str) and current:
        return current, FROM_CONFIG
    return DEFAULT_CONTEXT, FROM_DEFAULT


# -- reading the store ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Stored:
    name: str
    host: str
    description: str
    skip_tls_verify: bool
    meta_path: Path
    error: str = ""


def _read_meta(path: Path) -> _Stored:
    """One meta.json; a broken one comes back with `error` set rather than raising."""
    fallback = path.parent.name[:12]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return _Stored(fallback, "", "", False, path, f"cannot read {path}: {exc.strerror}")
    except ValueError as exc:
        return _Stored(fallback, "", "", False, path, f"{path} is not valid JSON ({exc})")
    if not isinstance(data, dict) or not isinstance(data.get("Name"), str) or not data["Name"]:
        return _Stored(fallback, "", "", False, path, f"{path} has no context name")
    name = data["Name"]
    meta = data.get("Metadata") if isinstance(data.get("Metadata"), dict) else {}
    description = str(meta.get("Description") or "")
    endpoints = data.get("Endpoints") if isinstance(data.get("Endpoints"), dict) else {}
    docker_ep = endpoints.get("docker")
    if not isinstance(docker_ep, dict):
        return _Stored(name, "", description, False, path, "it has no Docker endpoint")
    host = str(docker_ep.get("Host") or DEFAULT_HOST)
    return _Stored(name, host, description, bool(docker_ep.get("SkipTLSVerify")), path)


def _stored_contexts(environ: Mapping[str, str] | None) -> list[_Stored]:
    root = meta_dir(environ)
    try:
        dirs = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    found = []
    for d in dirs:
        meta = d / METAFILE
        if meta.exists():
            found.append(_read_meta(meta))
        else:
            found.append(_Stored(d.name[:12], "", "", False, meta, f"{meta} is missing"))
    return sorted(found, key=lambda s: s.name)


def _tls_files(name: str, environ: Mapping[str, str] | None) -> dict[str, Path]:
    d = tls_dir(name, environ)
    return {k: d / f"{k}.pem" for k in ("ca", "cert", "key") if (d / f"{k}.pem").is_file()}


def _default_host(environ: Mapping[str, str] | None, host: str | None) -> str:
    return host or _env(environ).get("DOCKER_HOST") or DEFAULT_HOST


def _env_tls(environ: Mapping[str, str] | None) -> bool:
    env = _env(environ)
    return bool(env.get("DOCKER_TLS_VERIFY") or env.get("DOCKER_TLS"))


def list_contexts(
    environ: Mapping[str, str] | None = None,
    *,
    context: str | None = None,
    host: str | None = None,
) -> list[ContextInfo]:
    """`docker context ls`: the implicit `default` first, then the store sorted by name.

    Broken contexts are listed with `error` set (the CLI refuses to list anything then;
    a hosts screen is more useful showing the rest and saying what is wrong).
    """
    current = current_context_name(environ, context=context, host=host)
    env = _env(environ)
    default_source = FROM_DOCKER_HOST if (host or env.get("DOCKER_HOST")) else FROM_DEFAULT
    rows = [
        ContextInfo(
            DEFAULT_CONTEXT,
            _default_host(environ, host),
            DEFAULT_DESCRIPTION,
            tls=_env_tls(environ),
            current=current == DEFAULT_CONTEXT,
            source=default_source,
        )
    ]
    for s in _stored_contexts(environ):
        if s.name == DEFAULT_CONTEXT:
            continue  # "default" is reserved; the CLI never lists a stored one
        tls = not s.error and (bool(_tls_files(s.name, environ)) or s.skip_tls_verify)
        rows.append(
            ContextInfo(
                s.name,
                s.host,
                s.description,
                tls=tls,
                current=s.name == current,
                source=str(s.meta_path),
                error=s.error,
            )
        )
    return rows


def context_names(environ: Mapping[str, str] | None = None) -> list[str]:
    return [c.name for c in list_contexts(environ) if not c.error]


# -- resolving -----------------------------------------------------------------------------
def resolve(
    context: str | None = None,
    host: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """Where `connect()` should go: the engine address plus its TLS material.

    Raises EngineUnavailable with a sentence when the choice cannot be honoured: both
    --host and --context, an unknown context, a broken one, missing certificates.
    """
    if context and host:
        raise EngineUnavailable(
            host,
            "Conflicting options: give either --host or --context, not both.",
            "Drop one of them.",
        )
    name, source = _choose(environ, context, host)
    if name == DEFAULT_CONTEXT:
        address = _default_host(environ, host)
        tls, cert_path, verify = _env_tls_config(address, environ)
        return Target(name, address, tls, address, source, cert_path, verify)

    stored = {s.name: s for s in _stored_contexts(environ)}
    found = stored.get(name)
    if found is None:
        raise EngineUnavailable(
            f"context {name}",
            f"No docker context named {name!r} (known: {', '.join(_known(environ))}).",
            _unknown_hint(name, source, environ),
        )
    if found.error:
        raise EngineUnavailable(
            f"context {name}",
            f"The docker context {name!r} is broken: {found.error}.",
            f"Recreate it: docker context rm {name}; docker context create {name} --docker "
            "host=...",
        )
    tls, cert_path, verify = _context_tls_config(found, environ)
    label = f"{name} ({found.host})"
    return Target(name, found.host, tls, label, source, cert_path, verify)


def _known(environ: Mapping[str, str] | None) -> list[str]:
    return [DEFAULT_CONTEXT] + [
        s.name for s in _stored_contexts(environ) if not s.error and s.name != DEFAULT_CONTEXT
    ]


def _unknown_hint(name: str, source: str, environ: Mapping[str, str] | None) -> str:
    if source == FROM_DOCKER_CONTEXT:
        return f"DOCKER_CONTEXT={name} names it: unset DOCKER_CONTEXT or create the context."
    if source == FROM_CONFIG:
        return (
            f"currentContext in {config_file(environ)} names it: run `docker context use "
            "default` or create the context."
        )
    return "Create it with `docker context create`, or pick one from `docker context ls`."


def _is_tcp(address: str) -> bool:
    return urlparse(address).scheme in ("tcp", "https", "http")


def _env_tls_config(
    address: str, environ: Mapping[str, str] | None
) -> tuple[TLSConfig | None, str | None, bool]:
    """TLS for the default context: DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH."""
    env = _env(environ)
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not _is_tcp(address) or not (verify or env.get("DOCKER_TLS")):
        return None, None, False
    home = env.get("HOME") or os.path.expanduser("~")
    cert_path = env.get("DOCKER_CERT_PATH") or os.path.join(home, ".docker")
    files = {k: os.path.join(cert_path, f"{k}.pem") for k in ("ca", "cert", "key")}
    missing = [f"{k}.pem" for k, p in files.items() if not os.path.isfile(p)]
    if verify and missing:
        where = "DOCKER_CERT_PATH" if env.get("DOCKER_CERT_PATH") else "the default"
        raise EngineUnavailable(
            address,
            f"TLS verification is on (DOCKER_TLS_VERIFY) but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing from {cert_path} ({where} "
            "certificate directory).",
            "Point DOCKER_CERT_PATH at the directory with ca.pem, cert.pem and key.pem, "
            "or unset DOCKER_TLS_VERIFY for a plain-TCP engine.",
        )
    client_cert = (files["cert"], files["key"]) if "cert.pem" not in missing else None
    if client_cert and "key.pem" in missing:
        client_cert = None
    ca = files["ca"] if "ca.pem" not in missing else None
    return _tls(address, client_cert, ca, verify), cert_path, verify


def _context_tls_config(
    stored: _Stored, environ: Mapping[str, str] | None
) -> tuple[TLSConfig | None, str | None, bool]:
    """TLS for a stored context, as the CLI's Endpoint.tlsConfig(): material or skip-verify."""
    files = _tls_files(stored.name, environ)
    if not _is_tcp(stored.host) or not (files or stored.skip_tls_verify):
        return None, None, False
    client_cert = None
    if "cert" in files and "key" in files:
        client_cert = (str(files["cert"]), str(files["key"]))
    ca = str(files["ca"]) if "ca" in files else None
    verify = not stored.skip_tls_verify
    return _tls(stored.host, client_cert, ca, verify), str(tls_dir(stored.name, environ)), verify


def _tls(
    address: str, client_cert: tuple[str, str] | None, ca: str | None, verify: bool
) -> TLSConfig:
    from docker.errors import TLSParameterError
    from docker.tls import TLSConfig

    try:
        return TLSConfig(client_cert=client_cert, ca_cert=ca, verify=verify)
    except TLSParameterError as exc:
        raise EngineUnavailable(
            address, f"The TLS settings for {address} are unusable: {exc}".split(". ")[0] + "."
        ) from exc
