"""Build an image from a context directory and turn the engine's output into step events.

Two paths produce the same events:

- the engine API (docker-py's low-level build stream, the legacy builder's JSON lines),
  which always works: `Build(engine, request, on_event).start()`;
- the docker CLI with BuildKit (`docker buildx build --progress=plain`, or
  `DOCKER_BUILDKIT=1 docker build --progress=plain` on a classic CLI), best-effort, when
  `use_cli=True` and `find_buildkit_cli()` finds a CLI that can do it.

The parsers (`LegacyStreamParser`, `BuildKitLineParser`) are pure: they take the
engine's dicts / the CLI's lines and return events, so they are tested without an engine.
Every string from the engine is cleaned before it lands in an event.

Threading: `Build.start()` runs everything in a daemon thread and calls `on_event` from
that thread, one event at a time, in order; exactly one terminal event ends the sequence
(`BuildSucceeded`, `BuildFailed` or `BuildCancelled`). `close()` (from any thread) cancels.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import signal
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from dockui.engine.errors import describe_error
from dockui.engine.text import clean_field, clean_line

if TYPE_CHECKING:
    from dockui.engine.client import Engine

__all__ = [
    "Build",
    "BuildCancelled",
    "BuildEvent",
    "BuildFailed",
    "BuildKitLineParser",
    "BuildNote",
    "BuildRequest",
    "BuildSucceeded",
    "ContextInfo",
    "LegacyStreamParser",
    "SendingContext",
    "StepCached",
    "StepFinished",
    "StepOutput",
    "StepStarted",
    "context_size",
    "find_buildkit_cli",
    "stage_names",
    "validate",
    "validate_tag",
    "warn_large",
]

OUTPUT_TAIL = 30  # lines of output kept for a failure report
LARGE_CONTEXT_BYTES = 100 * 1000 * 1000
LARGE_CONTEXT_FILES = 10_000


# --------------------------------------------------------------------------- request


@dataclass(frozen=True)
class BuildRequest:
    """What the build dialog collects. Relative `dockerfile` paths are relative to the
    context (docker-py's rule); None means `<context>/Dockerfile`."""

    context_dir: str
    dockerfile: str | None = None
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict, hash=False)
    target: str | None = None
    no_cache: bool = False
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML-friendly values (to remember recent builds)."""
        return {
            "context_dir": self.context_dir,
            "dockerfile": self.dockerfile,
            "tags": list(self.tags),
            "build_args": dict(self.build_args),
            "target": self.target,
            "no_cache": self.no_cache,
            "labels": dict(self.labels),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildRequest:
        return cls(
            context_dir=str(data["context_dir"]),
            dockerfile=data.get("dockerfile") or None,
            tags=tuple(str(t) for t in data.get("tags") or ()),
            build_args={str(k): str(v) for k, v in (data.get("build_args") or {}).items()},
            target=data.get("target") or None,
            no_cache=bool(data.get("no_cache")),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
        )

    @property
    def context_path(self) -> str:
        return os.path.abspath(os.path.expanduser(self.context_dir))

    @property
    def dockerfile_path(self) -> str:
        """Absolute path of the Dockerfile."""
        if not self.dockerfile:
            return os.path.join(self.context_path, "Dockerfile")
        path = os.path.expanduser(self.dockerfile)
        return os.path.abspath(os.path.join(self.context_path, path))

    @property
    def dockerfile_inside(self) -> bool:
        rel = os.path.relpath(self.dockerfile_path, self.context_path)
        return not (rel == ".." or rel.startswith(".." + os.sep))


# Docker's reference grammar (distribution/reference), split into checkable parts.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")
_ARG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def split_reference(ref: str) -> tuple[str, str | None]:
    """`registry:5000/app:1.2` → (`registry:5000/app`, `1.2`); no tag → (name, None)."""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
        return name, tag
    return ref, None


def validate_tag(ref: str) -> str | None:
    """None when `ref` is a valid image reference to tag a build with, else a sentence."""
    if not ref or not ref.strip():
        return "A tag is empty."
    if ref != ref.strip() or any(c.isspace() for c in ref):
        return f"Tag {ref!r} contains spaces."
    if "@" in ref:
        return f"Tag {ref!r} has a digest (@…); a build can only be tagged NAME[:TAG]."
    name, tag = split_reference(ref)
    if tag is not None and not _TAG.match(tag):
        return (
            f"Tag {ref!r}: the tag after ':' must be 1-128 letters, digits, '_', '.' or '-' "
            "and may not start with '.' or '-'."
        )
    if not name:
        return f"Tag {ref!r} has no repository name."
    if len(name) > 255:
        return f"Tag {ref!r}: the repository name is longer than 255 characters."
    if _HEX64.match(name):
        return f"Tag {ref!r} looks like an image id (64 hex digits); choose a name."
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    ):
        if not _DOMAIN.match(first):
            return f"Tag {ref!r}: {first!r} is not a valid registry host[:port]."
        parts = parts[1:]
    for part in parts:
        if _PATH_COMPONENT.match(part):
            continue
        if _PATH_COMPONENT.match(part.lower()):
            return f"Tag {ref!r}: repository names must be lowercase ({part!r})."
        if not part:
            return f"Tag {ref!r} has an empty path component (a doubled or trailing '/')."
        return (
            f"Tag {ref!r}: {part!r} is not a valid name component (lowercase letters and "
            "digits, separated by '.', '_', '__' or '-')."
        )
    return None


def validate(req: BuildRequest) -> list[str]:
    """Everything wrong with `req`, as sentences a user can act on (empty: good to go)."""
    problems: list[str] = []
    context = req.context_path
    dockerfile = req.dockerfile_path
    if not os.path.exists(context):
        problems.append(f"The context directory {context} does not exist.")
    elif not os.path.isdir(context):
        problems.append(f"The context {context} is not a directory.")
    text: str | None = None
    if not os.path.exists(dockerfile):
        problems.append(f"No Dockerfile at {dockerfile}.")
    elif os.path.isdir(dockerfile):
        problems.append(f"{dockerfile} is a directory, not a Dockerfile.")
    else:
        try:
            with open(dockerfile, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as exc:
            problems.append(f"Cannot read the Dockerfile: {describe_error(exc)}.")
    for tag in req.tags:
        problem = validate_tag(tag)
        if problem:
            problems.append(problem)
    for key in req.build_args:
        if not _ARG_KEY.match(key):
            problems.append(
                f"Build arg {key!r} is not a valid name (letters, digits and '_', "
                "not starting with a digit)."
            )
    if req.target and text is not None:
        names = stage_names(text)
        if req.target.lower() not in names:
            if names:
                problems.append(
                    f"Target stage {req.target!r} is not in the Dockerfile; its stages are: "
                    f"{', '.join(names)}."
                )
            else:
                problems.append(
                    f"Target stage {req.target!r} is not in the Dockerfile, which names no "
                    "stages (name one with FROM image AS name)."
                )
    return problems


# --------------------------------------------------------------------------- stages


def stage_names(text: str) -> list[str]:
    """Names of the Dockerfile's stages (`FROM image AS name`), in order, lowercased."""
    try:
        from dockui.engine.dockerfile import parse  # type: ignore[import-not-found]
    except ImportError:
        return _stage_names(text)
    try:
        return [n.lower() for n in parse(text).stage_names() if n]
    except Exception:  # the full parser is stricter; the stage list must not fail
        return _stage_names(text)


