"""Daily operations, app side: inspect, housekeeping, and image remove / tag / prune.

`Ops(app)` is the controller between the screens and the engine. The app calls its entry
points (`open_inspect`, `open_housekeeping`, `remove_image`, `tag_image`,
`prune_dangling_images`); the inspect and housekeeping screens call its `request_*` methods.
Every engine call runs in a thread worker (`app.run_worker(..., thread=True)`), and results go
back to the screen with `app.call_from_thread`. Every engine error becomes one sentence in a
notification or on the screen, never a traceback. Destructive requests ask first (a prune says
how much it will free), and all of them are refused while the app runs read-only.

What it needs from the app: `engine` (an Engine, or None while disconnected), `read_only`,
`run_worker`, `call_from_thread`, `push_screen`, `notify`; and, when there, `containers` and
`images` (dicts by id, for names and tags) and `stats_history(container_id)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dockui import format as fmt
from dockui.engine.actions import OperationError, display_ref, name_list
from dockui.engine.errors import describe_error
from dockui.engine.housekeeping import (
    DiskUsage,
    NetworkSummary,
    PrunePreview,
    PruneResult,
    VolumeSummary,
    disk_usage,
    list_networks,
    list_volumes,
    prune,
    prune_preview,
    remove_network,
    remove_volume,
    tag_image,
    validate_reference,
)
from dockui.engine.housekeeping import remove_image as engine_remove_image
from dockui.engine.inspect import ContainerDetails, ProcessList, inspect_container, top
from dockui.screens.confirm import ConfirmScreen
from dockui.screens.housekeeping import HousekeepingScreen
from dockui.screens.inspect import InspectScreen
from dockui.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from textual.app import App

    from dockui.engine.client import Engine
    from dockui.engine.stats import StatsSample

GONE = "container removed"
_PRUNE_TITLES = {
    "images": "Prune dangling images",
    "containers": "Prune stopped containers",
    "volumes": "Prune unused volumes",
    "networks": "Prune unused networks",
    "build_cache": "Prune build cache",
}
_RESULT_NOUNS = {
    "images": ("image", "images"),
    "containers": ("container", "containers"),
    "volumes": ("volume", "volumes"),
    "networks": ("network", "networks"),
    "build_cache": ("build cache entry", "build cache entries"),
}


def is_gone(exc: BaseException) -> bool:
    """Whether an engine error says the object no longer exists (404)."""
    for e in (exc, exc.__cause__):
        if e is not None and getattr(e, "status_code", None) == 404:
            return True
    return "no longer exists" in str(exc)


def sentence(exc: BaseException) -> str:
    """One sentence for any error: OperationError already is one."""
    return str(exc) if isinstance(exc, OperationError) else describe_error(exc)


def freed_sentence(result: PruneResult, preview: PrunePreview | None = None) -> str:
    """ "Freed 12.3 MB (4 images)", "Removed 2 networks", "Nothing was pruned." """
    count = result.count
    if result.kind == "images" and preview is not None and preview.items:
        # The engine lists the image and each of its layers as "Deleted": count images only.
        wanted = set(preview.items)
        images = sum(1 for d in result.removed if d.removeprefix("sha256:")[:12] in wanted)
        count = images or min(count, preview.count)
    singular, plural = _RESULT_NOUNS.get(result.kind, ("object", "objects"))
    noun = singular if count == 1 else plural
    if result.kind == "networks":
        return f"Removed {count} {noun}" if count else "Nothing was pruned: no unused networks."
    if not count and not result.space_reclaimed:
        return f"Nothing was pruned: no {plural} to remove."
    return f"Freed {fmt.size(result.space_reclaimed)} ({count} {noun})"


class Ops:
    """Inspect, housekeeping and image operations for `app` (see the module doc)."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self._seen: set[str] = set()  # containers the app listed while inspected

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine | None:
        return getattr(self.app, "engine", None)

    def _engine_or_say(self) -> Engine | None:
        engine = self.engine
        if engine is None:
            self._note("Not connected to the engine.", "error")
        return engine

    def _refused(self, what: str) -> bool:
        """True (and says so) when the app is read-only: `what` is e.g. "Removing a volume"."""
        if getattr(self.app, "read_only", False):
            self._note(f"{what} is disabled: dockui runs read-only.", "warning")
            return True
        return False

    def _work(self, fn: Callable[[], None], group: str) -> None:
        self.app.run_worker(fn, thread=True, group=group, exit_on_error=False)

    def _back(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `fn` on the UI thread (from a worker); quietly nothing if the app has ended."""
        try:
            self.app.call_from_thread(fn, *args, **kwargs)
        except RuntimeError:
            pass  # the app is gone (quit while the engine answered)

    def _note(self, text: str, severity: str = "information", timeout: float | None = None) -> None:
        """Notify on the UI thread. The text is plain: the engine's words are not markup."""
        kwargs: dict[str, Any] = {"severity": severity, "markup": False}
        if timeout is not None:
            kwargs["timeout"] = timeout
        self.app.notify(text, **kwargs)

    def _say(self, text: str, severity: str = "information", timeout: float | None = None) -> None:
        """Notify from a worker thread."""
        self._back(self._note, text, severity, timeout)

    def _name(self, container_id: str) -> str:
        container = (getattr(self.app, "containers", None) or {}).get(container_id)
        return container.name if container is not None else display_ref(container_id)

    def _confirm(
        self,
        title: str,
        body: str,
        on_yes: Callable[[], None],
        *,
        confirm: str = "Yes",
        danger: bool = True,
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                on_yes()

        self.app.push_screen(ConfirmScreen(title, body, confirm=confirm, danger=danger), answered)

    # -- inspect ----------------------------------------------------------------------------------
    def open_inspect(self, container_id: str, *, tab: str = "overview") -> None:
        """Inspect the container (one request in a worker), then open its detail screen."""
        engine = self._engine_or_say()
        if engine is None:
            return
        name = self._name(container_id)

        def load() -> None:
            try:
                details = inspect_container(engine, container_id, name=name)
            except Exception as exc:
                self._say(sentence(exc), "error")
                return
            self._back(self._show_inspect, details, tab)

        self._work(load, "ops-inspect")

    def _show_inspect(self, details: ContainerDetails, tab: str) -> None:
        screen = InspectScreen(details, self, tab=tab)
        stats_history = getattr(self.app, "stats_history", None)
        if callable(stats_history):
            screen.samples = tuple(stats_history(details.id))
        self.app.push_screen(screen)

    def stats_targets(self) -> list[str]:
        """Containers whose inspect screen is open: the stats poller should sample them
        even while the list that shows them is covered."""
        return [
            s.container_id
            for s in self.app.screen_stack
            if isinstance(s, InspectScreen) and not s.gone and s.details.running
        ]

    def request_details(
        self, screen: InspectScreen, container_id: str, *, quiet: bool = False
    ) -> None:
        """Re-read the inspect document; `quiet` for a periodic re-read (errors stay quiet
        and the JSON tree is left alone)."""
        engine = self.engine
        if engine is None:
            if not quiet:
                screen.show_error("not connected to the engine")
            return
        name = screen.details.name

        def load() -> None:
            try:
                details = inspect_container(engine, container_id, name=name)
            except Exception as exc:
                if is_gone(exc):
                    self._back(self._if_attached, screen, screen.show_gone, GONE)
                elif not quiet:
                    self._back(self._if_attached, screen, screen.show_error, sentence(exc))
                return
            self._back(self._if_attached, screen, screen.show_details, details, live=quiet)

        self._work(load, f"ops-details-{container_id[:12]}")

    def request_processes(self, screen: InspectScreen, container_id: str) -> None:
        engine = self.engine
        if engine is None:
            screen.show_processes_error("Not connected to the engine.")
            return
        name = screen.details.name

        def load() -> None:
            try:
                processes: ProcessList = top(engine, container_id, name=name)
            except Exception as exc:
                if is_gone(exc):
                    self._back(self._if_attached, screen, screen.show_gone, GONE)
                else:
                    self._back(
                        self._if_attached, screen, screen.show_processes_error, sentence(exc)
                    )
                return
            self._back(self._if_attached, screen, screen.show_processes, processes)

        self._work(load, f"ops-top-{container_id[:12]}")

    def request_stats(self, screen: InspectScreen, container_id: str) -> None:
        """Push the recent samples the app's stats poller holds (no engine request here);
        notices a container the app's list no longer has."""
        containers = getattr(self.app, "containers", None)
        if isinstance(containers, Mapping):
            if container_id in containers:
                self._seen.add(container_id)
            elif container_id in self._seen and getattr(self.app, "connected", True):
                self._seen.discard(container_id)
                screen.show_gone(GONE)
                return
        stats_history = getattr(self.app, "stats_history", None)
        samples: tuple[StatsSample, ...] = ()
        if callable(stats_history):
            samples = tuple(stats_history(container_id))
        if samples != screen.samples:
            screen.show_stats(samples)

    def container_removed(self, container_id: str) -> None:
        """The app saw the container go: its open inspect screens say so."""
        for s in self.app.screen_stack:
            if isinstance(s, InspectScreen) and s.container_id == container_id:
                s.show_gone(GONE)

    @staticmethod
    def _if_attached(screen: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if screen.is_attached:
            fn(*args, **kwargs)

    # -- housekeeping -----------------------------------------------------------------------------
    def open_housekeeping(self, *, label_filter: str | None = None, tab: str = "usage") -> None:
        """Disk usage, volumes and networks. `label_filter` ("key=value") restricts the lists
        and every prune to objects with that label (the tests use dockui.test=1)."""
        self.app.push_screen(HousekeepingScreen(self, label_filter=label_filter, tab=tab))

    def request_housekeeping(self, screen: HousekeepingScreen) -> None:
        """Load networks and volumes (quick), then disk usage and volume sizes (one `df`,
        which can take seconds on a big host)."""
        engine = self.engine
        if engine is None:
            screen.show_error("Not connected to the engine.")
            return
        filters = screen.filters

        def load() -> None:
            try:
                networks = list_networks(engine, filters, with_containers=True)
            except Exception as exc:
                self._back(self._if_attached, screen, screen.show_error, sentence(exc), "networks")
            else:
                self._back(self._if_attached, screen, screen.show_networks, networks)
            try:
                volumes = list_volumes(engine, filters)
            except Exception as exc:
                self._back(self._if_attached, screen, screen.show_error, sentence(exc), "volumes")
                volumes = None
            else:
                self._back(self._if_attached, screen, screen.show_volumes, volumes)
            try:
                usage = disk_usage(engine)
            except Exception as exc:
                self._back(self._if_attached, screen, screen.show_error, sentence(exc), "usage")
                return
            self._back(self._if_attached, screen, screen.show_usage, usage)
            if volumes is not None:
                self._back(
                    self._if_attached, screen, screen.show_volumes, with_usage(volumes, usage)
                )

        self._work(load, "ops-housekeeping")

    def request_remove_volume(self, screen: HousekeepingScreen, volume: VolumeSummary) -> None:
        if self._refused("Removing a volume"):
            return
        engine = self._engine_or_say()
        if engine is None:
            return
        body = f"Remove volume {volume.name}? Its data is deleted for good."
        if volume.in_use:
            body += f" It is in use by {volume.ref_count} container(s): the engine will refuse."

        def go() -> None:
            try:
                remove_volume(engine, volume.name)
            except Exception as exc:
                self._say(sentence(exc), "error")
            else:
                self._say(f"Removed volume {volume.name}")
            self._back(self._refresh, screen)

        self._confirm("Remove volume", body, lambda: self._work(go, "ops-remove"), confirm="Remove")

    def request_remove_network(self, screen: HousekeepingScreen, network: NetworkSummary) -> None:
        if network.builtin:
            self._note(f"{network.name} is built in and cannot be removed.", "warning")
            return
        if self._refused("Removing a network"):
            return
        engine = self._engine_or_say()
        if engine is None:
            return
        body = f"Remove network {network.name} ({network.short_id})?"
        if network.containers:
            body += f" {network.containers} container(s) are attached: the engine will refuse."

        def go() -> None:
            try:
                remove_network(engine, network.id)
            except Exception as exc:
                self._say(sentence(exc).replace(network.id, network.name), "error")
            else:
                self._say(f"Removed network {network.name}")
            self._back(self._refresh, screen)

        self._confirm(
            "Remove network", body, lambda: self._work(go, "ops-remove"), confirm="Remove"
        )

    def _refresh(self, screen: HousekeepingScreen | None) -> None:
        if screen is not None and screen.is_attached:
            self.request_housekeeping(screen)

    # -- prune ------------------------------------------------------------------------------------
    def request_prune(
        self,
        screen: HousekeepingScreen | None,
        kind: str,
        *,
        filters: Mapping[str, Any] | None = None,
    ) -> None:
        """Say what a prune of `kind` will free, ask, prune, and say what it freed. The
        filters are the screen's (its label filter) unless given."""
        what = _PRUNE_TITLES.get(kind, f"Prune {kind}").replace("Prune", "Pruning", 1)
        if self._refused(what):
            return
        if filters is None and screen is not None:
            filters = screen.filters
        if kind == "build_cache" and filters:
            self._note(
                "Build cache entries carry no labels: this view only prunes labelled objects.",
                "warning",
            )
            return
        engine = self._engine_or_say()
        if engine is None:
            return

        def preview() -> None:
            try:
                found = prune_preview(engine, kind, filters)
            except Exception as exc:
                self._say(sentence(exc), "error")
                return
            self._back(self._ask_prune, screen, kind, filters, found)

        self._work(preview, "ops-prune")

    def _ask_prune(
        self,
        screen: HousekeepingScreen | None,
        kind: str,
        filters: Mapping[str, Any] | None,
        preview: PrunePreview,
    ) -> None:
        if not preview.items:
            self._note(preview.sentence(), timeout=4)
            return
        body = preview.sentence()
        body += f"\n\n{name_list(list(preview.items), 8)}"
        if filters:
            body += f"\n\nOnly objects matching {_describe_filters(filters)}."
        engine = self.engine

        def go() -> None:
            if engine is None:
                self._say("Not connected to the engine.", "error")
                return
            try:
                result = prune(engine, kind, filters)
            except Exception as exc:
                self._say(sentence(exc), "error")
            else:
                self._say(freed_sentence(result, preview), timeout=8)
            self._back(self._refresh, screen)

        title = _PRUNE_TITLES.get(kind, f"Prune {kind}")
        self._confirm(title, body, lambda: self._work(go, "ops-prune"), confirm="Prune")

    # -- images -----------------------------------------------------------------------------------
    def _tags(self, image_id: str) -> tuple[str, ...]:
        image = (getattr(self.app, "images", None) or {}).get(image_id)
        return tuple(image.tags) if image is not None else ()

    def remove_image(self, image_id: str, display: str, force: bool = False) -> None:
        """Ask, naming the image and its tags, then remove it. Without force, an image with
        several tags loses only the tag it is shown by (`docker rmi repo:tag`)."""
        if self._refused("Removing an image"):
            return
        engine = self._engine_or_say()
        if engine is None:
            return
        tags = self._tags(image_id)
        short = image_id.removeprefix("sha256:")[:12]
        if not force and len(tags) > 1 and display in tags:
            target = display
            others = [t for t in tags if t != display]
            title, verb = "Untag image", "Untag"
            body = (
                f"Untag {display}? The image {short} stays with its other tags: "
                f"{name_list(others)}."
            )
        else:
            target = image_id
            title, verb = "Remove image", "Remove"
            shown = display if display and display != short else short
            body = f"Remove image {shown} ({short})?"
            if tags:
                body += f" Tags: {name_list(list(tags))}."
            if force:
                body += " Forced: every tag goes, even if a stopped container uses the image."

        def go() -> None:
            try:
                removal = engine_remove_image(engine, target, force=force)
            except Exception as exc:
                self._say(sentence(exc), "error")
                return
            if removal.deleted:
                self._say(f"Removed image {display or short}")
            elif removal.untagged:
                self._say(f"Untagged {name_list(list(removal.untagged))}")
            else:
                self._say(f"{display or short}: the engine removed nothing")

        self._confirm(title, body, lambda: self._work(go, "ops-image"), confirm=verb)

    def tag_image(self, image_id: str, display: str) -> None:
        """Ask for the new reference (checked as it is typed), then tag."""
        if self._refused("Tagging an image"):
            return
        engine = self._engine_or_say()
        if engine is None:
            return
        short = image_id.removeprefix("sha256:")[:12]
        shown = display or short
        start = display if display and display != short and "<none>" not in display else ""

        def answered(reference: str | None) -> None:
            if not reference:
                return
            problem = validate_reference(reference)
            if problem:  # the prompt checks too; the engine never sees a bad reference
                self._note(problem, "error")
                return

            def go() -> None:
                try:
                    full = tag_image(engine, image_id, reference)
                except Exception as exc:
                    self._say(sentence(exc), "error")
                    return
                self._say(f"Tagged {shown} as {full}")

            self._work(go, "ops-image")

        self.app.push_screen(
            PromptScreen(
                f"Tag {shown} as",
                start,
                placeholder="repository[:tag], e.g. myapp:1.0",
                hint="Enter tags · Esc cancels · no tag means :latest",
                check=validate_reference,
            ),
            answered,
        )

    def prune_dangling_images(self, *, filters: Mapping[str, Any] | None = None) -> None:
        """Say how much pruning the dangling images frees, ask, prune, say what it freed."""
        self.request_prune(None, "images", filters=filters)


# -- helpers ------------------------------------------------------------------------------------
def with_usage(volumes: Sequence[VolumeSummary], usage: DiskUsage) -> list[VolumeSummary]:
    """The volumes with size and users from a disk-usage payload (saves a second `df`)."""
    data: dict[str, dict[str, Any]] = {}
    for raw in usage.raw.get("Volumes") or ():
        data[str(raw.get("Name"))] = raw.get("UsageData") or {}
    out = []
    for volume in volumes:
        found = data.get(volume.name)
        if found is None:
            out.append(volume)
            continue
        size, refs = found.get("Size"), found.get("RefCount")
        out.append(
            replace(
                volume,
                size=int(size) if size is not None and size >= 0 else None,
                ref_count=int(refs) if refs is not None and refs >= 0 else None,
            )
        )
    return out


def _describe_filters(filters: Mapping[str, Any]) -> str:
    parts = []
    for key, value in filters.items():
        values = [value] if isinstance(value, str) else list(value)
        parts += [f"{key}={v}" for v in values]
    return ", ".join(parts)
