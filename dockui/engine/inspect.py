"""One container in detail: `docker inspect` as frozen data, env with secrets flagged, top.

`inspect_container()` makes one inspect request and returns `ContainerDetails`: the overview
fields, env (each variable flagged `secret` when its key looks like a credential), mounts,
networks, the health-check log and the whole inspect document with every string cleaned of
control sequences. `top()` lists the container's processes. Both block: call from a worker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dockui.engine.actions import OperationError, display_ref, explain_refusal
from dockui.engine.models import COMPOSE_PROJECT_LABEL, PortBinding, format_ports, parse_rfc3339
from dockui.engine.text import clean_field, clean_line

if TYPE_CHECKING:
    from dockui.engine.client import Engine

MASK = "••••••"

# -- secrets ------------------------------------------------------------------------------
# A key is split into words (on _ - . and camelCase); a variable is secret when one word is a
# credential word, or ends with one (DBPASSWORD, GITHUBTOKEN). Whole words only, so
# KEYBOARD_LAYOUT, TOKENIZERS_PARALLELISM, PASSENGER_APP_ENV and BYPASS_PROXY stay visible.
# PWD is the working directory, never a password. A KEY next to PUBLIC is not secret.
_SECRET_WORDS = frozenset(
    {
        "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE", "PW",
        "SECRET", "SECRETS", "TOKEN", "TOKENS", "KEY", "KEYS", "APIKEY", "ACCESSKEY",
        "PRIVATEKEY", "SECRETKEY", "CREDENTIAL", "CREDENTIALS", "CREDS", "PRIVATE",
        "SALT", "DSN", "JWT", "SESSIONKEY", "AUTHKEY", "CERTKEY",
    }
)  # fmt: skip
_SECRET_SUFFIXES = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "ACCESSKEY", "PRIVATEKEY")
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# A URL with a password in it (postgres://user:pass@host/db) is secret whatever its key.
_URL_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@", re.IGNORECASE)


def key_words(key: str) -> list[str]:
    return [w.upper() for w in _WORD_SPLIT.split(key) if w]


def is_secret_key(key: str) -> bool:
    """Whether an environment variable's name says its value is a credential."""
    words = key_words(key)
    hits = [w for w in words if w in _SECRET_WORDS or w.endswith(_SECRET_SUFFIXES)]
    if not hits:
        return False
    return not ("PUBLIC" in words and all(w in ("KEY", "KEYS") for w in hits))


def is_secret(key: str, value: str) -> bool:
    """Secret key, or a value that carries a password inside a URL."""
    return is_secret_key(key) or bool(_URL_CREDENTIALS.match(value))


def mask(value: str) -> str:
    """What a secret value shows until revealed; the same length whatever the value."""
    return MASK if value else ""


# -- data -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EnvVar:
    key: str
    value: str
    secret: bool = False

    def shown(self, reveal: bool = False) -> str:
        return self.value if reveal or not self.secret else mask(self.value)


@dataclass(frozen=True, slots=True)
class MountInfo:
    type: str  # bind | volume | tmpfs | npipe
    source: str
    destination: str
    mode: str = ""
    rw: bool = True
    name: str = ""  # volume name
    driver: str = ""
    propagation: str = ""


