"""Run a container from an image: the spec the run dialog edits, its validation, the
equivalent `docker run` line, and the create + start that never leaves a half-made
container behind.

Blocking (docker-py and a few socket binds): call `validate(spec, engine)` and
`run(engine, spec)` from a worker thread, never the UI thread.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import re
import shlex
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dockui.engine.errors import describe_error
from dockui.engine.text import clean_field

if TYPE_CHECKING:
    from dockui.engine.client import Engine

__all__ = [
    "PortMapping",
    "Problem",
    "RunError",
    "RunResult",
    "RunSpec",
    "VolumeMount",
    "docker_cli_line",
    "parse_restart",
    "ports_from_image",
    "run",
    "validate",
]

PROTOCOLS = ("tcp", "udp", "sctp")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
# Container ports that are usually a web server: their URL is worth showing.
WEB_PORTS = frozenset(
    {80, 443, 3000, 4000, 4200, 5000, 5173, 8000, 8001, 8008, 8080, 8081, 8443, 8888, 9000}
)
HTTPS_PORTS = frozenset({443, 8443})

_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True, slots=True)
class PortMapping:
    """`-p [host_ip:][host_port:]container_port[/proto]`; host_port None = the engine
    picks a free port (what `-p 80` does); the run dialog prefills it as "ask the user"."""

    host_ip: str
    host_port: int | None
    container_port: int
    proto: str = "tcp"

    @classmethod
    def parse(cls, text: str) -> PortMapping:
        """`4000:80`, `127.0.0.1:4000:80/udp`, `[::1]:4000:80`, `80`; ValueError says why."""
        spec = text.strip()
        proto = "tcp"
        if "/" in spec:
            spec, proto = spec.rsplit("/", 1)
            proto = proto.lower()
        host_ip = ""
        if spec.startswith("["):
            end = spec.find("]")
            if end < 0:
                raise ValueError(f"{text!r}: an IPv6 host address needs a closing ']'.")
            host_ip, spec = spec[1:end], spec[end + 1 :].lstrip(":")
        parts = spec.split(":")
        if len(parts) == 3:
            host_ip, host, container = parts
        elif len(parts) == 2:
            host, container = parts
        elif len(parts) == 1:
            host, container = "", parts[0]
        else:
            raise ValueError(f"{text!r} is not HOST_PORT:CONTAINER_PORT.")
        return cls(host_ip, _int(host, text) if host else None, _int(container, text), proto)

    def text(self) -> str:
        """The `-p` argument for this mapping."""
        ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        host = "" if self.host_port is None else str(self.host_port)
        if ip:
            left = f"{ip}:{host}:"
        elif host:
            left = f"{host}:"
        else:
            left = ""
        suffix = "" if self.proto == "tcp" else f"/{self.proto}"
        return f"{left}{self.container_port}{suffix}"


def _int(value: str, text: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{text!r}: {value!r} is not a port number.") from None


@dataclass(frozen=True, slots=True)
class VolumeMount:
    """A host directory/file (`/src`, `./data`, `~/x`) or a named volume, at `target`."""

    source: str
    target: str
    read_only: bool = False

    @classmethod
    def parse(cls, text: str) -> VolumeMount:
        """`host:container[:ro|rw]`; ValueError says why not."""
        parts = text.strip().split(":")
        read_only = False
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            read_only = parts[2] == "ro"
            parts = parts[:2]
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{text!r} is not SOURCE:CONTAINER_PATH[:ro].")
        return cls(parts[0], parts[1], read_only)

    @property
    def is_bind(self) -> bool:
        return self.source.startswith(("/", ".", "~"))

    @property
    def host_path(self) -> str:
        """The bind source as an absolute path (relative ones from the current directory)."""
        return os.path.abspath(os.path.expanduser(self.source))

    def text(self) -> str:
        source = self.host_path if self.is_bind else self.source
        return f"{source}:{self.target}" + (":ro" if self.read_only else "")


@dataclass
class RunSpec:
    """What the run dialog collects."""

    image: str
    name: str = ""
    ports: list[PortMapping] = field(default_factory=list)
    env: list[str] = field(default_factory=list)  # KEY=VALUE (KEY alone: from our env)
    volumes: list[VolumeMount] = field(default_factory=list)
    restart: str = "no"  # no | always | unless-stopped | on-failure[:N]
    command: str = ""  # shell words, split with shlex; empty = the image's CMD
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec: the dialog field (and row) it belongs to."""

    field: str  # image | name | ports | env | volumes | restart | command | labels
    message: str
    index: int | None = None  # the row, for ports / env / volumes


