"""Container actions on one or many containers, each with its own result sentence.

`run_action()` runs one action on several containers concurrently from a small bounded pool
and reports a `ActionResult` per container (through `on_result` as each finishes, and as the
returned list in the order asked). An engine refusal becomes one clear sentence naming the
container ("web-1 is running: stop it first, or use force"), never a traceback.

Also here: what a confirmation dialog says (`confirm_text`), the argv that opens a shell in a
container with the docker CLI (`exec_shell_command`), and compose-project grouping.

Everything blocks; call it from a worker thread.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from dockui.engine.errors import describe_error
from dockui.engine.models import ContainerSummary
from dockui.engine.text import clean_field

if TYPE_CHECKING:
    from dockui.engine.client import Engine

DEFAULT_WORKERS = 4
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
COMPOSE_NUMBER_LABEL = "com.docker.compose.container-number"


class OperationError(Exception):
    """The engine refused, or the object is gone: `str(exc)` is one sentence for the user."""


class ContainerAction(str, Enum):
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    KILL = "kill"
    REMOVE = "remove"
    REMOVE_WITH_VOLUMES = "remove_with_volumes"

    @property
    def label(self) -> str:
        """Menu text: "Start", ..., "Remove with volumes"."""
        return self.value.replace("_", " ").capitalize()

    @property
    def verb(self) -> str:
        return "remove" if self.removes else self.value

    @property
    def past(self) -> str:
        """ "stopped", "removed", ... for a success message."""
        return _PAST[self]

    @property
    def progressive(self) -> str:
        """ "Stopping", "Removing", ... for a progress line."""
        return _PROGRESSIVE[self]

    @property
    def removes(self) -> bool:
        return self in (ContainerAction.REMOVE, ContainerAction.REMOVE_WITH_VOLUMES)


_PAST = {
    ContainerAction.START: "started",
    ContainerAction.STOP: "stopped",
    ContainerAction.RESTART: "restarted",
    ContainerAction.PAUSE: "paused",
    ContainerAction.UNPAUSE: "unpaused",
    ContainerAction.KILL: "killed",
    ContainerAction.REMOVE: "removed",
    ContainerAction.REMOVE_WITH_VOLUMES: "removed with its anonymous volumes",
}
_PROGRESSIVE = {
    ContainerAction.START: "Starting",
    ContainerAction.STOP: "Stopping",
    ContainerAction.RESTART: "Restarting",
    ContainerAction.PAUSE: "Pausing",
    ContainerAction.UNPAUSE: "Unpausing",
    ContainerAction.KILL: "Killing",
    ContainerAction.REMOVE: "Removing",
    ContainerAction.REMOVE_WITH_VOLUMES: "Removing",
}

_DESTRUCTIVE = frozenset(
    {ContainerAction.KILL, ContainerAction.REMOVE, ContainerAction.REMOVE_WITH_VOLUMES}
)


def destructive(action: ContainerAction) -> bool:
    """Loses something for good (a writable layer, volumes, an unclean shutdown): ask first."""
    return action in _DESTRUCTIVE


def applicable(action: ContainerAction, container: ContainerSummary) -> bool:
    """Whether the action makes sense in the container's current state (for menus and for
    actions on a whole compose project, which skip the containers it does not apply to)."""
    state = container.state
    if action is ContainerAction.START:
        return state in ("created", "exited", "dead")
    if action in (ContainerAction.STOP, ContainerAction.KILL):
        return state in ("running", "paused", "restarting")
    if action is ContainerAction.PAUSE:
        return state == "running"
    if action is ContainerAction.UNPAUSE:
        return state == "paused"
    if action.removes:
        return state != "removing"
    return True  # restart works in any state


def name_list(names: Sequence[str], limit: int = 5) -> str:
    """`a, b, c` or `a, b, c, d, e and 7 more`."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def confirm_text(action: ContainerAction, names: Sequence[str], *, force: bool = False) -> str:
    """The question a confirmation dialog asks, naming what will go.

    >>> confirm_text(ContainerAction.REMOVE, ["web-1", "web-2", "db"])
    'Remove 3 containers: web-1, web-2, db? Their writable layers are deleted.'
    """
    names = list(names)
    one = len(names) == 1
    what = f"container {names[0]}" if one else f"{len(names)} containers: {name_list(names)}"
    verb = "Remove" if action.removes else action.value.capitalize()
    question = f"{verb} {what}?"
    if action is ContainerAction.REMOVE:
        detail = "Its writable layer is deleted." if one else "Their writable layers are deleted."
    elif action is ContainerAction.REMOVE_WITH_VOLUMES:
        detail = (
            "Its writable layer and anonymous volumes are deleted; named volumes are kept."
            if one
            else "Their writable layers and anonymous volumes are deleted; named volumes are kept."
        )
    elif action is ContainerAction.KILL:
        detail = (
            "It gets SIGKILL, with no chance to shut down cleanly."
            if one
            else "They get SIGKILL, with no chance to shut down cleanly."
        )
    elif action is ContainerAction.STOP:
        detail = (
            "Its processes get SIGTERM, then SIGKILL after the timeout."
            if one
            else "Their processes get SIGTERM, then SIGKILL after the timeout."
        )
    elif action is ContainerAction.RESTART:
        detail = (
            "It is stopped and started again." if one else "They are stopped and started again."
        )
    else:
        detail = ""
    if force and action.removes:
        detail += (
            " Running ones are killed first." if not one else " If it runs, it is killed first."
        )
    return f"{question} {detail.strip()}".strip()