@dataclass(frozen=True, slots=True)
class NetworkAttachment:
    name: str
    network_id: str = ""
    ip_address: str = ""
    prefix_len: int = 0
    gateway: str = ""
    ipv6_address: str = ""
    mac_address: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HealthCheckRun:
    start: float | None
    end: float | None
    exit_code: int
    output: str  # lines cleaned, newlines kept

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True, slots=True)
class HealthInfo:
    status: str  # starting | healthy | unhealthy | none
    failing_streak: int
    log: tuple[HealthCheckRun, ...]  # oldest first (the engine keeps the last 5)
    test: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerDetails:
    id: str
    name: str
    image: str  # what the container was created from (Config.Image)
    image_id: str
    created: float | None
    state: str
    running: bool
    paused: bool
    restarting: bool
    oom_killed: bool
    pid: int
    exit_code: int
    error: str
    started_at: float | None
    finished_at: float | None
    restart_count: int
    restart_policy: str
    command: tuple[str, ...]  # Path + Args as the engine runs it
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    working_dir: str
    user: str
    hostname: str
    platform: str
    tty: bool
    ports: tuple[PortBinding, ...]
    labels: tuple[tuple[str, str], ...]
    env: tuple[EnvVar, ...]
    mounts: tuple[MountInfo, ...]
    networks: tuple[NetworkAttachment, ...]
    health: HealthInfo | None
    raw: dict[str, Any] = field(repr=False, compare=False)  # the inspect document, cleaned

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def compose_project(self) -> str | None:
        return dict(self.labels).get(COMPOSE_PROJECT_LABEL)

    @property
    def secrets(self) -> tuple[EnvVar, ...]:
        return tuple(e for e in self.env if e.secret)

    def json_text(self, reveal: bool = False, indent: int = 2) -> str:
        """The inspect document as JSON; secret env values masked unless `reveal`."""
        doc = self.raw
        if not reveal and self.secrets:
            doc = json.loads(json.dumps(self.raw))
            config = doc.get("Config") or {}
            if isinstance(config.get("Env"), list):
                config["Env"] = [
                    f"{e.key}={e.shown()}" if "=" in item else item
                    for e, item in zip(self.env, config["Env"], strict=False)
                ]
        return json.dumps(doc, indent=indent, ensure_ascii=False)

    def overview(self) -> list[tuple[str, str]]:
        """(label, value) rows for an overview tab."""
        state = self.state
        if self.health is not None:
            state += f" ({self.health.status})"
        if self.state in ("exited", "dead"):
            state += f", exit code {self.exit_code}"
            if self.oom_killed:
                state += ", killed: out of memory"
        rows = [
            ("Name", self.name),
            ("ID", self.short_id),
            ("Image", self.image),
            ("Image ID", self.image_id.removeprefix("sha256:")[:12]),
            ("State", state),
            ("Created", _when(self.created)),
            ("Started", _when(self.started_at)),
        ]
        if not self.running and self.finished_at:
            rows.append(("Finished", _when(self.finished_at)))
        if self.error:
            rows.append(("Error", self.error))
        rows += [
            ("Command", " ".join(self.command)),
            ("Entrypoint", " ".join(self.entrypoint) or "-"),
            ("Working dir", self.working_dir or "/"),
            ("User", self.user or "root (default)"),
            ("Hostname", self.hostname),
            ("Ports", format_ports(self.ports) or "-"),
            ("Restart policy", self.restart_policy or "no"),
            ("Restarts", str(self.restart_count)),
            ("Networks", ", ".join(n.name for n in self.networks) or "-"),
            ("Mounts", str(len(self.mounts))),
        ]
        if self.compose_project:
            rows.append(("Compose project", self.compose_project))
        if self.pid:
            rows.append(("PID", str(self.pid)))
        return rows


@dataclass(frozen=True, slots=True)
class ProcessList:
    titles: tuple[str, ...]
    processes: tuple[tuple[str, ...], ...]

    def column(self, title: str) -> list[str]:
        index = self.titles.index(title)
        return [p[index] if index < len(p) else "" for p in self.processes]


# -- parsing --------------------------------------------------------------------------------
def clean_text(text: str) -> str:
    """Multi-line untrusted text: each line cleaned, the newlines kept."""
    return "\n".join(clean_line(line) for line in text.split("\n"))


