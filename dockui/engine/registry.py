"""Registries: references, push and pull with per-layer progress, login, and what a
registry holds.

- `parse_reference(text)` reads `[host[:port]/]path[:tag][@digest]` after the grammar of
  distribution/reference that the engine applies, and says in one sentence what is wrong.
- `Transfer(engine, "push" | "pull", reference)` streams the engine's progress as parsed
  events (`LayerProgress`, `StatusText`) and ends with exactly one of `TransferDone` (with
  the digest), `TransferFailed` (a sentence) or `TransferCancelled`. Iterate it in a worker
  thread; `cancel()` from any thread closes the response stream and the iteration ends.
- `login(engine, registry, username, password)` checks the credentials through the engine
  and stores them where `docker login` does: the configured credential helper
  (`credHelpers` / `credsStore` in the docker config), else a base64 `auth` entry in
  $DOCKER_CONFIG/config.json (~/.docker/config.json). `credentials_for(registry)` reads them
  back (helpers included) for push and pull. Credentials are never logged or put in a
  message.
- `list_repositories` / `list_tags`: the Registry HTTP API v2 catalog, with the stored
  credentials.

Everything that talks to the engine or a registry blocks: call it from a worker thread.
No docker import at module level (screens import the event types from here).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dockui.engine.errors import describe_error
from dockui.engine.text import clean_field, clean_line

if TYPE_CHECKING:
    from dockui.engine.client import Engine

DEFAULT_REGISTRY = "docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"  # the key docker uses for Docker Hub credentials
NAME_TOTAL_LENGTH_MAX = 255
DAEMON_JSON = "/etc/docker/daemon.json"


# -- references -------------------------------------------------------------------------------
class InvalidReference(ValueError):
    """A reference the engine would refuse; `str()` says why in one sentence."""


_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*")
_DOMAIN_COMPONENT = re.compile(r"[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:]+\]")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_HEX64 = re.compile(r"[a-f0-9]{64}")


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed image reference. `registry` is "" when the name has no registry part (Docker
    Hub); `path` is the repository without the registry (`team/app`)."""

    registry: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """The name as the engine takes it: `127.0.0.1:5000/team/app`, or `team/app`."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def registry_host(self) -> str:
        """Where the image lives: the registry part, or docker.io."""
        return self.registry or DEFAULT_REGISTRY

    @property
    def ref(self) -> str:
        """The tag or digest part the engine is asked for (`latest` when neither)."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _check_domain(domain: str) -> None:
    host, port = domain, None
    if _IPV6.match(domain):
        end = domain.index("]") + 1
        host, rest = domain[:end], domain[end:]
        if rest:
            if not rest.startswith(":"):
                raise InvalidReference(f"Invalid registry address {domain!r}")
            port = rest[1:]
    elif ":" in domain:
        host, _, port = domain.partition(":")
    if port is not None:
        if not port.isdigit() or not port:
            raise InvalidReference(
                f"Invalid registry port {port!r} in {domain!r}: a port is a number, "
                "like localhost:5000"
            )
        if not 0 < int(port) < 65536:
            raise InvalidReference(f"Registry port {port} is out of range (1-65535)")
    if host.startswith("["):
        return
    if not host:
        raise InvalidReference(f"The registry address {domain!r} names no host")
    for part in host.split("."):
        if not _DOMAIN_COMPONENT.fullmatch(part):
            raise InvalidReference(
                f"Invalid registry host {host!r}: use letters, digits, '-' and '.', "
                "like registry.example.com:5000"
            )