@dataclass(frozen=True, slots=True)
class ActionResult:
    id: str
    name: str
    ok: bool
    message: str  # "web-1 stopped" or the refusal in one sentence
    action: ContainerAction | None = None


def explain_refusal(exc: BaseException, name: str) -> str:
    """One sentence for an engine error about container `name`."""
    status = getattr(exc, "status_code", None)
    text = describe_error(exc)
    lowered = text.lower()
    if status == 404 or "no such container" in lowered:
        return f"{name} no longer exists"
    if "cannot remove a running container" in lowered:
        return f"{name} is running: stop it first, or use force"
    if "cannot remove a paused container" in lowered:
        return f"{name} is paused: unpause and stop it first, or use force"
    if "removal of container" in lowered and "in progress" in lowered:
        return f"{name} is already being removed"
    if "is already paused" in lowered:
        return f"{name} is already paused"
    if "is not paused" in lowered:
        return f"{name} is not paused"
    if "cannot start a paused container" in lowered:
        return f"{name} is paused: unpause it instead"
    if "is paused, unpause the container" in lowered:
        return f"{name} is paused: unpause it first"
    if "is restarting" in lowered:
        return f"{name} is restarting: wait until it runs"
    if "is not running" in lowered or "container not running" in lowered:
        return f"{name} is not running"
    if "port is already allocated" in lowered or "address already in use" in lowered:
        return f"{name} cannot start: a port it publishes is already in use on the host"
    if "timed out" in lowered or "timeout" in lowered:
        return f"{name}: the engine did not answer in time"
    if "connection" in lowered and ("refused" in lowered or "aborted" in lowered):
        return f"{name}: lost the connection to the engine"
    # The engine's own words, without docker-py's "500 Server Error for http+docker://..."
    text = re.sub(r"^\d{3} (?:Client|Server) Error[^(]*\(\"?", "", text).rstrip('")')
    text = re.sub(r"\b([0-9a-f]{12})[0-9a-f]{52}\b", r"\1", text)  # full ids are noise
    return f"{name}: {text}"


def _call(
    engine: Engine, action: ContainerAction, cid: str, force: bool, timeout: int | None
) -> None:
    api = engine.api
    if action is ContainerAction.START:
        api.start(cid)
    elif action in (ContainerAction.STOP, ContainerAction.RESTART):
        call = api.stop if action is ContainerAction.STOP else api.restart
        if timeout is None:
            call(cid)  # the container's own StopTimeout, else the engine's 10 s
        else:
            call(cid, timeout=timeout)
    elif action is ContainerAction.PAUSE:
        api.pause(cid)
    elif action is ContainerAction.UNPAUSE:
        api.unpause(cid)
    elif action is ContainerAction.KILL:
        api.kill(cid)
    else:
        api.remove_container(
            cid, v=action is ContainerAction.REMOVE_WITH_VOLUMES, force=force, link=False
        )


def _resolve(engine: Engine, targets: Sequence[Any]) -> list[tuple[str, str]]:
    """(id or what was asked, display name) for every target, in order; one list call."""
    out: list[tuple[str, str] | None] = [None] * len(targets)
    wanted: dict[int, str] = {}
    for i, target in enumerate(targets):
        if isinstance(target, str):
            wanted[i] = target
        else:  # a ContainerSummary (or anything with .id and .name, e.g. a docker-py Container)
            out[i] = (str(target.id), clean_field(str(getattr(target, "name", "") or target.id)))
    if wanted:
        try:
            known = engine.list_containers()
        except Exception:
            known = []
        for i, ref in wanted.items():
            ref_clean = ref.lstrip("/")
            match = next(
                (c for c in known if c.id.startswith(ref_clean) or c.name == ref_clean), None
            )
            out[i] = (match.id, match.name) if match else (ref, display_ref(ref_clean))
    return [item for item in out if item is not None]


def display_ref(ref: str) -> str:
    """A full hex id shortened to 12 characters; a name as given."""
    ref = clean_field(ref)
    return ref[:12] if re.fullmatch(r"[0-9a-f]{13,64}", ref) else ref