_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


def _logical_lines(text: str) -> Iterator[str]:
    """Instruction lines with continuations joined and comments dropped."""
    escape = "\\"
    lines = text.splitlines()
    body_start = 0
    for i, line in enumerate(lines):  # parser directives come first, before anything else
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
        body_start = i + 1
    pending = ""
    for line in lines[body_start:]:
        stripped = line.strip()
        if pending and (not stripped or stripped.startswith("#")):
            continue  # comments and blank lines inside a continuation are skipped
        if not pending and stripped.startswith("#"):
            continue
        if stripped.endswith(escape):
            pending += stripped[: -len(escape)] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            yield full
    if pending.strip():
        yield pending.strip()


def _stages(text: str) -> list[tuple[str, str | None]]:
    """(base image, stage name or None) per FROM."""
    stages: list[tuple[str, str | None]] = []
    for line in _logical_lines(text):
        words = line.split()
        if not words or words[0].upper() != "FROM":
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if not args:
            continue
        name = args[2].lower() if len(args) >= 3 and args[1].lower() == "as" else None
        stages.append((args[0], name))
    return stages


def _stage_names(text: str) -> list[str]:
    return [name for _, name in _stages(text) if name]


# --------------------------------------------------------------------------- context


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """What `docker build` would send: after .dockerignore, with the Dockerfile."""

    files: int
    bytes: int
    largest: tuple[tuple[str, int], ...] = ()  # top-level entries, directories summed
    largest_files: tuple[tuple[str, int], ...] = ()
    dirs: int = 0
    ignore_file: str | None = None  # the .dockerignore used, if any


@dataclass(frozen=True)
class _ContextPlan:
    root: str
    paths: list[str]  # relative, sorted: files and directories, as docker-py's tar() takes
    dockerfile_name: str  # the Dockerfile's name inside the context tar
    extra_files: list[tuple[str, str]]  # (name, contents) added to the tar
    ignore_file: str | None