@dataclass(frozen=True, slots=True)
class RunResult:
    container_id: str
    name: str
    urls: tuple[str, ...] = ()
    ports: tuple[PortMapping, ...] = ()  # as published, engine-chosen host ports filled in


class RunError(Exception):
    """The run failed; `sentence` says why in one sentence. No container is left behind."""

    def __init__(self, sentence: str, field: str | None = None) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.field = field


def parse_restart(policy: str) -> tuple[str, int]:
    """`on-failure:3` → ("on-failure", 3); ValueError with a sentence when invalid."""
    text = (policy or "no").strip()
    name, _, count = text.partition(":")
    if name not in RESTART_POLICIES:
        raise ValueError(
            f"Restart policy {text!r} is not one of no, always, unless-stopped, on-failure[:N]."
        )
    if not count:
        return name, 0
    if name != "on-failure":
        raise ValueError(f"Only on-failure takes a retry count ({text!r}).")
    if not count.isdigit():
        raise ValueError(f"The retry count in {text!r} must be a whole number.")
    return name, int(count)


def _command_words(command: str) -> list[str]:
    return shlex.split(command) if command.strip() else []


# --------------------------------------------------------------------------- image


def ports_from_image(engine: Engine, image: str) -> list[PortMapping]:
    """The image's EXPOSEd ports as mapping rows whose host port is still to be chosen."""
    config = engine.api.inspect_image(image).get("Config") or {}
    rows: list[PortMapping] = []
    for key in config.get("ExposedPorts") or {}:
        port, _, proto = str(key).partition("/")
        with contextlib.suppress(ValueError):
            rows.append(PortMapping("", None, int(port), (proto or "tcp").lower()))
    return sorted(rows, key=lambda m: (m.proto != "tcp", m.container_port, m.proto))


# --------------------------------------------------------------------------- validation


def _as_port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _wildcard(ip: str | None) -> bool:
    return ip in (None, "", "0.0.0.0", "::")


def _ips_overlap(a: str | None, b: str | None) -> bool:
    return _wildcard(a) or _wildcard(b) or a == b


def engine_is_local(engine: Engine | None) -> bool:
    """Whether the engine's host is this machine (so host ports and paths are ours)."""
    if engine is None:
        return True
    parsed = urlparse(engine.info.host)
    if parsed.scheme in ("unix", "npipe", "fd"):
        return True
    return parsed.hostname in ("localhost", "127.0.0.1", "::1")


def _probe_port(ip: str, port: int, proto: str) -> str | None:
    """Try to bind like the engine's port proxy would: "in-use", "bad-ip" or None (free
    or unknown). TCP sets SO_REUSEADDR as Go (and so docker-proxy) does: a port with only
    TIME_WAIT connections left is free, one with a listener is not."""
    targets = [ip] if ip else ["0.0.0.0", "::"]
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    if proto not in ("tcp", "udp"):
        return None
    for addr in targets:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        try:
            sock = socket.socket(family, kind)
        except OSError:
            continue  # no IPv6 here
        try:
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and not ip:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((addr, port))
            if kind == socket.SOCK_STREAM:
                sock.listen(1)  # a listener elsewhere with SO_REUSEPORT only shows here
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "in-use"
            if exc.errno == errno.EADDRNOTAVAIL and ip:
                return "bad-ip"
            continue  # EACCES (a low port without root), no IPv6, ...: unknown
        finally:
            sock.close()
    return None


def published_ports(engine: Engine) -> list[tuple[str, int, str, str | None]]:
    """(container name, host port, proto, host ip) for every port the engine publishes."""
    out: list[tuple[str, int, str, str | None]] = []
    for raw in engine.api.containers():
        names = raw.get("Names") or []
        name = clean_field(names[0].lstrip("/")) if names else str(raw.get("Id", ""))[:12]
        for port in raw.get("Ports") or ():
            if port.get("PublicPort"):
                out.append(
                    (name, int(port["PublicPort"]), str(port.get("Type") or "tcp"), port.get("IP"))
                )
    return out