def clean_document(value: Any) -> Any:
    """Every string (keys too) of a JSON document cleaned of escape sequences and controls."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_field(str(k)): clean_document(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_document(v) for v in value]
    return value


def _time(text: Any) -> float | None:
    if not text or str(text).startswith("0001-"):
        return None
    try:
        return parse_rfc3339(str(text))
    except ValueError:
        return None


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _strings(items: Iterable[Any] | None) -> tuple[str, ...]:
    if isinstance(items, str):
        return (clean_field(items),)
    return tuple(clean_field(str(i)) for i in items or ())


def parse_env(items: Iterable[str] | None) -> tuple[EnvVar, ...]:
    out = []
    for item in items or ():
        key, _, value = str(item).partition("=")
        key, value = clean_field(key), clean_field(value)
        out.append(EnvVar(key, value, is_secret(key, value)))
    return tuple(out)


def _ports(raw: dict[str, Any] | None) -> tuple[PortBinding, ...]:
    out: list[PortBinding] = []
    for spec, bindings in (raw or {}).items():
        port, _, proto = spec.partition("/")
        if not port.isdigit():
            continue
        if not bindings:
            out.append(PortBinding(int(port), proto or "tcp"))
            continue
        for b in bindings:
            host_port = str(b.get("HostPort") or "")
            out.append(
                PortBinding(
                    int(port),
                    proto or "tcp",
                    int(host_port) if host_port.isdigit() else None,
                    b.get("HostIp") or None,
                )
            )
    return tuple(out)


def _health(state: dict[str, Any], config: dict[str, Any]) -> HealthInfo | None:
    health = state.get("Health")
    if not health:
        return None
    runs = tuple(
        HealthCheckRun(
            start=_time(r.get("Start")),
            end=_time(r.get("End")),
            exit_code=int(r.get("ExitCode") or 0),
            output=clean_text(str(r.get("Output") or "")).rstrip("\n"),
        )
        for r in health.get("Log") or ()
    )
    return HealthInfo(
        status=clean_field(health.get("Status")) or "none",
        failing_streak=int(health.get("FailingStreak") or 0),
        log=runs,
        test=_strings((config.get("Healthcheck") or {}).get("Test")),
    )


def details_from_inspect(raw: dict[str, Any]) -> ContainerDetails:
    """ContainerDetails from an inspect document (no engine needed; used by tests)."""
    state = raw.get("State") or {}
    config = raw.get("Config") or {}
    host = raw.get("HostConfig") or {}
    net = raw.get("NetworkSettings") or {}
    policy = host.get("RestartPolicy") or {}
    policy_text = clean_field(policy.get("Name"))
    if policy_text == "on-failure" and policy.get("MaximumRetryCount"):
        policy_text += f":{policy['MaximumRetryCount']}"
    mounts = tuple(
        MountInfo(
            type=clean_field(m.get("Type")),
            source=clean_field(m.get("Source")),
            destination=clean_field(m.get("Destination")),
            mode=clean_field(m.get("Mode")),
            rw=bool(m.get("RW", True)),
            name=clean_field(m.get("Name")),
            driver=clean_field(m.get("Driver")),
            propagation=clean_field(m.get("Propagation")),
        )
        for m in raw.get("Mounts") or ()
    )
    networks = tuple(
        NetworkAttachment(
            name=clean_field(name),
            network_id=str(n.get("NetworkID") or ""),
            ip_address=clean_field(n.get("IPAddress")),
            prefix_len=int(n.get("IPPrefixLen") or 0),
            gateway=clean_field(n.get("Gateway")),
            ipv6_address=clean_field(n.get("GlobalIPv6Address")),
            mac_address=clean_field(n.get("MacAddress")),
            aliases=_strings(n.get("Aliases")),
        )
        for name, n in sorted((net.get("Networks") or {}).items())
    )
    labels = config.get("Labels") or {}
    path = raw.get("Path")
    return ContainerDetails(
        id=str(raw.get("Id") or ""),
        name=clean_field(str(raw.get("Name") or "").lstrip("/")),
        image=clean_field(config.get("Image")),
        image_id=str(raw.get("Image") or ""),
        created=_time(raw.get("Created")),
        state=clean_field(state.get("Status")) or "unknown",
        running=bool(state.get("Running")),
        paused=bool(state.get("Paused")),
        restarting=bool(state.get("Restarting")),
        oom_killed=bool(state.get("OOMKilled")),
        pid=int(state.get("Pid") or 0),
        exit_code=int(state.get("ExitCode") or 0),
        error=clean_field(state.get("Error")),
        started_at=_time(state.get("StartedAt")),
        finished_at=_time(state.get("FinishedAt")),
        restart_count=int(raw.get("RestartCount") or 0),
        restart_policy=policy_text,
        command=(_strings([path]) if path else ()) + _strings(raw.get("Args")),
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
        working_dir=clean_field(config.get("WorkingDir")),
        user=clean_field(config.get("User")),
        hostname=clean_field(config.get("Hostname")),
        platform=clean_field(raw.get("Platform")),
        tty=bool(config.get("Tty")),
        ports=_ports(net.get("Ports")),
        labels=tuple(sorted((clean_field(k), clean_field(v)) for k, v in labels.items())),
        env=parse_env(config.get("Env")),
        mounts=mounts,
        networks=networks,
        health=_health(state, config),
        raw=clean_document(raw),
    )


# -- engine calls ---------------------------------------------------------------------------
def inspect_container(
    engine: Engine, container: str, *, name: str | None = None
) -> ContainerDetails:
    """One inspect request. Raises OperationError("NAME no longer exists") and the like;
    `name` is what those sentences call the container (default: what was asked)."""
    try:
        raw = engine.api.inspect_container(container)
    except Exception as exc:
        raise OperationError(explain_refusal(exc, name or display_ref(container))) from exc
    return details_from_inspect(raw)


def top(
    engine: Engine, container: str, ps_args: str | None = None, *, name: str | None = None
) -> ProcessList:
    """The container's processes (`docker top`). Raises OperationError when it is not running
    ("web-1 is not running") or gone."""
    try:
        raw = engine.api.top(container, ps_args=ps_args)
    except Exception as exc:
        raise OperationError(explain_refusal(exc, name or display_ref(container))) from exc
    return ProcessList(
        titles=_strings(raw.get("Titles")),
        processes=tuple(_strings(p) for p in raw.get("Processes") or ()),
    )
