"""Plain, frozen data the engine layer hands to the rest of the app.

Every constructor here takes the engine's raw JSON (from sparse list calls, never one
inspect per object) and cleans untrusted strings on the way in, so nothing above this
layer ever sees a control character from a container or an image.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from dockui.engine.text import clean_field

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"


@dataclass(frozen=True, slots=True)
class PortBinding:
    """One published (or only exposed) container port."""

    private_port: int
    protocol: str = "tcp"
    public_port: int | None = None
    host_ip: str | None = None

    @property
    def published(self) -> bool:
        return self.public_port is not None

    def label(self) -> str:
        """`4000→80/tcp` for a published port, `80/tcp` for one only exposed."""
        target = f"{self.private_port}/{self.protocol}"
        if self.public_port is None:
            return target
        ip = self.host_ip or ""
        prefix = "" if ip in ("", "0.0.0.0", "::") else f"{ip}:"
        return f"{prefix}{self.public_port}→{target}"

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> PortBinding:
        public = raw.get("PublicPort")
        return cls(
            private_port=int(raw.get("PrivatePort") or 0),
            protocol=str(raw.get("Type") or "tcp"),
            public_port=int(public) if public else None,
            host_ip=raw.get("IP") or None,
        )


def format_ports(ports: tuple[PortBinding, ...]) -> str:
    """Published ports first, IPv4/IPv6 twins shown once, stable order."""
    seen: dict[str, None] = {}
    for port in sorted(ports, key=lambda p: (not p.published, p.public_port or 0, p.private_port)):
        seen.setdefault(port.label(), None)
    return ", ".join(seen)


# Go's units.HumanDuration, which dockerd uses for "Up 5 minutes" / "Exited (0) 2 hours ago".
_DURATION = re.compile(
    r"(?P<less>Less than a second)|About an? (?P<about>minute|hour)"
    r"|(?P<n>\d+) (?P<unit>second|minute|hour|day|week|month|year)s?",
)
_UNIT_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}


def parse_human_duration(text: str) -> float | None:
    """Seconds in a dockerd status duration ("About an hour" → 3600), None if absent."""
    match = _DURATION.search(text)
    if not match:
        return None
    if match.group("less"):
        return 0.0
    if match.group("about"):
        return float(_UNIT_SECONDS[match.group("about")])
    return float(int(match.group("n")) * _UNIT_SECONDS[match.group("unit")])


_EXIT_CODE = re.compile(r"\((-?\d+)\)")


def parse_health(status: str) -> str | None:
    """`healthy`, `unhealthy`, `starting`, or None when the container has no health check."""
    if "(healthy)" in status:
        return "healthy"
    if "(unhealthy)" in status:
        return "unhealthy"
    if "(health: starting)" in status:
        return "starting"
    return None


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    id: str
    name: str
    image: str
    image_id: str
    command: str
    created: float
    state: str  # created | running | paused | restarting | removing | exited | dead
    status: str  # the engine's own words: "Up 5 minutes (healthy)"
    health: str | None = None
    exit_code: int | None = None
    ports: tuple[PortBinding, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    # When the current state began (start for running, finish for exited). From the
    # status text, it is exact to the unit dockerd rounded to; from an event it is exact.
    state_since: float | None = None

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "restarting")

    @property
    def compose_project(self) -> str | None:
        return self.label(COMPOSE_PROJECT_LABEL)

    def label(self, key: str) -> str | None:
        for k, v in self.labels:
            if k == key:
                return v
        return None

    @property
    def ports_text(self) -> str:
        return format_ports(self.ports)

    @classmethod
    def from_api(cls, raw: dict[str, Any], now: float | None = None) -> ContainerSummary:
        now = time.time() if now is None else now
        names = raw.get("Names") or []
        name = names[0].lstrip("/") if names else str(raw.get("Id", ""))[:12]
        status = clean_field(raw.get("Status"))
        state = clean_field(raw.get("State")) or _state_from_status(status)
        since: float | None = None
        if state in ("running", "paused") or status.startswith(("Exited", "Restarting")):
            seconds = parse_human_duration(status)
            if seconds is not None:
                since = now - seconds
        exit_code = None
        if status.startswith(("Exited", "Restarting")):
            match = _EXIT_CODE.search(status)
            if match:
                exit_code = int(match.group(1))
        labels = raw.get("Labels") or {}
        return cls(
            id=str(raw["Id"]),
            name=clean_field(name),
            image=clean_field(raw.get("Image")),
            image_id=str(raw.get("ImageID") or ""),
            command=clean_field(raw.get("Command")),
            created=float(raw.get("Created") or 0),
            state=state,
            status=status,
            health=parse_health(status),
            exit_code=exit_code,
            ports=tuple(PortBinding.from_api(p) for p in raw.get("Ports") or ()),
            labels=tuple(sorted((clean_field(k), clean_field(v)) for k, v in labels.items())),
            state_since=since,
        )


def _state_from_status(status: str) -> str:
    """Older engines leave State out of the list; derive it from Status."""
    lowered = status.lower()
    for prefix, state in (
        ("up", "running"),
        ("exited", "exited"),
        ("created", "created"),
        ("restarting", "restarting"),
        ("removal", "removing"),
        ("dead", "dead"),
    ):
        if lowered.startswith(prefix):
            return "paused" if state == "running" and "(paused)" in lowered else state
    return "unknown"


@dataclass(frozen=True, slots=True)
class ImageSummary:
    id: str
    tags: tuple[str, ...]
    created: float
    size: int
    digests: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def dangling(self) -> bool:
        return not self.tags

    @property
    def display_name(self) -> str:
        """The first tag (or `<none>:<none>` for a dangling image)."""
        return self.tags[0] if self.tags else "<none>:<none>"

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> ImageSummary:
        tags = tuple(
            clean_field(t) for t in (raw.get("RepoTags") or ()) if t and t != "<none>:<none>"
        )
        digests = tuple(
            clean_field(d) for d in (raw.get("RepoDigests") or ()) if d and d != "<none>@<none>"
        )
        created = raw.get("Created") or 0
        if isinstance(created, str):  # image inspect gives an RFC 3339 string
            created = parse_rfc3339(created)
        labels = raw.get("Labels") or (raw.get("Config") or {}).get("Labels") or {}
        return cls(
            id=str(raw["Id"]),
            tags=tuple(sorted(tags)),
            created=float(created),
            size=int(raw.get("Size") or 0),
            digests=digests,
            labels=tuple(sorted((clean_field(k), clean_field(v)) for k, v in labels.items())),
        )


def parse_rfc3339(text: str) -> float:
    from datetime import datetime

    # Python < 3.11 cannot read nanoseconds or a trailing Z.
    text = text.replace("Z", "+00:00")
    match = re.match(r"(.*?)(\.\d+)?([+-]\d\d:\d\d)?$", text)
    if not match:
        return 0.0
    base, frac, tz = match.groups()
    stamp = datetime.fromisoformat(base + (tz or "+00:00")).timestamp()
    return stamp + (float(frac) if frac else 0.0)


_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^(?:/bin/(?:ba)?sh|sh) -c\s+")
_BUILD_ARGS = re.compile(r"^\|\d+(?: \S+?=\S*)* ")  # legacy builder's "|2 A=1 B=2 " prefix
_EXPOSE_MAP = re.compile(r"^EXPOSE map\[(.*)\]$")
_INSTRUCTIONS = (
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
)  # fmt: skip


def clean_instruction(created_by: str) -> str:
    """The Dockerfile instruction behind a history entry, without builder noise.

    Handles the legacy builder (`/bin/sh -c #(nop)  CMD ...`, `/bin/sh -c apt-get ...`,
    `|1 X=y /bin/sh -c ...` with build args, exec-form RUN recorded bare) and BuildKit
    (`RUN /bin/sh -c ... # buildkit`, `COPY . . # buildkit`).
    """
    text = clean_field(created_by).strip()
    if not text:
        return ""
    text = text.removesuffix("# buildkit").rstrip()
    nop = _NOP.match(text)
    if nop:
        text = text[nop.end() :].strip()
    else:
        keyword = text.split(" ", 1)[0]
        if keyword != "RUN" and keyword in _INSTRUCTIONS:
            pass  # BuildKit records the instruction itself
        else:
            body = text.removeprefix("RUN ").strip()
            body = _BUILD_ARGS.sub("", body)
            body = _SHELL.sub("", body)
            text = f"RUN {body}"
    expose = _EXPOSE_MAP.match(text)
    if expose:
        text = "EXPOSE " + " ".join(p.removesuffix(":{}") for p in expose.group(1).split())
    return re.sub(r"\s+", " ", text)


@dataclass(frozen=True, slots=True)
class Layer:
    """One entry of an image's history: a Dockerfile instruction and what it added."""

    index: int  # 0 = the oldest (base) layer
    id: str  # "<missing>" for layers built elsewhere
    created: float
    created_by: str  # raw, cleaned of control characters
    instruction: str  # readable Dockerfile instruction
    size: int  # the engine's diff size in bytes (what `docker history` shows)
    cumulative: int  # image size up to and including this layer
    tags: tuple[str, ...] = ()
    comment: str = ""

    @property
    def empty(self) -> bool:
        """Metadata-only step (ENV, CMD, EXPOSE, ...): no filesystem change."""
        return self.size == 0