def _ignore_patterns(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f.read().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _plan(context_dir: str, dockerfile: str | None, *, buildkit: bool = False) -> _ContextPlan:
    """The file list docker-py's `tar()` would send, by the same pattern matcher."""
    from docker.utils.build import exclude_paths

    root = os.path.abspath(context_dir)
    df_abs = (
        os.path.abspath(os.path.join(root, dockerfile))
        if dockerfile
        else os.path.join(root, "Dockerfile")
    )
    ignore_file = None
    # BuildKit prefers `<Dockerfile>.dockerignore` next to the Dockerfile.
    specific = df_abs + ".dockerignore"
    if buildkit and os.path.isfile(specific):
        ignore_file = specific
    elif os.path.isfile(os.path.join(root, ".dockerignore")):
        ignore_file = os.path.join(root, ".dockerignore")
    patterns = _ignore_patterns(ignore_file) if ignore_file else []
    rel = os.path.relpath(df_abs, root)
    extra: list[tuple[str, str]] = []
    if rel == ".." or rel.startswith(".." + os.sep):
        # Outside the context: send it inside under a random name (what docker-py and the
        # docker CLI do), and list that name in a .dockerignore so COPY . never sees it.
        name = f".dockerfile.{random.getrandbits(160):x}"
        with open(df_abs, encoding="utf-8", errors="replace") as f:
            contents = f.read()
        extra = [
            (".dockerignore", "\n".join([*(patterns or [".dockerignore"]), name])),
            (name, contents),
        ]
    else:
        name = rel.replace(os.sep, "/")
    paths = sorted(exclude_paths(root, list(patterns), dockerfile=name))
    return _ContextPlan(root, paths, name, extra, ignore_file)


def context_size(
    context_dir: str, dockerfile: str | None = None, *, buildkit: bool = False, top: int = 5
) -> ContextInfo:
    """Count what a build of `context_dir` sends, honouring .dockerignore exactly as
    docker-py does (its own pattern matcher, a port of moby's)."""
    plan = _plan(context_dir, dockerfile, buildkit=buildkit)
    files = dirs = total = 0
    per_top: dict[str, int] = {}
    sizes: list[tuple[int, str]] = []
    names = {name for name, _ in plan.extra_files}
    for rel in plan.paths:
        if rel in names:
            continue
        try:
            st = os.lstat(os.path.join(plan.root, rel))
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            dirs += 1
            continue
        files += 1
        size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        total += size
        head, sep, _ = rel.partition("/")
        key = head + "/" if sep else head
        per_top[key] = per_top.get(key, 0) + size
        sizes.append((size, rel))
    for _name, contents in plan.extra_files:
        files += 1
        total += len(contents.encode())
    largest = sorted(per_top.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    largest_files = [(p, s) for s, p in sorted(sizes, key=lambda sp: (-sp[0], sp[1]))[:top]]
    return ContextInfo(
        files=files,
        bytes=total,
        largest=tuple(largest),
        largest_files=tuple(largest_files),
        dirs=dirs,
        ignore_file=plan.ignore_file,
    )


# Entries that rarely belong in a build context, and the .dockerignore line for each.
_USUAL_SUSPECTS = {
    ".git/": ".git",
    "node_modules/": "node_modules",
    ".venv/": ".venv",
    "venv/": "venv",
    "env/": "env",
    "__pycache__/": "**/__pycache__",
    ".tox/": ".tox",
    ".mypy_cache/": ".mypy_cache",
    ".pytest_cache/": ".pytest_cache",
    ".ruff_cache/": ".ruff_cache",
    ".idea/": ".idea",
    ".vscode/": ".vscode",
    "dist/": "dist",
    "build/": "build",
    "target/": "target",
    ".next/": ".next",
    "coverage/": "coverage",
    ".cache/": ".cache",
}


def warn_large(
    info: ContextInfo,
    *,
    max_bytes: int = LARGE_CONTEXT_BYTES,
    max_files: int = LARGE_CONTEXT_FILES,
) -> list[str]:
    """Advice when the context is big (a classic slow-build mistake); empty when it is fine."""
    from dockui.format import size as human

    if info.bytes <= max_bytes and info.files <= max_files:
        return []
    advice = [
        f"The build context is {human(info.bytes)} in {info.files:,} files; all of it is "
        "sent to the engine before the first step runs."
    ]
    if info.largest:
        biggest = ", ".join(f"{path} ({human(size)})" for path, size in info.largest[:3])
        advice.append(f"The biggest entries: {biggest}.")
    present = [(path, _USUAL_SUSPECTS[path]) for path, _ in info.largest if path in _USUAL_SUSPECTS]
    lines = [line for _, line in present] or [
        path.rstrip("/") for path, size in info.largest[:2] if size > max_bytes // 10
    ]
    where = ".dockerignore" if info.ignore_file is None else os.path.basename(info.ignore_file)
    if lines:
        advice.append(f"Add to {where}: {', '.join(lines)}.")
    else:
        advice.append(
            f"List what the image does not need in {where} (for example .git, node_modules, .venv)."
        )
    return advice


class _Cancelled(Exception):
    pass


def _write_context(plan: _ContextPlan, out: Any, cancelled: threading.Event) -> tuple[int, int]:
    """Write the context tar (docker-py's create_archive, with a cancel check per file)."""
    files = total = 0
    extra_names = {name for name, _ in plan.extra_files}
    with tarfile.open(mode="w", fileobj=out) as tar:
        for rel in plan.paths:
            if cancelled.is_set():
                raise _Cancelled
            if rel in extra_names:
                continue
            full = os.path.join(plan.root, rel)
            try:
                info = tar.gettarinfo(full, arcname=rel)
            except OSError as exc:
                raise OSError(f"Cannot read {rel} in the build context: {exc.strerror}") from exc
            if info is None:  # a socket: docker skips it too
                continue
            if info.mtime < 0 or info.mtime > 8**11 - 1:
                info.mtime = int(info.mtime)
            if info.isfile():
                try:
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                except OSError as exc:
                    raise OSError(
                        f"Cannot read {rel} in the build context: {exc.strerror}"
                    ) from exc
                files += 1
                total += info.size
            else:
                tar.addfile(info)
        for name, contents in plan.extra_files:
            data = contents.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
            files += 1
            total += len(data)
    out.seek(0)
    return files, total


class _CancellableReader:
    """The context file as requests streams it: every read checks for a cancel."""

    def __init__(self, f: Any, cancelled: threading.Event) -> None:
        self._f = f
        self._cancelled = cancelled
        f.seek(0, os.SEEK_END)
        self._len = f.tell()
        f.seek(0)

    def __len__(self) -> int:
        return self._len

    def read(self, n: int = -1) -> bytes:
        if self._cancelled.is_set():
            raise _Cancelled
        return self._f.read(n)


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class SendingContext:
    """The context is packed and about to be sent (API path)."""

    files: int
    bytes: int


@dataclass(frozen=True, slots=True)
class StepStarted:
    index: int  # 1-based
    total: int | None
    instruction: str  # `RUN pip install ...`; BuildKit stages prefix it: `builder: RUN ...`


@dataclass(frozen=True, slots=True)
class StepCached:
    index: int


@dataclass(frozen=True, slots=True)
class StepOutput:
    index: int
    line: str


@dataclass(frozen=True, slots=True)
class StepFinished:
    index: int
    duration_s: float
    layer_id: str | None  # the legacy builder's short id after the step; None on BuildKit


@dataclass(frozen=True, slots=True)
class BuildNote:
    """A line outside any step (warnings, `Successfully tagged`, pull status...)."""

    text: str


@dataclass(frozen=True, slots=True)
class BuildSucceeded:
    image_id: str
    tags: tuple[str, ...]
    size_bytes: int | None
    duration_s: float
    cached_steps: int
    total_steps: int


@dataclass(frozen=True, slots=True)
class BuildFailed:
    step_index: int | None
    instruction: str | None
    error_sentence: str
    output_tail: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildCancelled:
    step_index: int | None
    duration_s: float


BuildEvent = Union[  # noqa: UP007 - a runtime alias that py3.10 can evaluate
    SendingContext,
    StepStarted,
    StepCached,
    StepOutput,
    StepFinished,
    BuildNote,
    BuildSucceeded,
    BuildFailed,
    BuildCancelled,
]
TERMINAL = (BuildSucceeded, BuildFailed, BuildCancelled)


# --------------------------------------------------------------------------- errors


_EXIT_CODE_LEGACY = re.compile(r"returned a non-zero code: (\d+)")
_EXIT_CODE_BUILDKIT = re.compile(r"exit code: (\d+)")
_UNREACHABLE = (
    "no such host",
    "dial tcp",
    "i/o timeout",
    "connection refused",
    "tls handshake timeout",
    "network is unreachable",
    "temporary failure in name resolution",
    "server misbehaving",
    "proxyconnect",
)


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _base_image(instruction: str | None) -> str | None:
    if not instruction:
        return None
    words = instruction.split()
    if not words or words[0].upper() != "FROM":
        return None
    args = [w for w in words[1:] if not w.startswith("--")]
    return args[0] if args else None


def pull_error_sentence(image: str, message: str) -> str:
    """Why the base image could not be pulled, in one sentence."""
    lowered = message.lower()
    if any(s in lowered for s in _UNREACHABLE):
        host = re.search(r"lookup ([^\s:]+)", message) or re.search(
            r"https?://([^/\s\"]+)", message
        )
        where = f" ({host.group(1)} cannot be reached)" if host else ""
        return (
            f"Cannot pull base image {image}: no registry is reachable{where}; "
            "build or load it on this engine first."
        )
    if "pull access denied" in lowered or "repository does not exist" in lowered:
        return (
            f"Cannot pull base image {image}: the repository does not exist or needs "
            "`docker login`."
        )
    if "manifest unknown" in lowered or "not found" in lowered:
        return f"Cannot pull base image {image}: no such tag in the registry."
    if "unauthorized" in lowered or "authentication required" in lowered:
        return f"Cannot pull base image {image}: the registry needs `docker login`."
    return f"Cannot pull base image {image}: {clean_line(message).strip().rstrip('.')}."


def _looks_like_pull_error(message: str) -> bool:
    lowered = message.lower()
    return (
        any(s in lowered for s in _UNREACHABLE)
        or "pull access denied" in lowered
        or "manifest unknown" in lowered
        or "manifest for" in lowered
        or "registry" in lowered
        or "failed to resolve source metadata" in lowered
    )


def step_error_sentence(
    index: int | None, total: int | None, instruction: str | None, message: str, code: int | None
) -> str:
    """One sentence for a failed build step (or a failure outside any step)."""
    message = clean_line(message).strip()
    base = _base_image(instruction)
    if base and _looks_like_pull_error(message):
        return pull_error_sentence(base, message)
    if code is None:
        match = _EXIT_CODE_LEGACY.search(message) or _EXIT_CODE_BUILDKIT.search(message)
        if match:
            code = int(match.group(1))
    if index is None or not instruction:
        return _sentence(message) if message else "The build failed."
    where = f"Step {index}/{total}" if total else f"Step {index}"
    if code is not None and (
        _EXIT_CODE_LEGACY.search(message) or _EXIT_CODE_BUILDKIT.search(message)
    ):
        return f"{where} ({_short(instruction)}) failed: the command exited with code {code}."
    return f"{where} ({_short(instruction)}) failed: {message.rstrip('.')}."


# --------------------------------------------------------------------------- legacy parser


_STEP = re.compile(r"^Step (\d+)(?:/(\d+))? : (.*)$", re.DOTALL)
_ARROW = re.compile(r"^ ---> (.*)$")
_LAYER_ID = re.compile(r"^[0-9a-f]{12,64}$")
_MARKERS = re.compile(
    r"^(?:Step \d+(?:/\d+)? : | ---> |Removing intermediate container |Successfully )"
)


class LegacyStreamParser:
    """The legacy builder's decoded JSON messages in, step events out.

    `feed(msg)` for each message, then `end()`; read `failure`, `image_id`,
    `cached_steps`, `total_steps` afterwards (or call `outcome()`).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started_at = clock()
        self.image_id: str | None = None
        self.failure: BuildFailed | None = None
        self.cached_steps = 0
        self.total_steps = 0
        self.steps_seen = 0
        self.current: int | None = None  # the open step
        self.current_instruction: str | None = None
        self.container_id: str | None = None  # the one running the current step
        self._step_started = 0.0
        self._finished: set[int] = set()
        self._pending = ""
        self._step_tail: deque[str] = deque(maxlen=OUTPUT_TAIL)
        self._tail: deque[str] = deque(maxlen=OUTPUT_TAIL)
        self._last_status: dict[str, str] = {}

    # public --------------------------------------------------------------
    def feed(self, msg: Mapping[str, Any]) -> list[BuildEvent]:
        out: list[BuildEvent] = []
        if not isinstance(msg, Mapping):
            return out
        if "error" in msg or "errorDetail" in msg:
            out.extend(self._flush())
            detail = msg.get("errorDetail") or {}
            message = str(msg.get("error") or detail.get("message") or "The build failed.")
            code = detail.get("code") if isinstance(detail, Mapping) else None
            self._fail(message, code if isinstance(code, int) else None)
            return out
        aux = msg.get("aux")
        if msg.get("id") == "moby.buildkit.trace":
            return out  # BuildKit's binary progress: nothing for the legacy view
        if isinstance(aux, Mapping) and aux.get("ID"):
            self.image_id = str(aux["ID"])
        stream = msg.get("stream")
        if isinstance(stream, str) and stream:
            out.extend(self._feed_stream(stream))
        status = msg.get("status")
        if isinstance(status, str) and status:
            out.extend(self._status(msg))
        return out

    def end(self) -> list[BuildEvent]:
        """The stream is over: flush a partial line."""
        return self._flush()

    def outcome(
        self, tags: Iterable[str] = (), size_bytes: int | None = None
    ) -> BuildSucceeded | BuildFailed:
        if self.failure is not None:
            return self.failure
        if not self.image_id:
            return BuildFailed(
                self.current,
                self.current_instruction,
                "The build ended before an image was made (the engine closed the stream).",
                tuple(self._tail),
            )
        return BuildSucceeded(
            image_id=self.image_id,
            tags=tuple(tags),
            size_bytes=size_bytes,
            duration_s=self.clock() - self.started_at,
            cached_steps=self.cached_steps,
            total_steps=self.total_steps or self.steps_seen,
        )

    # internals -----------------------------------------------------------
    def _feed_stream(self, text: str) -> list[BuildEvent]:
        out: list[BuildEvent] = []
        if self._pending and _MARKERS.match(text):
            out.extend(self._flush())
        data = self._pending + text
        *lines, self._pending = data.split("\n")
        for line in lines:
            out.extend(self._line(line))
        return out

    def _flush(self) -> list[BuildEvent]:
        if not self._pending:
            return []
        line, self._pending = self._pending, ""
        return self._line(line)

    def _line(self, raw: str) -> list[BuildEvent]:
        raw = raw.rstrip("\r")
        if "\r" in raw:  # progress redraws: keep the last frame
            raw = next((seg for seg in reversed(raw.split("\r")) if seg.strip()), "")
        step = _STEP.match(raw)
        if step:
            return self._start(int(step.group(1)), step.group(2), clean_line(step.group(3)))
        arrow = _ARROW.match(raw)
        if arrow and self.current is not None:
            return self._arrow(arrow.group(1).strip())
        if raw.startswith("Removing intermediate container "):
            return []
        if raw.startswith("Successfully built "):
            if not self.image_id:
                self.image_id = raw.split()[-1]
            return [BuildNote(clean_line(raw))]
        if arrow:  # ` ---> id` before any step (very old engines): nothing to show
            return []
        line = clean_line(raw)
        if not line and raw:
            return []  # only escape codes (stderr colouring)
        self._tail.append(line)
        if self.current is not None and self.current not in self._finished:
            self._step_tail.append(line)
            return [StepOutput(self.current, line)]
        if not line:
            return []
        return [BuildNote(line)]

    def _start(self, index: int, total: str | None, instruction: str) -> list[BuildEvent]:
        out: list[BuildEvent] = []
        if self.current is not None and self.current not in self._finished:
            out.append(self._finish(None))
        self.current = index
        self.current_instruction = instruction
        self.container_id = None
        self.steps_seen += 1
        if total:
            self.total_steps = int(total)
        self._step_started = self.clock()
        self._step_tail.clear()
        out.append(StepStarted(index, int(total) if total else None, instruction))
        return out

    def _arrow(self, text: str) -> list[BuildEvent]:
        assert self.current is not None
        if text == "Using cache":
            self.cached_steps += 1
            return [StepCached(self.current)]
        if text.startswith("Running in "):
            self.container_id = clean_field(text.split()[-1])
            return []
        if _LAYER_ID.match(text) and self.current not in self._finished:
            return [self._finish(text)]
        line = clean_line(text)
        return [StepOutput(self.current, line)] if line else []

    def _finish(self, layer_id: str | None) -> StepFinished:
        assert self.current is not None
        self._finished.add(self.current)
        self.container_id = None
        return StepFinished(self.current, max(0.0, self.clock() - self._step_started), layer_id)

    def _status(self, msg: Mapping[str, Any]) -> list[BuildEvent]:
        detail = msg.get("progressDetail")
        if isinstance(detail, Mapping) and detail.get("total"):
            return []  # byte-level pull progress: too chatty for a build log
        ident = clean_field(str(msg.get("id") or ""))
        status = clean_line(str(msg.get("status")))
        if self._last_status.get(ident) == status:
            return []
        self._last_status[ident] = status
        line = f"{ident}: {status}" if ident else status
        self._tail.append(line)
        if self.current is not None and self.current not in self._finished:
            self._step_tail.append(line)
            return [StepOutput(self.current, line)]
        return [BuildNote(line)]

    def _fail(self, message: str, code: int | None) -> None:
        index = self.current
        instruction = self.current_instruction
        if index is not None and index in self._finished:
            index = instruction = None  # failed between steps (e.g. committing, tagging)
        sentence = step_error_sentence(index, self.total_steps or None, instruction, message, code)
        tail = self._step_tail if index is not None else self._tail
        self.failure = BuildFailed(index, instruction, sentence, tuple(tail))


# --------------------------------------------------------------------------- BuildKit parser


_BK_LINE = re.compile(r"^#(\d+) (.*)$")
_BK_STEP = re.compile(r"^\[(?:(?P<stage>[^\]\s]+) )?(?P<x>\d+)/(?P<y>\d+)\] (?P<instr>.+)$")
_BK_OUTPUT = re.compile(r"^(\d+\.\d+) ?(.*)$")
_BK_DONE = re.compile(r"^DONE (\d+(?:\.\d+)?)s$")
_BK_IMAGE = re.compile(r"^writing image (sha256:[0-9a-f]{64})")
_BK_METADATA = re.compile(r"^\[internal\] load metadata for (\S+)")
_BK_FINAL_ERROR = re.compile(r"^(?:ERROR: |error: |failed to )", re.IGNORECASE)
_BK_NOISE_PREFIXES = ("failed to solve with frontend dockerfile.v0: ", "failed to solve: ")


@dataclass
class _Vertex:
    number: int
    header: str  # the line as printed, to recognise it when it is printed again
    name: str  # what the UI shows: `builder: RUN make` for a named stage
    instruction: str | None = None  # the Dockerfile instruction alone, for messages
    index: int | None = None  # our step index when it is a Dockerfile step
    started: float = 0.0
    finished: bool = False


class BuildKitLineParser:
    """`--progress=plain` lines from the docker CLI in, the same step events out."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started_at = clock()
        self.image_id: str | None = None
        self.cached_steps = 0
        self.failure: BuildFailed | None = None
        self._vertices: dict[int, _Vertex] = {}
        self._stage_totals: dict[str, int] = {}
        self._steps = 0
        self._error: tuple[_Vertex, str] | None = None
        self._final_errors: list[str] = []
        self._tails: dict[int, deque[str]] = {}
        self._tail: deque[str] = deque(maxlen=OUTPUT_TAIL)
        self._in_block = False

    @property
    def total_steps(self) -> int:
        return sum(self._stage_totals.values()) or self._steps

    def feed(self, raw: str) -> list[BuildEvent]:
        raw = raw.rstrip("\r\n")
        if "\r" in raw:
            raw = next((seg for seg in reversed(raw.split("\r")) if seg.strip()), "")
        match = _BK_LINE.match(raw)
        if not match:
            return self._other(raw)
        number, text = int(match.group(1)), match.group(2)
        vertex = self._vertices.get(number)
        if vertex is None:
            return self._new_vertex(number, text)
        if text == vertex.header:
            return []  # the header again, when output switches back to this vertex
        return self._vertex_line(vertex, text)

    def end(self, returncode: int | None = 0) -> list[BuildEvent]:
        """The CLI exited; `failure` is set when it failed."""
        if returncode == 0 or (returncode is None and self._error is None):
            return []
        index = instruction = bare = None
        message = ""
        if self._error is not None:
            vertex, message = self._error
            if vertex.index is not None:
                index, instruction = vertex.index, vertex.name
                bare = vertex.instruction
            else:
                meta = _BK_METADATA.match(vertex.name)
                if meta:
                    self.failure = BuildFailed(
                        None,
                        f"FROM {meta.group(1)}",
                        pull_error_sentence(meta.group(1), message),
                        tuple(self._tail),
                    )
                    return []
        if not message and self._final_errors:
            message = self._final_errors[-1]
        for prefix in ("ERROR: ", "error: "):
            message = message.removeprefix(prefix)
        for prefix in _BK_NOISE_PREFIXES:
            message = message.replace(prefix, "")
        message = message.replace("failed to create LLB definition: ", "")
        if not message:
            message = f"The docker CLI failed (exit status {returncode})."
        tail = self._tails.get(index, deque()) if index is not None else self._tail
        sentence = step_error_sentence(index, self.total_steps or None, bare, message, None)
        self.failure = BuildFailed(index, instruction, sentence, tuple(tail))
        return []

    def outcome(
        self, tags: Iterable[str] = (), size_bytes: int | None = None
    ) -> BuildSucceeded | BuildFailed:
        if self.failure is not None:
            return self.failure
        if not self.image_id:
            return BuildFailed(
                None, None, "The build ended without an image id.", tuple(self._tail)
            )
        return BuildSucceeded(
            image_id=self.image_id,
            tags=tuple(tags),
            size_bytes=size_bytes,
            duration_s=self.clock() - self.started_at,
            cached_steps=self.cached_steps,
            total_steps=self.total_steps,
        )

    def _new_vertex(self, number: int, header: str) -> list[BuildEvent]:
        name = clean_line(header)
        vertex = _Vertex(number, header, name, started=self.clock())
        self._vertices[number] = vertex
        step = _BK_STEP.match(name)
        if not step:
            return []
        stage = step.group("stage") or ""
        total = int(step.group("y"))
        self._stage_totals[stage] = max(self._stage_totals.get(stage, 0), total)
        self._steps += 1
        vertex.index = self._steps
        instr = step.group("instr")
        vertex.instruction = instr
        vertex.name = f"{stage}: {instr}" if stage else instr
        self._tails[vertex.index] = deque(maxlen=OUTPUT_TAIL)
        return [StepStarted(vertex.index, self.total_steps, vertex.name)]

    def _vertex_line(self, vertex: _Vertex, text: str) -> list[BuildEvent]:
        if text == "CACHED":
            if vertex.index is None or vertex.finished:
                return []
            vertex.finished = True
            self.cached_steps += 1
            return [StepCached(vertex.index), StepFinished(vertex.index, 0.0, None)]
        done = _BK_DONE.match(text)
        if done:
            if vertex.index is None or vertex.finished:
                return []
            vertex.finished = True
            return [StepFinished(vertex.index, float(done.group(1)), None)]
        if text.startswith("ERROR:"):
            message = clean_line(text[len("ERROR:") :].strip())
            if self._error is None or (self._error[0].index is None and vertex.index is not None):
                self._error = (vertex, message)
            return []
        if text == "CANCELED":
            return []
        image = _BK_IMAGE.match(text)
        if image:
            self.image_id = image.group(1)
            return []
        if text.startswith("naming to "):
            return [BuildNote(clean_line(text.removesuffix(" done")))]
        output = _BK_OUTPUT.match(text)
        if output and vertex.index is not None:
            line = clean_line(output.group(2))
            self._tail.append(line)
            self._tails[vertex.index].append(line)
            return [StepOutput(vertex.index, line)]
        return []  # sha256 digests, transfer progress, resolve lines

    def _other(self, raw: str) -> list[BuildEvent]:
        line = clean_line(raw).strip()
        if line.startswith("------"):
            self._in_block = not self._in_block if line == "------" else self._in_block
            return []
        if self._in_block or not line:
            return []
        if _BK_FINAL_ERROR.match(line):
            self._final_errors.append(line)
        return []


# --------------------------------------------------------------------------- CLI discovery


_CLI_VERSION = re.compile(r"version (\d+)\.(\d+)")
_cli_cache: dict[tuple[str, ...], tuple[list[str], dict[str, str]] | None] = {}


def _docker_candidates() -> list[str]:
    seen: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(directory or ".", "docker")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            if real not in {os.path.realpath(p) for p in seen}:
                seen.append(path)
    return seen


def find_buildkit_cli(
    candidates: Iterable[str] | None = None,
) -> tuple[list[str], dict[str, str]] | None:
    """(argv prefix, extra env) for a BuildKit build through the docker CLI, or None.

    A CLI with buildx → `docker buildx build`; a classic CLI (< 23, which has BuildKit
    built in) → `DOCKER_BUILDKIT=1 docker build`. Newer CLIs without buildx cannot.
    """
    cands = tuple(candidates) if candidates is not None else tuple(_docker_candidates())
    if cands in _cli_cache:
        return _cli_cache[cands]
    found: tuple[list[str], dict[str, str]] | None = None
    for docker in cands:
        try:
            buildx = subprocess.run(
                [docker, "buildx", "version"], capture_output=True, text=True, timeout=10
            )
            if buildx.returncode == 0:
                found = ([docker, "buildx", "build"], {})
                break
            version = subprocess.run(
                [docker, "--version"], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            continue
        match = _CLI_VERSION.search(version.stdout)
        if match and int(match.group(1)) < 23:
            found = ([docker, "build"], {"DOCKER_BUILDKIT": "1"})
            break
    _cli_cache[cands] = found
    return found


def cli_argv(req: BuildRequest, prefix: list[str], iidfile: str) -> list[str]:
    """The docker CLI command line for `req` (plain progress, image id to `iidfile`)."""
    argv = [*prefix, "--progress=plain", "--iidfile", iidfile, "-f", req.dockerfile_path]
    for tag in req.tags:
        argv += ["-t", tag]
    for key, value in req.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in req.labels.items():
        argv += ["--label", f"{key}={value}"]
    if req.target:
        argv += ["--target", req.target]
    if req.no_cache:
        argv.append("--no-cache")
    argv.append(req.context_path)
    return argv


# --------------------------------------------------------------------------- runner


class Build:
    """One build, run in a thread; `on_event` receives the events in order.

        build = Build(engine, request, on_event).start()
        ...
        build.close()   # cancel: stops promptly, leaves no build container behind

    `run()` does the same work in the calling thread (for a caller already in a worker).
    """

    def __init__(
        self,
        engine: Engine,
        request: BuildRequest,
        on_event: Callable[[BuildEvent], None],
        *,
        use_cli: bool = False,
        cli: tuple[list[str], dict[str, str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.request = request
        self.on_event = on_event
        self.use_cli = use_cli
        self.cli = cli
        self.clock = clock
        self.outcome: BuildSucceeded | BuildFailed | BuildCancelled | None = None
        self.last_container_id: str | None = None  # the legacy builder's last step container
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._response: Any = None
        self._proc: subprocess.Popen[str] | None = None
        self._current_step: int | None = None
        self._thread = threading.Thread(target=self.run, name="dockui-build", daemon=True)

    # control -------------------------------------------------------------
    def start(self) -> Build:
        self._thread.start()
        return self

    def close(self) -> None:
        """Cancel the build (idempotent, any thread); the terminal event follows."""
        self._cancelled.set()
        with self._lock:
            response, proc = self._response, self._proc
        if response is not None:
            _shutdown(response)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGINT)  # the CLI cancels the solve on SIGINT
            timer = threading.Timer(5.0, lambda: proc.poll() is None and _kill_group(proc))
            timer.daemon = True
            timer.start()

    cancel = close

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # work ----------------------------------------------------------------
    def run(self) -> BuildSucceeded | BuildFailed | BuildCancelled:
        started = self.clock()
        try:
            if self.use_cli:
                cli = self.cli or find_buildkit_cli()
                if cli is None:
                    self._emit(
                        BuildNote(
                            "No docker CLI with BuildKit was found; building through the "
                            "engine API."
                        )
                    )
                    outcome = self._run_api(started)
                else:
                    outcome = self._run_cli(started, cli)
            else:
                outcome = self._run_api(started)
        except _Cancelled:
            outcome = BuildCancelled(self._current_step, self.clock() - started)
        except Exception as exc:
            if self._cancelled.is_set():
                outcome = BuildCancelled(self._current_step, self.clock() - started)
            else:
                outcome = BuildFailed(None, None, _sentence(describe_error(exc)))
        if self._cancelled.is_set() and not isinstance(outcome, BuildSucceeded):
            outcome = BuildCancelled(self._current_step, self.clock() - started)
            self._cleanup_container()
        self.outcome = outcome
        self.on_event(outcome)
        return outcome

    def _emit(self, event: BuildEvent) -> None:
        if isinstance(event, StepStarted):
            self._current_step = event.index
        if not self._cancelled.is_set():
            self.on_event(event)

    def _run_api(self, started: float) -> BuildSucceeded | BuildFailed:
        req = self.request
        problems = validate(req)
        if problems:
            return BuildFailed(None, None, problems[0])
        plan = _plan(req.context_path, req.dockerfile_path)
        with tempfile.TemporaryFile(prefix="dockui-context-") as tmp:
            files, size = _write_context(plan, tmp, self._cancelled)
            self._emit(SendingContext(files, size))
            parser = LegacyStreamParser(clock=self.clock)
            parser.started_at = started
            try:
                stream = self.engine.api.build(
                    fileobj=_CancellableReader(tmp, self._cancelled),
                    custom_context=True,
                    dockerfile=plan.dockerfile_name,
                    tag=req.tags[0] if req.tags else None,
                    buildargs=dict(req.build_args) or None,
                    target=req.target or None,
                    nocache=req.no_cache,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    labels=dict(req.labels) or None,
                )
                with self._lock:
                    self._response = _response_of(stream)
                if self._cancelled.is_set():
                    raise _Cancelled
                for msg in stream:
                    for event in parser.feed(msg):
                        self._emit(event)
                    self.last_container_id = parser.container_id or self.last_container_id
                    if self._cancelled.is_set():
                        raise _Cancelled
            finally:
                with self._lock:
                    response, self._response = self._response, None
                if response is not None:
                    with contextlib.suppress(Exception):
                        response.close()
        for event in parser.end():
            self._emit(event)
        if parser.failure is not None or not parser.image_id:
            return parser.outcome()
        tags = self._tag_extras(parser.image_id)
        return parser.outcome(tags, self._image_size(parser.image_id))

    def _run_cli(self, started: float, cli: tuple[list[str], dict[str, str]]) -> Any:
        req = self.request
        problems = validate(req)
        if problems:
            return BuildFailed(None, None, problems[0])
        prefix, extra_env = cli
        parser = BuildKitLineParser(clock=self.clock)
        parser.started_at = started
        with tempfile.TemporaryDirectory(prefix="dockui-build-") as tmpdir:
            iidfile = os.path.join(tmpdir, "iid")
            # The CLI must reach the same engine, TLS certificates of a context included.
            own = getattr(self.engine, "cli_env", None)
            base = own() if callable(own) else {**os.environ, "DOCKER_HOST": self.engine.info.host}
            env = {**base, **extra_env}
            proc = subprocess.Popen(
                cli_argv(req, prefix, iidfile),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=env,
                start_new_session=True,
            )
            with self._lock:
                self._proc = proc
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    for event in parser.feed(line):
                        self._emit(event)
                try:
                    rc = proc.wait(timeout=5 if self._cancelled.is_set() else None)
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    rc = proc.wait()
            finally:
                with self._lock:
                    self._proc = None
                if proc.poll() is None:
                    _kill_group(proc)
                    proc.wait()
            if self._cancelled.is_set():
                raise _Cancelled
            for event in parser.end(rc):
                self._emit(event)
            if os.path.exists(iidfile):
                with open(iidfile) as f:
                    parser.image_id = f.read().strip() or parser.image_id
        if parser.failure is not None or not parser.image_id:
            return parser.outcome()
        return parser.outcome(req.tags, self._image_size(parser.image_id))

    def _tag_extras(self, image_id: str) -> tuple[str, ...]:
        tags = list(self.request.tags[:1])
        for ref in self.request.tags[1:]:
            repo, tag = split_reference(ref)
            try:
                self.engine.api.tag(image_id, repo, tag or "latest")
                tags.append(ref)
            except Exception as exc:
                self._emit(BuildNote(f"Could not tag {ref}: {describe_error(exc)}"))
        return tuple(tags)

    def _image_size(self, image_id: str) -> int | None:
        try:
            return int(self.engine.api.inspect_image(image_id).get("Size") or 0)
        except Exception:
            return None

    def _cleanup_container(self) -> None:
        """forcerm makes the engine remove the step's container; make sure it did."""
        cid = self.last_container_id
        if not cid or self.use_cli:
            return
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                if not self.engine.api.containers(all=True, filters={"id": cid}):
                    return
                time.sleep(0.2)
            self.engine.api.remove_container(cid, force=True)
        except Exception:
            pass


def _response_of(stream: Any) -> Any:
    """The HTTP response behind docker-py's build generator (to close it from outside).

    docker-py's `_stream_helper(response, decode)` holds it as an argument; an
    unstarted generator's frame already has it.
    """
    frame = getattr(stream, "gi_frame", None)
    if frame is None:
        return None
    return frame.f_locals.get("response")


def _shutdown(response: Any) -> None:
    """Unblock a thread stuck reading `response` by shutting its socket down."""
    try:
        from docker.types import CancellableStream

        CancellableStream(iter(()), response).close()
    except Exception:
        with contextlib.suppress(Exception):
            response.close()


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