def parse_reference(
    text: str, *, default_tag: str | None = "latest", allow_digest: bool = True
) -> Reference:
    """Parse `[host[:port]/]path[:tag][@digest]`; raise InvalidReference with one sentence.

    `default_tag` fills in the tag when neither a tag nor a digest is given (None leaves it
    empty). A first component is a registry when it has a '.' or a ':' or is `localhost`,
    as the engine decides."""
    ref = text.strip()
    if not ref:
        raise InvalidReference("The reference is empty: give a name like registry:5000/app:1.0")
    if any(ch.isspace() for ch in ref):
        raise InvalidReference(f"{ref!r} contains a space")
    if "://" in ref:
        raise InvalidReference(
            f"{ref!r} has a URL scheme: give host[:port]/name[:tag], without http:// or https://"
        )
    name, digest = ref, None
    if "@" in ref:
        name, _, digest = ref.partition("@")
        if not allow_digest:
            raise InvalidReference(f"{ref!r} has a digest: here a reference is a name and a tag")
        if not _DIGEST.fullmatch(digest):
            raise InvalidReference(
                f"Invalid digest {digest!r}: a digest is algorithm:hex, like sha256:<64 hex digits>"
            )
        algorithm, _, hexpart = digest.partition(":")
        if algorithm == "sha256" and not re.fullmatch(r"[a-f0-9]{64}", hexpart):
            raise InvalidReference(
                f"Invalid digest {digest!r}: sha256 takes exactly 64 lowercase hex digits"
            )
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not tag:
            raise InvalidReference(f"Invalid tag: {ref!r} ends with ':' but gives no tag")
        if not _TAG.fullmatch(tag):
            raise InvalidReference(
                f"Invalid tag {tag!r}: use up to 128 letters, digits, '_', '.' or '-', "
                "not starting with '.' or '-'"
            )
    if not name:
        raise InvalidReference(f"{ref!r} gives no repository name")
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(f"The name is longer than {NAME_TOTAL_LENGTH_MAX} characters")
    parts = name.split("/")
    registry = ""
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        _check_domain(first)
        registry, parts = first, parts[1:]
    path = "/".join(parts)
    if not path:
        raise InvalidReference(f"{ref!r} names a registry but no repository")
    if not registry and _HEX64.fullmatch(path):
        raise InvalidReference(
            f"{path[:12]}… looks like an image id: a repository name cannot be 64 hex digits"
        )
    for part in parts:
        if not part:
            raise InvalidReference(f"{name!r} has an empty path component (a doubled or end '/')")
        if part.lower() != part and _PATH_COMPONENT.fullmatch(part.lower()):
            raise InvalidReference(f"Invalid name {name!r}: repository names must be lowercase")
        if not _PATH_COMPONENT.fullmatch(part):
            raise InvalidReference(
                f"Invalid name component {part!r}: use lowercase letters and digits, "
                "separated by '.', '_', '__' or '-'"
            )
    if tag is None and digest is None:
        tag = default_tag
    return Reference(registry, path, tag, digest)


def validate_reference(text: str, *, allow_digest: bool = True) -> str | None:
    """None when `text` is a valid reference, else the sentence that says why not."""
    try:
        parse_reference(text, allow_digest=allow_digest)
    except InvalidReference as exc:
        return str(exc)
    return None


def validate_push_reference(text: str) -> str | None:
    """A push takes a name and a tag (no digest)."""
    return validate_reference(text, allow_digest=False)


def normalize_registry(text: str) -> str:
    """`https://reg.example.com:5000/` -> `reg.example.com:5000`; Docker Hub's names -> docker.io.
    Raises InvalidReference for something that is not a registry address."""
    value = text.strip()
    if not value:
        raise InvalidReference("Give a registry address, like localhost:5000 or ghcr.io")
    value = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", value).rstrip("/")
    if value.endswith("/v1") or value.endswith("/v2"):
        value = value[:-3]
    if "/" in value:
        raise InvalidReference(
            f"{text.strip()!r} is not a registry address: give host[:port], like localhost:5000"
        )
    if value in ("index.docker.io", "registry-1.docker.io", "docker.io"):
        return DEFAULT_REGISTRY
    _check_domain(value)
    return value


def validate_registry(text: str) -> str | None:
    try:
        normalize_registry(text)
    except InvalidReference as exc:
        return str(exc)
    return None


# -- progress events --------------------------------------------------------------------------
Phase = Literal[
    "waiting",
    "preparing",
    "pushing",
    "pushed",
    "exists",
    "mounted",
    "downloading",
    "verifying",
    "downloaded",
    "extracting",
    "complete",
    "other",
]