def layers_from_history(history: list[dict[str, Any]]) -> list[Layer]:
    """Engine history is newest first; return oldest first with cumulative sizes."""
    layers: list[Layer] = []
    total = 0
    for index, raw in enumerate(reversed(history)):
        size = int(raw.get("Size") or 0)
        total += size
        created_by = clean_field(raw.get("CreatedBy"))
        layers.append(
            Layer(
                index=index,
                id=str(raw.get("Id") or "<missing>"),
                created=float(raw.get("Created") or 0),
                created_by=created_by,
                instruction=clean_instruction(created_by),
                size=size,
                cumulative=total,
                tags=tuple(clean_field(t) for t in raw.get("Tags") or ()),
                comment=clean_field(raw.get("Comment")),
            )
        )
    return layers


STDOUT, STDERR = 1, 2


@dataclass(frozen=True, slots=True)
class LogLine:
    """One clean line of container output."""

    text: str  # cleaned: no control sequences but SGR colours
    stream: int = STDOUT  # 1 stdout, 2 stderr
    cut: int = 0  # characters dropped from an over-long line
    ts: float | None = None  # when the engine received it (epoch seconds)
    ts_text: str = ""  # the engine's RFC 3339 timestamp, exact to the nanosecond
    overwrite: bool = False  # came after a bare \r: replaces the line before (progress bars)

    @property
    def stderr(self) -> bool:
        return self.stream == STDERR


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """Who we are talking to."""

    host: str  # what the user asked for: unix:///var/run/docker.sock, tcp://..., ssh://...
    server_version: str
    api_version: str
    os: str = ""
    arch: str = ""
    kernel: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return f"Docker {self.server_version} (API {self.api_version})"


def api_path(template: str, *args: str) -> str:
    """`/containers/{}/stats` with each argument quoted as one path segment."""
    return template.format(*(quote(a, safe="") for a in args))