def validate(spec: RunSpec, engine: Engine | None = None) -> list[Problem]:
    """Everything wrong with `spec` before the engine sees it (empty: good to go).

    With an engine: the image must exist there, the name must be free, and a host port
    held by one of its containers is named ("Port 4000 is taken by container web-1").
    Host ports and host paths are checked on this machine only when the engine is local.
    """
    problems: list[Problem] = []
    local = engine_is_local(engine)

    image = spec.image.strip()
    if not image:
        problems.append(Problem("image", "Choose an image to run."))
    elif engine is not None:
        try:
            engine.api.inspect_image(image)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404 or "No such image" in str(exc):
                problems.append(Problem("image", f"Image {image} is not on this engine."))
            else:
                problems.append(Problem("image", f"Cannot check image {image}: {_why(exc)}"))

    problems.extend(_name_problems(spec.name, engine))
    problems.extend(_port_problems(spec.ports, engine, local))
    problems.extend(_env_problems(spec.env))
    problems.extend(_volume_problems(spec.volumes, local))

    try:
        parse_restart(spec.restart)
    except ValueError as exc:
        problems.append(Problem("restart", str(exc)))
    try:
        _command_words(spec.command)
    except ValueError as exc:
        problems.append(Problem("command", f"The command cannot be split into words: {exc}."))
    for key in spec.labels:
        if not key.strip():
            problems.append(Problem("labels", "A label has no key."))
    return problems


def _why(exc: BaseException) -> str:
    text = describe_error(exc).strip().rstrip(".")
    return (text[:1].upper() + text[1:] + ".") if text else "The engine refused."


def _name_problems(name: str, engine: Engine | None) -> list[Problem]:
    if not name:
        return []
    if not _NAME.match(name):
        return [
            Problem(
                "name",
                f"Name {name!r} is not valid: use letters, digits, '_', '.' and '-', at least "
                "two characters, starting with a letter or digit.",
            )
        ]
    if engine is None:
        return []
    bare = name.lstrip("/")
    try:
        found = engine.api.containers(all=True, filters={"name": f"^/{re.escape(bare)}$"})
    except Exception:
        return []
    for raw in found:
        if any(n.lstrip("/") == bare for n in raw.get("Names") or ()):
            state = clean_field(raw.get("State")) or "existing"
            return [
                Problem(
                    "name",
                    f"The name {bare} is already used by a container ({state}, "
                    f"{str(raw.get('Id', ''))[:12]}).",
                )
            ]
    return []


def _port_problems(ports: list[PortMapping], engine: Engine | None, local: bool) -> list[Problem]:
    problems: list[Problem] = []
    held: list[tuple[str, int, str, str | None]] | None = None
    seen: list[tuple[int, str, str, int]] = []  # (host port, proto, ip, row)
    for i, mapping in enumerate(ports):
        row = i + 1
        container = _as_port(mapping.container_port)
        host = None if mapping.host_port in (None, "") else _as_port(mapping.host_port)
        proto = str(mapping.proto or "tcp").lower()
        ip = (mapping.host_ip or "").strip().strip("[]")
        if container is None or not 1 <= container <= 65535:
            problems.append(
                Problem(
                    "ports",
                    f"Container port {mapping.container_port!r} must be a number 1-65535.",
                    i,
                )
            )
            continue
        if mapping.host_port not in (None, "") and (host is None or not 1 <= host <= 65535):
            problems.append(
                Problem("ports", f"Host port {mapping.host_port!r} must be a number 1-65535.", i)
            )
            continue
        if proto not in PROTOCOLS:
            problems.append(Problem("ports", f"Protocol {proto!r} must be tcp or udp.", i))
            continue
        if ip:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                problems.append(Problem("ports", f"Host IP {ip!r} is not an IP address.", i))
                continue
        if host is None:
            continue
        dup = next(
            (
                r
                for p, pr, other, r in seen
                if p == host and pr == proto and _ips_overlap(ip, other)
            ),
            None,
        )
        seen.append((host, proto, ip, row))
        if dup is not None:
            problems.append(
                Problem(
                    "ports", f"Host port {host}/{proto} is mapped twice (rows {dup} and {row}).", i
                )
            )
            continue
        if engine is not None:
            if held is None:
                try:
                    held = published_ports(engine)
                except Exception:
                    held = []
            holder = next(
                (
                    n
                    for n, p, pr, hip in held
                    if p == host and pr == proto and _ips_overlap(ip, hip)
                ),
                None,
            )
            if holder is not None:
                problems.append(Problem("ports", f"Port {host} is taken by container {holder}.", i))
                continue
        if local:
            probe = _probe_port(ip, host, proto)
            if probe == "in-use":
                problems.append(
                    Problem(
                        "ports", f"Port {host} is in use by another program on this machine.", i
                    )
                )
            elif probe == "bad-ip":
                problems.append(
                    Problem("ports", f"Host IP {ip} is not an address of this machine.", i)
                )
    return problems