_PHASES: dict[str, Phase] = {
    "waiting": "waiting",
    "preparing": "preparing",
    "pulling fs layer": "waiting",
    "pushing": "pushing",
    "pushed": "pushed",
    "layer already exists": "exists",
    "already exists": "exists",
    "downloading": "downloading",
    "verifying checksum": "verifying",
    "download complete": "downloaded",
    "extracting": "extracting",
    "pull complete": "complete",
    "retrying": "waiting",
}
DONE_PHASES = frozenset({"pushed", "exists", "mounted", "complete"})
_LAYER_ID = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class LayerProgress:
    """One layer's state: `status` as the engine words it, `phase` normalised."""

    id: str
    status: str
    phase: Phase
    current: int | None = None
    total: int | None = None
    mounted_from: str | None = None

    @property
    def done(self) -> bool:
        return self.phase in DONE_PHASES

    @property
    def fraction(self) -> float | None:
        """0..1 when the engine gave a believable total (it sends tiny bogus totals for small
        layers: current 512 of total 3), else None."""
        if self.done:
            return 1.0
        if self.current is None or not self.total or self.current > self.total:
            return None
        return self.current / self.total


@dataclass(frozen=True, slots=True)
class StatusText:
    """A line about the whole transfer ("Pulling from team/app", "Digest: sha256:…")."""

    text: str


@dataclass(frozen=True, slots=True)
class TransferDone:
    reference: str
    digest: str | None
    image_id: str | None = None
    size: int | None = None  # the manifest's size (push)
    up_to_date: bool = False  # pull: the engine had it already
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class TransferFailed:
    reference: str
    sentence: str


@dataclass(frozen=True, slots=True)
class TransferCancelled:
    reference: str


ProgressEvent = LayerProgress | StatusText
TransferEvent = LayerProgress | StatusText | TransferDone | TransferFailed | TransferCancelled


@dataclass
class StreamState:
    """What a push or pull stream said so far: layers in order of appearance, the digest,
    the error (raw engine text)."""

    layers: dict[str, LayerProgress] = field(default_factory=dict)
    digest: str | None = None
    size: int | None = None
    status: str = ""
    error: str | None = None
    up_to_date: bool = False

    def feed(self, message: Mapping[str, Any]) -> ProgressEvent | None:
        """Read one decoded JSON message; returns the event it makes (None for an error
        or an empty message: see `error`)."""
        event = parse_event(message)
        error = stream_error(message)
        if error is not None:
            self.error = error
            return None
        aux = message.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            self.digest = clean_field(aux.get("Digest"))
            size = aux.get("Size")
            self.size = int(size) if isinstance(size, int) else self.size
        if isinstance(event, LayerProgress):
            self.layers[event.id] = event
        elif isinstance(event, StatusText):
            found = _DIGEST_IN_STATUS.search(event.text)
            if found:
                self.digest = found.group(1)
                size = re.search(r"size: (\d+)", event.text)
                if size:
                    self.size = int(size.group(1))
            if "image is up to date" in event.text.lower():
                self.up_to_date = True
            self.status = event.text
        return event


_DIGEST_IN_STATUS = re.compile(r"(?:^|\s)(?:digest: |Digest: )(sha256:[0-9a-f]{64})")


def stream_error(message: Mapping[str, Any]) -> str | None:
    """The engine's error text in a stream message (`errorDetail` / `error`), else None."""
    detail = message.get("errorDetail")
    if isinstance(detail, Mapping) and detail.get("message"):
        return str(detail["message"])
    if message.get("error"):
        return str(message["error"])
    return None


def parse_event(message: Mapping[str, Any]) -> ProgressEvent | None:
    """One message of the engine's push/pull JSON stream as an event; None for a message
    that carries nothing to show (aux, errors: see `stream_error`)."""
    if stream_error(message) is not None:
        return None
    status = clean_line(str(message.get("status") or "")).strip()
    if not status:
        return None
    layer_id = clean_field(message.get("id") or "")
    lowered = status.lower()
    if layer_id and _LAYER_ID.fullmatch(layer_id) and not lowered.startswith("pulling from"):
        detail = message.get("progressDetail")
        current = total = None
        if isinstance(detail, Mapping):
            if isinstance(detail.get("current"), int):
                current = int(detail["current"])
            if isinstance(detail.get("total"), int) and detail["total"] > 0:
                total = int(detail["total"])
        mounted = None
        phase: Phase
        if lowered.startswith("mounted from "):
            phase, mounted = "mounted", status[len("mounted from ") :]
        elif lowered.startswith("retrying"):
            phase = "waiting"
        else:
            phase = _PHASES.get(lowered, "other")
        return LayerProgress(layer_id, status, phase, current, total, mounted)
    if layer_id and lowered.startswith("pulling from"):
        return StatusText(f"{status} ({layer_id})")
    return StatusText(status)