def run_action(
    engine: Engine,
    action: ContainerAction,
    ids: Iterable[str | ContainerSummary | Any],
    on_result: Callable[[ActionResult], None] | None = None,
    *,
    force: bool = False,
    timeout: int | None = None,
    workers: int = DEFAULT_WORKERS,
) -> list[ActionResult]:
    """Run `action` on every container in `ids` (ids, names, or ContainerSummary objects)
    concurrently, at most `workers` at a time. `on_result` is called from a pool thread as
    each one finishes; the return value lists every result in the order asked.

    `force` applies to removal (kill a running container first); `timeout` is the stop /
    restart grace period in seconds (the container's own StopTimeout, else 10 s, if None)."""
    action = ContainerAction(action)
    targets = _resolve(engine, list(ids))
    if not targets:
        return []

    def one(target: tuple[str, str]) -> ActionResult:
        cid, name = target
        try:
            _call(engine, action, cid, force, timeout)
            result = ActionResult(cid, name, True, f"{name} {action.past}", action)
        except Exception as exc:
            result = ActionResult(cid, name, False, explain_refusal(exc, name), action)
        if on_result is not None:
            try:
                on_result(result)
            except Exception:
                pass  # a broken consumer must not lose the other results
        return result

    if len(targets) == 1:
        return [one(targets[0])]
    with ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(targets))), thread_name_prefix="dockui-action"
    ) as pool:
        return list(pool.map(one, targets))


# -- exec a shell ----------------------------------------------------------------------------
def docker_cli_path() -> str | None:
    """The docker CLI to run: Debian's /usr/bin/docker first (it matches a distro engine;
    a newer one on PATH may speak an API the engine refuses, which DOCKER_API_VERSION fixes)."""
    if os.access("/usr/bin/docker", os.X_OK):
        return "/usr/bin/docker"
    return shutil.which("docker")


def cli_env(engine: Engine, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that points the docker CLI at this engine, at its API version.
    Uses `Engine.cli_env()` when the engine has one (it knows a context's TLS files)."""
    own = getattr(engine, "cli_env", None)
    if callable(own):
        return dict(own(environ))
    env = dict(os.environ if environ is None else environ)
    env["DOCKER_HOST"] = engine.info.host
    env["DOCKER_API_VERSION"] = engine.info.api_version
    env.pop("DOCKER_CONTEXT", None)  # DOCKER_HOST says where; a context would contradict it
    return env


def has_program(engine: Engine, container: str, program: str) -> bool:
    """Whether `program` runs in the (running) container: a quick exec of `program -c 'exit 0'`."""
    exec_id = engine.api.exec_create(container, [program, "-c", "exit 0"], stdout=True)["Id"]
    engine.api.exec_start(exec_id)
    return engine.api.exec_inspect(exec_id).get("ExitCode") == 0


def exec_shell_command(
    engine: Engine, container: str | ContainerSummary, *, shell: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """(argv, env) for `docker exec -it ID bash` (or `sh` when the container has no bash).

    Run it in the real terminal with the TUI suspended (`with app.suspend(): subprocess.run(
    argv, env=env)`). Raises OperationError with a sentence when the container is not running,
    is paused, is gone, or no docker CLI is installed."""
    if isinstance(container, ContainerSummary):
        cid, name = container.id, container.name
    else:
        cid, name = _resolve(engine, [container])[0]
    cli = docker_cli_path()
    if cli is None:
        raise OperationError("No docker CLI is installed: install it to open a shell")
    if shell is None:
        try:
            shell = "bash" if has_program(engine, cid, "bash") else "sh"
        except Exception as exc:
            raise OperationError(explain_refusal(exc, name)) from exc
    return [cli, "exec", "-it", cid, shell], cli_env(engine)


# -- compose projects --------------------------------------------------------------------------
def _service_key(container: ContainerSummary) -> tuple[str, int, str]:
    number = container.label(COMPOSE_NUMBER_LABEL) or "0"
    return (
        container.label(COMPOSE_SERVICE_LABEL) or "",
        int(number) if number.isdigit() else 0,
        container.name,
    )


def group_by_project(
    containers: Iterable[ContainerSummary],
) -> dict[str | None, list[ContainerSummary]]:
    """Containers by compose project label: projects in name order, then None (no project);
    inside a project by service and replica number, elsewhere by name."""
    groups: dict[str | None, list[ContainerSummary]] = {}
    for c in containers:
        groups.setdefault(c.compose_project, []).append(c)
    ordered: dict[str | None, list[ContainerSummary]] = {}
    for project in sorted(p for p in groups if p is not None):
        ordered[project] = sorted(groups[project], key=_service_key)
    if None in groups:
        ordered[None] = sorted(groups[None], key=lambda c: c.name)
    return ordered


def project_action(
    engine: Engine,
    action: ContainerAction,
    project: str,
    containers: Iterable[ContainerSummary],
    on_result: Callable[[ActionResult], None] | None = None,
    **kwargs: Any,
) -> list[ActionResult]:
    """`action` on every container of compose `project` that it applies to (stopping skips
    the exited ones, unpausing the unpaused, ...). Keyword arguments go to `run_action`."""
    members = [
        c
        for c in containers
        if c.compose_project == project and applicable(ContainerAction(action), c)
    ]
    return run_action(engine, action, members, on_result, **kwargs)