def _env_problems(env: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for i, item in enumerate(env):
        key = item.split("=", 1)[0]
        if not key:
            problems.append(Problem("env", f"Environment entry {item!r} has no name.", i))
        elif not _ENV_KEY.match(key):
            problems.append(
                Problem(
                    "env",
                    f"{key!r} is not a valid variable name (letters, digits and '_', not "
                    "starting with a digit).",
                    i,
                )
            )
    return problems


def _volume_problems(volumes: list[VolumeMount], local: bool) -> list[Problem]:
    problems: list[Problem] = []
    targets: dict[str, int] = {}
    for i, vol in enumerate(volumes):
        if not vol.source or not vol.target:
            problems.append(Problem("volumes", "A volume needs a source and a container path.", i))
            continue
        if not vol.target.startswith("/"):
            problems.append(
                Problem("volumes", f"Container path {vol.target!r} must be absolute (/...).", i)
            )
            continue
        target = os.path.normpath(vol.target)
        if target in targets:
            problems.append(
                Problem(
                    "volumes",
                    f"Two volumes mount at {target} (rows {targets[target] + 1} and {i + 1}).",
                    i,
                )
            )
            continue
        targets[target] = i
        if vol.is_bind:
            if local and not os.path.exists(vol.host_path):
                problems.append(Problem("volumes", f"Host path {vol.host_path} does not exist.", i))
        elif not _VOLUME_NAME.match(vol.source):
            problems.append(
                Problem(
                    "volumes",
                    f"{vol.source!r} is neither a host path (start it with / or ./) nor a valid "
                    "volume name.",
                    i,
                )
            )
    return problems


# --------------------------------------------------------------------------- docker run line


def docker_cli_line(spec: RunSpec) -> str:
    """The `docker run` command that does what `run(engine, spec)` does, shell-quoted."""
    argv = ["docker", "run", "-d"]
    if spec.name:
        argv += ["--name", spec.name]
    for mapping in spec.ports:
        argv += ["-p", mapping.text()]
    for item in spec.env:
        argv += ["-e", item]
    for vol in spec.volumes:
        if ":" in vol.source or ":" in vol.target:
            kind = "bind" if vol.is_bind else "volume"
            source = vol.host_path if vol.is_bind else vol.source
            value = f"type={kind},source={source},target={vol.target}"
            argv += ["--mount", value + (",readonly" if vol.read_only else "")]
        else:
            argv += ["-v", vol.text()]
    restart = (spec.restart or "no").strip()
    if restart != "no":
        argv += ["--restart", restart]
    for key, value in spec.labels.items():
        argv += ["--label", f"{key}={value}"]
    argv.append(spec.image or "IMAGE")
    try:
        argv += _command_words(spec.command)
    except ValueError:
        argv += spec.command.split()
    return shlex.join(argv)


# --------------------------------------------------------------------------- run


def _environment(env: list[str]) -> list[str]:
    """KEY=VALUE as given; a bare KEY takes our value, or is dropped (as `docker run -e`)."""
    out: list[str] = []
    for item in env:
        if "=" in item:
            out.append(item)
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out


def _host_config(engine: Engine, spec: RunSpec) -> Any:
    from docker.types import Mount

    bindings: dict[str, list[dict[str, str]]] = {}
    for mapping in spec.ports:
        key = f"{int(mapping.container_port)}/{(mapping.proto or 'tcp').lower()}"
        host = "" if mapping.host_port in (None, "") else str(int(mapping.host_port))
        bindings.setdefault(key, []).append(
            {"HostIp": (mapping.host_ip or "").strip("[]"), "HostPort": host}
        )
    mounts = [
        Mount(
            target=vol.target,
            source=vol.host_path if vol.is_bind else vol.source,
            type="bind" if vol.is_bind else "volume",
            read_only=vol.read_only,
        )
        for vol in spec.volumes
    ]
    name, retries = parse_restart(spec.restart)
    restart = None if name == "no" else {"Name": name, "MaximumRetryCount": retries}
    return engine.api.create_host_config(
        port_bindings=bindings or None, mounts=mounts or None, restart_policy=restart
    )


def run(engine: Engine, spec: RunSpec) -> RunResult:
    """Create and start the container; on any failure, remove what was made and raise
    RunError with one clear sentence. Does not call `validate` (the dialog does)."""
    try:
        host_config = _host_config(engine, spec)
        command = _command_words(spec.command) or None
        exposed = sorted({(int(m.container_port), (m.proto or "tcp").lower()) for m in spec.ports})
        created = engine.api.create_container(
            spec.image,
            command=command,
            name=spec.name or None,
            environment=_environment(spec.env) or None,
            ports=exposed or None,
            host_config=host_config,
            labels=dict(spec.labels) or None,
            detach=True,
        )
    except Exception as exc:
        raise RunError(*run_error_sentence(exc, spec)) from exc
    container_id = str(created["Id"])
    try:
        engine.api.start(container_id)
        info = engine.api.inspect_container(container_id)
    except Exception as exc:
        with contextlib.suppress(Exception):
            engine.api.remove_container(container_id, force=True, v=True)
        raise RunError(*run_error_sentence(exc, spec)) from exc
    name = clean_field(str(info.get("Name") or "").lstrip("/")) or container_id[:12]
    ports = _published(info)
    return RunResult(container_id, name, tuple(urls_for(ports, engine)), tuple(ports))


def _published(info: dict[str, Any]) -> list[PortMapping]:
    out: list[PortMapping] = []
    raw = (info.get("NetworkSettings") or {}).get("Ports") or {}
    for key, bindings in raw.items():
        port, _, proto = str(key).partition("/")
        for binding in bindings or ():
            host = binding.get("HostPort")
            if host:
                out.append(PortMapping(binding.get("HostIp") or "", int(host), int(port), proto))
    return out


def urls_for(ports: list[PortMapping], engine: Engine | None = None) -> list[str]:
    """`http://localhost:4000` for each published web-like TCP port (all TCP ports when
    none looks like a web server); IPv4/IPv6 twins once."""
    host = "localhost"
    if engine is not None and not engine_is_local(engine):
        host = urlparse(engine.info.host).hostname or host
    tcp = [m for m in ports if m.proto == "tcp" and m.host_port]
    web = [m for m in tcp if m.container_port in WEB_PORTS] or tcp
    urls: dict[str, None] = {}
    for m in sorted(web, key=lambda m: (m.container_port, m.host_port or 0)):
        scheme = "https" if m.container_port in HTTPS_PORTS else "http"
        where = host
        if not _wildcard(m.host_ip) and m.host_ip not in ("127.0.0.1", "::1"):
            where = f"[{m.host_ip}]" if ":" in m.host_ip else m.host_ip
        urls.setdefault(f"{scheme}://{where}:{m.host_port}", None)
    return list(urls)


_ALLOCATED = re.compile(
    r"Bind for (?:\[?[0-9a-fA-F.:]*\]?):(\d+) failed: port is already allocated"
)
_ADDR_IN_USE = re.compile(
    r"listen (?:tcp|udp)[46]? (?:\[?[0-9a-fA-F.:]*\]?):(\d+): bind: address already in use"
)
_NOT_FOUND_EXEC = re.compile(r'exec: "([^"]+)": executable file not found')
_BIND_SOURCE = re.compile(r"bind source path does not exist: (\S+)")


def run_error_sentence(exc: BaseException, spec: RunSpec) -> tuple[str, str | None]:
    """(sentence, dialog field) for what the engine said when create/start failed."""
    full = str(getattr(exc, "explanation", "") or exc)
    match = _ALLOCATED.search(full)
    if match:
        return f"Port {match.group(1)} is already allocated on the host.", "ports"
    match = _ADDR_IN_USE.search(full)
    if match:
        return f"Port {match.group(1)} is in use by another program on the host.", "ports"
    if "port is already allocated" in full:
        return "A host port is already allocated on the host.", "ports"
    if "is already in use by container" in full or "Conflict. The container name" in full:
        return f"The name {spec.name} is already used by another container.", "name"
    if "No such image" in full:
        return f"Image {spec.image} is not on this engine.", "image"
    match = _BIND_SOURCE.search(full)
    if match:
        return f"Host path {match.group(1)} does not exist.", "volumes"
    match = _NOT_FOUND_EXEC.search(full)
    if match:
        return f"The command {match.group(1)} is not in the image.", "command"
    if "Invalid container name" in full:
        return f"Name {spec.name!r} is not a valid container name.", "name"
    return _why(exc), None