# -- errors -----------------------------------------------------------------------------------
def insecure_hint(registry: str) -> str:
    return (
        f"To use it over plain HTTP, add it to the engine's insecure registries: put "
        f'{{"insecure-registries": ["{registry}"]}} in {DAEMON_JSON} and restart dockerd '
        "(loopback addresses, 127.0.0.0/8, are insecure already)."
    )


def explain_registry_error(
    text: str, registry: str, *, action: str = "push", reference: str | None = None
) -> str:
    """One sentence a user can act on for the engine's words about a registry failure.
    `action` is push, pull, login or list; `registry` is host[:port] (docker.io for Docker
    Hub); `reference` names the image in the sentence."""
    lowered = text.lower()
    first = clean_line(text.strip().splitlines()[0]) if text.strip() else "unknown error"
    if "no basic auth credentials" in lowered:
        return (
            f"The registry {registry} needs a login: no credentials are stored for it. "
            "Log in first (L in the images pane, or docker login)."
        )
    if (
        "unauthorized" in lowered
        or "authentication required" in lowered
        or "401" in lowered
        or "incorrect username or password" in lowered
    ):
        if action == "login":
            return f"Login to {registry} failed: unauthorized (wrong username or password)."
        return (
            f"The registry {registry} answered unauthorized: authentication required. Log in "
            "with an account that may "
            f"{'push to' if action == 'push' else 'pull from'} this repository (L)."
        )
    if "denied" in lowered:
        return (
            f"The registry {registry} denied access: requested access to the resource is "
            "denied (log in, or check the repository name and your permissions)."
        )
    if "does not exist locally" in lowered or "no such image" in lowered:
        return f"No local image has that tag: {first}. Tag the image first (t)."
    if (
        "manifest unknown" in lowered
        or "not found" in lowered
        or "name unknown" in lowered
        or "repository does not exist" in lowered
    ):
        what = f"{reference} is not in {registry}" if reference else f"nothing there in {registry}"
        return (
            f"Not found: {what} (manifest unknown: no such repository or tag; check the "
            "name and the tag)."
        )
    if "no such host" in lowered or "server misbehaving" in lowered:
        host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry
        return f"No such host: {host} cannot be resolved. Check the registry name."
    if "server gave http response to https client" in lowered:
        return (
            f"The registry {registry} speaks plain HTTP, but the engine expects HTTPS: it is "
            f"an insecure registry. {insecure_hint(registry)}"
        )
    if "x509" in lowered or "certificate" in lowered or "tls:" in lowered:
        reason = "its TLS certificate is not trusted"
        if "unknown authority" in lowered:
            reason = "its TLS certificate is signed by an unknown authority"
        elif "expired" in lowered:
            reason = "its TLS certificate has expired"
        elif "valid for" in lowered or "doesn't contain any ip sans" in lowered:
            reason = "its TLS certificate is not valid for this address"
        return (
            f"TLS error with the registry {registry}: {reason}. Put its CA certificate in "
            f"/etc/docker/certs.d/{registry}/ca.crt on the engine's host, or (for a test "
            f"registry) add it to insecure-registries in {DAEMON_JSON}."
        )
    if "connection refused" in lowered:
        return (
            f"Nothing answers at {registry}: connection refused. Is the registry running on "
            "that port?"
        )
    if "i/o timeout" in lowered or "timed out" in lowered or "timeout" in lowered:
        return f"The registry {registry} did not answer in time (network or firewall?)."
    if "toomanyrequests" in lowered or "rate limit" in lowered:
        return f"The registry {registry} refused: too many requests (rate limit). Try later."
    return f"{action.capitalize()} failed: {first}"


# -- credentials ------------------------------------------------------------------------------
def config_dir(environ: Mapping[str, str] | None = None) -> str:
    """$DOCKER_CONFIG, else ~/.docker (where the docker CLI keeps config.json)."""
    env = os.environ if environ is None else environ
    return env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def config_path(environ: Mapping[str, str] | None = None) -> str:
    return os.path.join(config_dir(environ), "config.json")


def credential_key(registry: str) -> str:
    """The docker config's key for `registry` (Docker Hub's is its v1 index URL)."""
    return INDEX_SERVER if registry in ("", DEFAULT_REGISTRY) else registry


def _read_config(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RegistryError(f"Cannot read the docker config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"The docker config {path} is not a JSON object")
    return data


def credentials_for(registry: str, *, path: str | None = None) -> dict[str, str] | None:
    """The stored credentials for `registry` (host[:port] or docker.io): from its credential
    helper when one is configured, else from the config's `auths`. None when there are none.
    The dict has username and password (or identitytoken) and serveraddress."""
    from docker import auth

    file = path or config_path()
    data = _read_config(file)
    if not data:
        return None
    try:
        found = auth.load_config(config_dict=data).resolve_authconfig(credential_key(registry))
    except Exception as exc:  # a credential helper that is missing or fails
        raise RegistryError(
            f"Cannot read the stored login for {registry}: {type(exc).__name__}"
        ) from None
    if not found:
        return None
    out = {k.lower(): str(v) for k, v in found.items() if v}
    out.setdefault("serveraddress", credential_key(registry))
    if not out.get("password") and not out.get("identitytoken"):
        return None
    return out


def store_credentials(
    registry: str,
    username: str,
    password: str,
    *,
    identity_token: str | None = None,
    path: str | None = None,
) -> str:
    """Store credentials the way `docker login` does. Returns where they went: the helper's
    name ("docker-credential-pass") or the config file's path."""
    file = path or config_path()
    data = _read_config(file)
    key = credential_key(registry)
    helper = (data.get("credHelpers") or {}).get(key) or data.get("credsStore")
    auths = data.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise RegistryError(f"The docker config {file} has an 'auths' that is not an object")
    if helper:
        from docker import credentials

        store = credentials.Store(str(helper))
        secret = identity_token or password
        user = "<token>" if identity_token else username
        try:
            store.store(server=key, username=user, secret=secret)
        except Exception as exc:
            raise RegistryError(
                f"The credential helper docker-credential-{helper} could not store the "
                f"login: {type(exc).__name__}"
            ) from None
        auths.pop(key, None)
        where = f"docker-credential-{helper}"
    else:
        entry: dict[str, str] = {}
        if identity_token:
            entry["auth"] = base64.b64encode(f"{username}:".encode()).decode()
            entry["identitytoken"] = identity_token
        else:
            entry["auth"] = base64.b64encode(f"{username}:{password}".encode()).decode()
        auths[key] = entry
        where = file
    _write_config(file, data)
    return where


def _write_config(path: str, data: Mapping[str, Any]) -> None:
    """Atomically, readable by the owner only (as the docker CLI does)."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent="\t")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class RegistryError(Exception):
    """One sentence about a registry operation that failed."""


@dataclass(frozen=True, slots=True)
class LoginResult:
    registry: str
    username: str
    stored_in: str  # the config file, or the credential helper's name

    @property
    def sentence(self) -> str:
        return f"Logged in to {self.registry} as {self.username} (stored in {self.stored_in})."


def login(
    engine: Engine,
    registry: str,
    username: str,
    password: str,
    *,
    path: str | None = None,
) -> LoginResult:
    """Check the credentials through the engine (it asks the registry) and store them.
    Raises RegistryError with a sentence that never contains the password."""
    try:
        host = normalize_registry(registry)
    except InvalidReference as exc:
        raise RegistryError(str(exc)) from None
    if not username.strip():
        raise RegistryError("Give a username.")
    if not password:
        raise RegistryError("Give a password (or an access token).")
    server = INDEX_SERVER if host == DEFAULT_REGISTRY else host
    try:
        answer = engine.api.login(
            username.strip(), password, registry=server, reauth=True, dockercfg_path=path
        )
    except Exception as exc:
        text = describe_error(exc).replace(password, "••••")
        raise RegistryError(explain_registry_error(text, host, action="login")) from None
    token = (answer or {}).get("IdentityToken") or None
    stored = store_credentials(host, username.strip(), password, identity_token=token, path=path)
    return LoginResult(host, username.strip(), stored)


# -- push and pull ----------------------------------------------------------------------------
def _auth_header(credentials: Mapping[str, str] | None) -> dict[str, str]:
    if not credentials:
        return {}
    from docker import auth

    return {"X-Registry-Auth": auth.encode_header(dict(credentials)).decode("ascii")}


class Transfer:
    """One push or pull, streamed. Iterate it (in a worker thread) for events:

        transfer = Transfer(engine, "push", "127.0.0.1:5000/app:1.0")
        for event in transfer:   # LayerProgress / StatusText ..., then one terminal event
            ...
        transfer.cancel()        # from any thread: closes the stream; TransferCancelled ends it

    Credentials come from the docker config (`credentials_for`) unless given.
    """

    def __init__(
        self,
        engine: Engine,
        kind: Literal["push", "pull"],
        reference: str | Reference,
        *,
        credentials: Mapping[str, str] | None = None,
        config: str | None = None,
    ) -> None:
        if kind not in ("push", "pull"):
            raise ValueError(f"kind must be push or pull, not {kind!r}")
        self.engine = engine
        self.kind = kind
        self.reference_text = str(reference)
        self._reference = reference if isinstance(reference, Reference) else None
        self._credentials = credentials
        self._config = config
        self.state = StreamState()
        self.outcome: TransferDone | TransferFailed | TransferCancelled | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._response: Any = None
        self._running = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def cancel(self) -> None:
        """Stop the transfer (idempotent, any thread): the stream is closed, the engine stops
        its side (a pull keeps the layers it finished)."""
        self._cancelled.set()
        with self._lock:
            response = self._response
        if response is not None:
            _shutdown(response)

    close = cancel

    def __iter__(self) -> Iterator[TransferEvent]:
        self._running.set()
        try:
            yield from self._run()
        finally:
            with self._lock:
                response, self._response = self._response, None
            if response is not None:
                with contextlib.suppress(Exception):
                    response.close()
            self._running.clear()

    def run(self) -> TransferDone | TransferFailed | TransferCancelled:
        """Consume the events; the outcome."""
        for _ in self:
            pass
        assert self.outcome is not None
        return self.outcome

    def _end(
        self, outcome: TransferDone | TransferFailed | TransferCancelled
    ) -> TransferDone | TransferFailed | TransferCancelled:
        self.outcome = outcome
        return outcome

    def _run(self) -> Iterator[TransferEvent]:
        import time

        started = time.monotonic()
        text = self.reference_text
        try:
            ref = self._reference or parse_reference(text, allow_digest=self.kind == "pull")
        except InvalidReference as exc:
            yield self._end(TransferFailed(text, str(exc)))
            return
        shown = str(ref)
        registry = ref.registry_host
        try:
            credentials = (
                self._credentials
                if self._credentials is not None
                else credentials_for(registry, path=self._config)
            )
        except Exception as exc:
            yield self._end(
                TransferFailed(shown, f"Cannot read the stored credentials: {describe_error(exc)}")
            )
            return
        if self._cancelled.is_set():
            yield self._end(TransferCancelled(shown))
            return
        api = self.engine.api
        try:
            if self.kind == "push":
                response = api._post_json(
                    api._url("/images/{0}/push", ref.repository),
                    None,
                    headers=_auth_header(credentials),
                    params={"tag": ref.tag or "latest"},
                    stream=True,
                    timeout=None,
                )
            else:
                params = {"fromImage": ref.repository}
                if ref.digest:
                    params["fromImage"] = f"{ref.repository}@{ref.digest}"
                else:
                    params["tag"] = ref.tag or "latest"
                response = api._post(
                    api._url("/images/create"),
                    params=params,
                    headers=_auth_header(credentials),
                    stream=True,
                    timeout=None,
                )
            with self._lock:
                self._response = response
            if self._cancelled.is_set():
                yield self._end(TransferCancelled(shown))
                return
            api._raise_for_status(response)
            for message in api._stream_helper(response, decode=True):
                if self._cancelled.is_set():
                    break
                if not isinstance(message, Mapping):
                    continue
                event = self.state.feed(message)
                if self.state.error is not None:
                    break
                if event is not None:
                    yield event
        except Exception as exc:
            if self._cancelled.is_set():
                yield self._end(TransferCancelled(shown))
                return
            sentence = explain_registry_error(
                describe_error(exc), registry, action=self.kind, reference=shown
            )
            yield self._end(TransferFailed(shown, sentence))
            return
        if self._cancelled.is_set():
            yield self._end(TransferCancelled(shown))
            return
        if self.state.error is not None:
            sentence = explain_registry_error(
                self.state.error, registry, action=self.kind, reference=shown
            )
            yield self._end(TransferFailed(shown, sentence))
            return
        image_id = None
        with contextlib.suppress(Exception):
            image_id = str(api.inspect_image(shown).get("Id") or "") or None
        digest = self.state.digest
        if self.kind == "push" and digest is None:
            yield self._end(
                TransferFailed(shown, "The push ended without a digest: the registry took nothing.")
            )
            return
        yield self._end(
            TransferDone(
                shown,
                digest,
                image_id,
                self.state.size,
                self.state.up_to_date,
                time.monotonic() - started,
            )
        )


def push(engine: Engine, reference: str, **kwargs: Any) -> Transfer:
    """A push of `reference` (name:tag): iterate it for events."""
    return Transfer(engine, "push", reference, **kwargs)


def pull(engine: Engine, reference: str, **kwargs: Any) -> Transfer:
    """A pull of `reference` (name[:tag][@digest]): iterate it for events."""
    return Transfer(engine, "pull", reference, **kwargs)


def _shutdown(response: Any) -> None:
    """Unblock a thread reading `response`: shut its socket down, then close it."""
    try:
        from docker.types import CancellableStream

        CancellableStream(iter(()), response).close()
    except Exception:
        with contextlib.suppress(Exception):
            response.close()


# -- what a registry holds (Registry HTTP API v2) ---------------------------------------------
def _registry_url(registry: str, path: str) -> str:
    """http for loopback registries (the engine treats them as insecure too), else https."""
    host = registry if registry.startswith("[") else registry.rsplit(":", 1)[0]
    host = host.strip("[]")
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    return f"{'http' if loopback else 'https'}://{registry}{path}"


def _registry_get(
    registry: str, path: str, credentials: Mapping[str, str] | None, timeout: float
) -> Any:
    import requests

    auth = None
    if credentials and credentials.get("username") and credentials.get("password"):
        auth = (credentials["username"], credentials["password"])
    url = _registry_url(registry, path)
    try:
        response = requests.get(url, auth=auth, timeout=timeout)
    except Exception as exc:
        raise RegistryError(
            explain_registry_error(describe_error(exc), registry, action="list")
        ) from None
    if response.status_code == 401:
        raise RegistryError(explain_registry_error("unauthorized", registry, action="list"))
    if response.status_code == 404:
        raise RegistryError(explain_registry_error("not found", registry, action="list"))
    if response.status_code >= 400:
        raise RegistryError(f"The registry {registry} answered {response.status_code}.")
    try:
        return response.json()
    except ValueError:
        raise RegistryError(f"The registry {registry} did not answer with JSON.") from None


def list_repositories(
    registry: str, *, limit: int = 1000, path: str | None = None, timeout: float = 10.0
) -> list[str]:
    """The repositories a registry holds (`/v2/_catalog`), with the stored credentials."""
    host = normalize_registry(registry)
    data = _registry_get(host, f"/v2/_catalog?n={limit}", credentials_for(host, path=path), timeout)
    return sorted(clean_field(r) for r in data.get("repositories") or ())


def list_tags(
    registry: str, repository: str, *, path: str | None = None, timeout: float = 10.0
) -> list[str]:
    """The tags of `repository` in `registry` (`/v2/<name>/tags/list`)."""
    host = normalize_registry(registry)
    data = _registry_get(
        host, f"/v2/{repository}/tags/list", credentials_for(host, path=path), timeout
    )
    return sorted(clean_field(t) for t in data.get("tags") or ())
