"""The dockui App: owns the engine connection, starts workers, routes messages.

Nothing here blocks the event loop: the watcher, log followers and history lookups
run in threads and post messages back (Textual's post_message is thread-safe).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Grid
from textual.driver import Driver
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable

from dockui import __version__
from dockui.engine.client import Engine
from dockui.engine.errors import describe_error
from dockui.engine.logs import LogLine, fetch_logs, save_logs, write_lines
from dockui.engine.models import ContainerSummary, ImageSummary, Layer
from dockui.engine.watch import (
    Connected,
    ContainersChanged,
    Disconnected,
    ImagesChanged,
    Relay,
    Watcher,
    WatchUpdate,
)
from dockui.logsession import LogSession
from dockui.messages import (
    ContainersUpdated,
    EngineConnected,
    EngineDisconnected,
    ImagesUpdated,
    LayersLoaded,
    LogEnded,
    LogsReady,
    StatsSampled,
    merge_updates,
)
from dockui.screens.engine_down import EngineDownScreen
from dockui.screens.help import HelpScreen
from dockui.widgets.keybar import KeyBar
from dockui.widgets.logs import LogsPane
from dockui.widgets.logview import LogView
from dockui.widgets.panes import (
    ContainersPane,
    ImagesPane,
    LayersPane,
    ListPane,
    ProjectRow,
    state_label,
)
from dockui.widgets.status import StatusLine

if TYPE_CHECKING:  # features load when first used: dockui starts faster without them
    from dockui.engine.build import Build
    from dockui.engine.layers import ImageAnalysis
    from dockui.engine.run import RunResult
    from dockui.ops import Ops
    from dockui.recent import RecentBuilds
    from dockui.registry_ops import RegistryOps
    from dockui.screens.audit import AuditScreen
    from dockui.screens.build import BuildScreen
    from dockui.screens.layers import LayerScreen
    from dockui.screens.run import RunScreen


def binding_ids() -> set[str]:
    """Every binding id a settings file may remap (`[keys]` in config.toml)."""
    from dockui.screens.audit import AuditScreen
    from dockui.screens.build import BuildScreen
    from dockui.screens.catalog import CatalogScreen
    from dockui.screens.layers import LayerScreen
    from dockui.screens.login import LoginScreen
    from dockui.screens.run import RunScreen
    from dockui.screens.transfer import TransferScreen

    classes = [DockuiApp, ContainersPane, ImagesPane, LayersPane, ListPane, LogsPane]
    classes += [BuildScreen, LayerScreen, RunScreen, EngineDownScreen, AuditScreen]
    classes += [TransferScreen, LoginScreen, CatalogScreen]
    ids = set()
    for cls in classes:
        for binding in cls.BINDINGS:
            binding_id = getattr(binding, "id", None)
            if binding_id:
                ids.add(binding_id)
    return ids


SELECT_DELAY = 0.15  # seconds the cursor must rest before logs/layers follow it
TICK_EVERY = 1.0  # re-render relative times that show seconds (uptime under a minute)
CONTAINERS_APPLY_EVERY = 0.3  # s between two container-list updates in a burst
# ... and while updates keep coming (a burst of hundreds of removals goes on for many
# seconds on the engine, a compose project takes seconds to start): each update re-sorts
# and repaints the list, work that key presses wait behind. A lone change after a quiet
# spell still shows at once.
CONTAINERS_BURST_EVERY = 1.0
# s between two hand-overs of queued log lines to the Logs pane. A stream of thousands of
# lines a second is shown as 20 frames a second: each hand-over scrolls and repaints the
# pane, and at Textual's 60 frames the repaints alone kept the UI thread busy (key
# presses waited behind them). A line after a quiet spell is shown at once.
LOGS_DRAIN_EVERY = 0.05
FULL_TICK_EVERY = 30  # ticks between re-rendering every row's relative time


class Cadence:
    """Runs `action` at most every `every` seconds: the first request after a quiet spell
    at once, the requests that come sooner together when the interval is up. `run()`
    runs it now (and cancels what was due)."""

    def __init__(self, app: App[Any], every: float, action: Callable[[], None]) -> None:
        self._app = app
        self.every = every
        self._action = action
        self._timer: Timer | None = None
        self._last = 0.0

    def request(self) -> None:
        if self._timer is not None:
            return  # already due
        wait = self._last + self.every - time.monotonic()
        if wait <= 0:
            self.run()
        else:
            self._timer = self._app.set_timer(wait, self.run)

    def run(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._last = time.monotonic()
        self._action()


class MainScreen(Screen[None]):
    """The four panes. Textual's Screen repaints all of itself whenever the focus moves
    (`focused` is a repainting reactive): a full-screen render on every Tab. What looks
    different with focus repaints itself: the panes' borders (`:focus-within` restyles
    them), the tables' cursors (blur/focus) and the key bar (its bindings changed)."""

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)


class DockuiApp(App[None]):
    CSS_PATH = "dockui.tcss"
    TITLE = "dockui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("r", "retry", "Reconnect", show=False, id="retry"),
        Binding("E", "switch_engine", "Engines", id="engines"),
        Binding("H", "housekeeping", "Housekeeping", id="housekeeping", show=False),
        Binding("tab", "focus_next", "Pane", id="next_pane", priority=True),
        Binding("shift+tab", "focus_previous", "Prev pane", show=False, priority=True),
    ]

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, but on POSIX terminals one whose input thread sleeps while idle."""
        driver = super().get_driver_class()
        if driver.__module__ == "textual.drivers.linux_driver" and driver.__name__ == "LinuxDriver":
            from dockui.driver import QuietLinuxDriver  # imports termios: POSIX only

            return QuietLinuxDriver
        return driver

    def __init__(
        self,
        host: str | None = None,
        *,
        log_tail: int = 1000,
        log_lines: int = 10_000,
        read_only: bool = False,
        keymap: dict[str, str] | None = None,
        context: str | None = None,
        settings: Any = None,
        watcher_factory: Callable[[Callable[[WatchUpdate], None], str | None], Watcher]
        | None = None,
        prestarted: tuple[Watcher, Relay] | None = None,
    ) -> None:
        super().__init__()
        self.host = host
        self.read_only_flag = read_only  # --read-only: every engine, whatever the settings say
        self.read_only = read_only
        self.context = context
        self.settings = settings
        self._user_keymap = dict(keymap or {})
        self.log_tail = log_tail
        self._watcher_factory = watcher_factory or self._default_watcher
        # A watcher the command line started before Textual loaded (see Relay).
        self._prestarted = prestarted
        self.watcher: Watcher | None = None
        self.containers: dict[str, ContainerSummary] = {}
        self.images: dict[str, ImageSummary] = {}
        self.layer_cache: dict[str, list[Layer]] = {}
        self.log_session = LogSession(
            lambda: self.post_message(LogsReady()),
            lambda cid, reason: self.post_message(LogEnded(cid, reason)),
            tail=log_tail,
        )
        self.log_lines = log_lines
        self._history_loading = False
        self._ticks = 0
        self.analyses: dict[str, ImageAnalysis] = {}
        self._recent: RecentBuilds | None = None
        self._build: Build | None = None
        self._select_when_seen: str | None = None
        self._stats = None
        self._ops: Ops | None = None
        self._registry_ops: RegistryOps | None = None
        self._stats_targets: tuple[str, ...] = ()
        self._stats_dirty: set[str] = set()
        # Container updates are applied at most every CONTAINERS_APPLY_EVERY: in a burst
        # (500 removals, a compose project starting) they are merged, not repainted each.
        self._pending_containers: list[ContainersUpdated] = []
        self._containers_applied = 0.0  # monotonic time of the last apply
        self._containers_cadence = Cadence(
            self, CONTAINERS_APPLY_EVERY, lambda: self._apply_containers()
        )
        self._logs_cadence = Cadence(self, LOGS_DRAIN_EVERY, lambda: self._drain_logs())
        self._analysis_cancel: dict[str, threading.Event] = {}
        self._audit_cancel: dict[str, threading.Event] = {}
        self._history_done: float | None = None
        self.connected = False
        self._down_screen: EngineDownScreen | None = None
        self._select_timers: dict[str, Timer] = {}
        self._layers_for: str | None = None

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Kept as attributes: the app talks to them while other screens are on top.
        self.status = StatusLine(id="status")
        self.containers_pane = ContainersPane(id="containers")
        self.images_pane = ImagesPane(id="images")
        self.logs_pane = LogsPane(max_lines=self.log_lines, id="logs")
        self.layers_pane = LayersPane(id="layers")
        yield self.status
        with Grid(id="panes"):
            yield self.containers_pane
            yield self.images_pane
            yield self.logs_pane
            yield self.layers_pane
        yield KeyBar()

    @property
    def engine(self) -> Engine | None:
        return self.watcher.engine if self.watcher else None

    def _default_watcher(
        self, callback: Callable[[WatchUpdate], None], host: str | None
    ) -> Watcher:
        from dockui.engine.client import connect

        context = self.context

        def connector(address: str | None) -> Engine:
            return connect(address, context=context)

        return Watcher(callback, host, connector=connector)

    def on_mount(self) -> None:
        self._install_signal_handlers()
        if self._user_keymap:
            self.set_keymap(self._user_keymap)
        self.sub_title = __version__
        self.status.read_only = self.read_only
        self.status.redraw()
        self.containers_pane.focus()
        if self._prestarted is not None:
            self.watcher, relay = self._prestarted
            self._prestarted = None
            relay.attach(self._on_watch_update)
        else:
            self.watcher = self._watcher_factory(self._on_watch_update, self.host)
            self.watcher.start()
        self._start_stats()
        self.set_interval(TICK_EVERY, self._tick)
        self.call_after_refresh(self._freeze_heap)

    def _freeze_heap(self) -> None:
        """Move what exists now (Textual, the widgets, the lists) out of the cyclic
        garbage collector's sight. Its full collections walked every object: with logs
        streaming they came every ~5 s and froze the UI for 80-110 ms each (measured),
        the slowest key presses. Called after the first frame and after each first list;
        objects made later are collected as usual, and plain reference counting still
        frees frozen ones."""
        gc.freeze()

    def _install_signal_handlers(self) -> None:
        """SIGHUP (the SSH session dropped) and SIGTERM end dockui cleanly: the terminal is
        restored, streams closed, threads stopped — no orphans, no traceback."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests) or not supported here

    def _on_signal(self, sig: int) -> None:
        self.log(f"signal {sig}: exiting")
        self.exit(return_code=0)

    def on_resize(self) -> None:
        narrow = self.size.width < 100
        self.screen.set_class(narrow, "-narrow")

    def on_unmount(self) -> None:
        self.log_session.close()
        if self._registry_ops is not None:
            self._registry_ops.cancel_all()
        if self._stats is not None:
            self._stats.close(timeout=0)
        if self.watcher:
            self.watcher.stop(timeout=0)

    # -- from the watcher thread -----------------------------------------------------------
    def _on_watch_update(self, update: WatchUpdate) -> None:
        if isinstance(update, Connected):
            self.post_message(EngineConnected(update.info))
        elif isinstance(update, Disconnected):
            self.post_message(
                EngineDisconnected(
                    update.error, update.retry_in, update.attempt, update.was_connected
                )
            )
        elif isinstance(update, ContainersChanged):
            self.post_message(ContainersUpdated(update.upserts, update.removed, update.full))
        elif isinstance(update, ImagesChanged):
            self.post_message(ImagesUpdated(update.upserts, update.removed, update.full))

    # -- engine state ---------------------------------------------------------------------
    def on_engine_connected(self, message: EngineConnected) -> None:
        reconnected = not self.connected
        self.connected = True
        info = message.info
        context = getattr(info, "context", "default")
        self._apply_context_settings(context)
        self.status.set_connected(getattr(info, "display", "") or info.host, info.label)
        self.screen.remove_class("-stale")
        if self._down_screen is not None:
            self._down_screen.dismiss()
            self._down_screen = None
        if reconnected and self.log_session.targets and self.engine is not None:
            # Resume the streams that were open when the engine went away.
            for cid in self.log_session.ids():
                if self.log_session.resume(self.engine, cid, self._started(cid)):
                    self._log_note(self.log_session.targets[cid].name, "reconnected")

    def on_engine_disconnected(self, message: EngineDisconnected) -> None:
        self.connected = False
        error = message.error
        self.status.set_disconnected(
            error.host, f"{error.reason} (retry in {message.retry_in:.0f} s)"
        )
        if message.was_connected:
            self.screen.add_class("-stale")
            return
        if self._down_screen is None:
            self._down_screen = EngineDownScreen()
            self.push_screen(self._down_screen)
        self._down_screen.show(
            error.host, error.reason, error.hint, message.retry_in, message.attempt
        )

    def on_containers_updated(self, message: ContainersUpdated) -> None:
        self._pending_containers.append(message)
        self._containers_cadence.request()

    def _apply_containers(self) -> None:
        pending, self._pending_containers = self._pending_containers, []
        if not pending:
            return
        now = time.monotonic()
        # Another apply within a burst interval (and a little): updates keep coming.
        sustained = now - self._containers_applied < CONTAINERS_BURST_EVERY + 0.3
        self._containers_applied = now
        self._containers_changed(merge_updates(pending))
        cadence = self._containers_cadence
        cadence.every = CONTAINERS_BURST_EVERY if sustained else CONTAINERS_APPLY_EVERY

    def _containers_changed(self, message: ContainersUpdated) -> None:
        if message.full:
            self.containers = {c.id: c for c in message.upserts}
        else:
            for cid in message.removed:
                self.containers.pop(cid, None)
            self.containers.update((c.id, c) for c in message.upserts)
        before = self.containers_pane.table.selected_key
        first = message.full and not self.containers_pane.table.objects
        self.containers_pane.update_objects(message.upserts, message.removed, message.full)
        self._update_counts()
        if first:
            self.call_after_refresh(self._freeze_heap)
        if self._select_when_seen:
            self._select_new_container()
        if self._ops is not None:
            for cid in message.removed:
                self._ops.container_removed(cid)
        removed_followed = any(cid not in self.containers for cid in self.log_session.ids())
        self._follow_lifecycle()
        if self.containers_pane.marked - set(self.containers):
            self.containers_pane.marked &= set(self.containers)
        if not removed_followed and self.containers_pane.table.selected_key != before:
            self._schedule_select("containers")

    def on_images_updated(self, message: ImagesUpdated) -> None:
        if message.full:
            self.images = {i.id: i for i in message.upserts}
        else:
            for iid in message.removed:
                self.images.pop(iid, None)
            self.images.update((i.id, i) for i in message.upserts)
        before = self.images_pane.table.selected_key
        first = message.full and not self.images_pane.table.objects
        self.images_pane.update_objects(message.upserts, message.removed, message.full)
        self._update_counts()
        if first:
            self.call_after_refresh(self._freeze_heap)
        if self.images_pane.table.selected_key != before or (
            self._layers_for and self._layers_for not in self.images
        ):
            self._schedule_select("images")

    def _update_counts(self) -> None:
        running = sum(1 for c in self.containers.values() if c.state == "running")
        self.status.set_counts(running, len(self.containers), len(self.images))

    def _tick(self) -> None:
        """Relative times: the rows on screen every second, every row twice a minute.
        Only rows whose text changed are re-rendered: after 500 containers start at once,
        re-rendering every young row each second cost ~19 ms of the UI thread a tick."""
        self._ticks += 1
        self._update_stats_targets()
        if self._stats_dirty:
            dirty, self._stats_dirty = self._stats_dirty, set()
            self.containers_pane.table.rerender(dirty)
        now = time.time()
        every = self._ticks % FULL_TICK_EVERY == 0
        for pane in (self.containers_pane, self.images_pane):
            table = pane.table
            aged = pane.aged(now, None if every else table.visible_keys())
            if aged:
                table.rerender(aged)

    # -- selection follows the cursor, after it rests --------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "containers-table":
            if (
                any(cid not in self.containers for cid in self.log_session.ids())
                and event.row_key.value == self.containers_pane.table.synced_key
            ):
                return  # the cursor moved because the followed row vanished, not the user
            if self.containers_pane.marked:
                return  # marks, not the cursor, choose what the merged view follows
            self._schedule_select("containers")
        elif event.data_table.id == "images-table":
            self._schedule_select("images")

    def _schedule_select(self, which: str, delay: float = SELECT_DELAY) -> None:
        timer = self._select_timers.pop(which, None)
        if timer is not None:
            timer.stop()
        action = self._select_container if which == "containers" else self._select_image
        self._select_timers[which] = self.set_timer(delay, action)

    def _select_container(self) -> None:
        self._retarget_logs()

    def _log_targets(self) -> list[tuple[str, str]]:
        """Marked containers (merged view), else the highlighted one."""
        marked = [
            self.containers[cid] for cid in self.containers_pane.marked if cid in self.containers
        ]
        if marked:
            return [(c.id, c.name) for c in sorted(marked, key=lambda c: c.name)]
        selected = self.containers_pane.table.selected
        if isinstance(selected, ProjectRow):  # a compose project: all its logs, merged
            members = sorted(self.containers_pane.members(selected.project), key=lambda c: c.name)
            return [(c.id, c.name) for c in members]
        return [(selected.id, selected.name)] if selected else []

    def _retarget_logs(self, force: bool = False) -> None:
        targets = self._log_targets()
        ids = tuple(cid for cid, _ in targets)
        if not force and ids == self.log_session.ids() and self.log_session.started():
            return  # the same containers: a stream that ended is resumed by _follow_lifecycle
        self.logs_pane.follow(targets)
        self.log_session.start(self.engine, targets, self._started)

    def _started(self, cid: str) -> float | None:
        """When the container's current state began, as far as the list knows."""
        container = self.containers.get(cid)
        return container.state_since if container is not None else None

    def on_logs_ready(self, message: LogsReady) -> None:
        self._logs_cadence.request()

    def _drain_logs(self) -> None:
        # One add per container per hand-over, however many reads were queued: the pane's
        # work follows the lines that arrived, never the number of socket reads.
        merged = self.log_session.merged
        batches: dict[str, list[LogLine]] = {}
        for cid, lines in self.log_session.drain():
            batches.setdefault(cid, []).extend(lines)
        for cid, lines in batches.items():
            target = self.log_session.targets.get(cid)
            if target is None:
                continue
            if merged:
                self.logs_pane.add_lines(lines, target.name, target.colour)
            else:
                self.logs_pane.add_lines(lines)
        if self.log_session.skipped:
            self.logs_pane.add_note(f"{self.log_session.skipped:,} lines skipped (UI behind)")
            self.log_session.skipped = 0

    def on_log_ended(self, message: LogEnded) -> None:
        self._logs_cadence.run()  # what was read before the end comes first
        target = self.log_session.mark_ended(message.container_id, message.reason)
        if target is None:
            return
        container = self.containers.get(message.container_id)
        if container is None:
            note = "container removed"
        elif message.reason == "log stream ended":
            state, _ = state_label(container)
            note = "container stopped" if container.running else f"container {state}"
        else:
            note = message.reason
        self._log_note(target.name, note)
        self._resume_if_restarted(message.container_id)  # the restart was seen first

    def _log_note(self, name: str, note: str) -> None:
        self.logs_pane.add_note(f"{name}: {note}" if self.log_session.merged else note)

    def _follow_lifecycle(self) -> None:
        """Followed containers that vanished or came back (restart) since the last update."""
        for cid, target in list(self.log_session.targets.items()):
            container = self.containers.get(cid)
            if container is None:
                if target.ended != "removed":
                    target.ended = "removed"
                    # Keep the last words of a removed container on screen until the user moves.
                    self._log_note(target.name, "container removed")
            else:
                self._resume_if_restarted(cid)

    def _resume_if_restarted(self, cid: str) -> None:
        """Re-open the ended stream of a followed container that started again since."""
        target = self.log_session.targets.get(cid)
        container = self.containers.get(cid)
        engine = self.engine
        if (
            target is None
            or container is None
            or engine is None
            or not target.ended
            or container.state != "running"
            or container.state_since == target.started  # the run whose stream ended
        ):
            return
        if self.log_session.resume(engine, cid, container.state_since):
            self._log_note(target.name, "container restarted")

    # -- layer analysis -----------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "containers-table":
            selected = self.containers_pane.table.selected
            if isinstance(selected, ProjectRow):
                self.containers_pane.toggle_project(selected.project)
            else:
                self.action_inspect()
        elif event.data_table.id in ("images-table", "layers-table"):
            image = self.images_pane.table.selected
            if image is not None:
                self.open_layer_screen(image)

    def open_layer_screen(self, image: ImageSummary) -> None:
        from dockui.engine.layers import AnalysisCancelled, analyze_image_stream
        from dockui.screens.layers import LayerScreen

        screen = LayerScreen(image.id, image.display_name, image.size)
        self.push_screen(screen)
        cached = self.analyses.get(image.id)
        if cached is not None:
            screen.call_after_refresh(screen.show_analysis, cached)
            return
        engine = self.engine
        if engine is None:
            screen.call_after_refresh(screen.show_error, "not connected to the engine")
            return
        cancelled = threading.Event()
        self._analysis_cancel[image.id] = cancelled

        def analyse() -> None:
            last = [0.0]

            def progress(done: int) -> None:
                now = time.monotonic()
                if now - last[0] > 0.1:
                    last[0] = now
                    self.call_from_thread(screen.set_progress, done)

            try:
                analysis = analyze_image_stream(
                    engine.export_image(image.id),
                    progress=progress,
                    cancel=cancelled.is_set,
                    hash_contents=True,
                )
            except AnalysisCancelled:
                return
            except Exception as exc:  # the image vanished, the engine went away, a bad tar
                if not cancelled.is_set():
                    self.call_from_thread(screen.show_error, describe_error(exc))
                return
            finally:
                self._analysis_cancel.pop(image.id, None)
            self.call_from_thread(self._analysis_ready, image.id, screen, analysis)

        self.run_worker(analyse, thread=True, group="analysis")

    def _analysis_ready(self, image_id: str, screen: LayerScreen, analysis: ImageAnalysis) -> None:
        self.analyses[image_id] = analysis
        while len(self.analyses) > 3:  # file lists of big images are not small: keep a few
            self.analyses.pop(next(iter(self.analyses)))
        if screen.is_attached:
            screen.show_analysis(analysis)

    def on_layer_screen_cancelled(self, message: LayerScreen.Cancelled) -> None:
        cancel = self._analysis_cancel.get(message.image_id)
        if cancel is not None:
            cancel.set()

    # -- image audit --------------------------------------------------------------------------
    def action_audit_image(self) -> None:
        image = self.images_pane.table.selected
        if image is None:
            self.notify("No image selected.", severity="warning")
        else:
            self.open_audit_screen(image)

    def open_audit_screen(self, image: ImageSummary) -> None:
        """Audit the image from its export (secrets, posture, packages), then hand it to
        trivy/grype if one is installed; both in a worker, both cancelled by Esc."""
        from dockui.engine.audit import audit_image_stream
        from dockui.engine.layers import AnalysisCancelled
        from dockui.engine.scanner import run_scanner
        from dockui.screens.audit import AuditScreen

        screen = AuditScreen(image.id, image.display_name, image.size)
        self.push_screen(screen)
        engine = self.engine
        if engine is None:
            screen.call_after_refresh(screen.show_error, "not connected to the engine")
            return
        audit = getattr(self.settings, "audit", None)
        cancelled = threading.Event()
        self._audit_cancel[image.id] = cancelled
        reference = image.tags[0] if image.tags else image.id

        def work() -> None:
            last = [0.0]

            def progress(done: int) -> None:
                now = time.monotonic()
                if now - last[0] > 0.1:
                    last[0] = now
                    self.call_from_thread(screen.set_progress, done)

            def scan_progress(line: str) -> None:
                now = time.monotonic()
                if now - last[0] > 0.2:
                    last[0] = now
                    self.call_from_thread(screen.set_scanner_progress, line)

            try:
                try:
                    report = audit_image_stream(
                        engine.export_image(image.id),
                        image=image.display_name,
                        image_id=image.id,
                        progress=progress,
                        cancel=cancelled.is_set,
                    )
                except AnalysisCancelled:
                    return
                except Exception as exc:  # the image vanished, the engine went away, a bad tar
                    if not cancelled.is_set():
                        self.call_from_thread(screen.show_error, describe_error(exc))
                    return
                ignore = tuple(getattr(audit, "ignore", ()) or ())
                if ignore:
                    report.findings = [f for f in report.findings if f.rule not in ignore]
                self.call_from_thread(screen.show_report, report)
                tool = getattr(audit, "scanner", "auto") or "auto"
                if tool == "none":
                    from dockui.engine.scanner import SKIPPED, ScanResult

                    result = ScanResult("", SKIPPED, "scanner hand-off is off ([audit] scanner)")
                else:
                    result = run_scanner(
                        reference,
                        tool=tool,
                        timeout=float(getattr(audit, "scanner_timeout", 300.0)),
                        progress=scan_progress,
                        cancel=cancelled.is_set,
                        environ=engine.cli_env(),
                    )
                if not cancelled.is_set():
                    report.scanner = result
                    self.call_from_thread(screen.show_scanner, result)
            finally:
                self._audit_cancel.pop(image.id, None)

        self.run_worker(work, thread=True, group="audit")

    def on_audit_screen_cancelled(self, message: AuditScreen.Cancelled) -> None:
        cancel = self._audit_cancel.get(message.image_id)
        if cancel is not None:
            cancel.set()

    # -- build and run ------------------------------------------------------------------------
    def action_build(self) -> None:
        """The build dialog, prefilled with the last build of this folder."""
        if self._refuse_if_read_only("Building"):
            return
        from dockui.engine.build import BuildRequest
        from dockui.screens.build import BuildScreen

        request = self.recent_builds.last(os.getcwd()) or BuildRequest(context_dir=os.getcwd())
        self.push_screen(BuildScreen(request))

    def action_rebuild(self) -> None:
        """Repeat the last build of this folder (or the last build at all)."""
        if self._refuse_if_read_only("Building"):
            return
        request = self.recent_builds.last(os.getcwd()) or self.recent_builds.last()
        if request is None:
            self.notify("No build to repeat yet: b opens the build dialog.", severity="warning")
            return
        from dockui.screens.build import BuildScreen

        screen = BuildScreen(request)
        self.push_screen(screen)
        screen.call_after_refresh(screen.action_build)

    def on_build_screen_start(self, message: BuildScreen.Start) -> None:
        from dockui.engine.build import Build, BuildEvent, BuildFailed
        from dockui.screens.build import BuildScreen

        screen = self.screen
        engine = self.engine
        if engine is None or not isinstance(screen, BuildScreen):
            if isinstance(screen, BuildScreen):
                screen.post_message(
                    BuildScreen.Event(BuildFailed(None, None, "Not connected to the engine."))
                )
            return
        self.recent_builds.remember(message.request)

        def on_event(event: BuildEvent) -> None:
            screen.post_message(BuildScreen.Event(event))

        self._build = Build(engine, message.request, on_event).start()

    def on_build_screen_cancel(self) -> None:
        if self._build is not None:
            self._build.close()

    def on_build_screen_run_image(self, message: BuildScreen.RunImage) -> None:
        self.screen.dismiss()
        self.open_run_dialog(message.tag)

    def action_run_image(self) -> None:
        image = self.images_pane.table.selected
        if image is None:
            self.notify("Highlight an image to run.", severity="warning")
            return
        self.open_run_dialog(image.tags[0] if image.tags else image.id)

    def open_run_dialog(self, image: str) -> None:
        if self._refuse_if_read_only("Running a container"):
            return
        engine = self.engine
        if engine is None:
            self.notify("Not connected to the engine.", severity="error")
            return
        from dockui.engine.ports import suggest_host_ports
        from dockui.engine.run import ports_from_image
        from dockui.screens.run import RunScreen

        def prefill() -> None:
            try:
                ports = suggest_host_ports(ports_from_image(engine, image))
            except Exception as exc:
                self.call_from_thread(self.notify, describe_error(exc), severity="error")
                return
            self.call_from_thread(self.push_screen, RunScreen(image, ports))

        self.run_worker(prefill, thread=True, group="run-prefill")

    def on_run_screen_submit(self, message: RunScreen.Submit) -> None:
        from dockui.engine.run import Problem, RunError
        from dockui.engine.run import run as run_container
        from dockui.engine.run import validate as validate_run

        engine = self.engine
        screen, spec = message.screen, message.spec
        if engine is None:
            screen.failed([Problem("image", "Not connected to the engine.")])
            return

        def go() -> None:
            problems = validate_run(spec, engine)
            if problems:
                self.call_from_thread(screen.failed, problems)
                return
            try:
                result = run_container(engine, spec)
            except RunError as exc:
                self.call_from_thread(screen.failed, [Problem(exc.field or "image", exc.sentence)])
                return
            except Exception as exc:
                self.call_from_thread(screen.failed, [Problem("image", describe_error(exc))])
                return
            self.call_from_thread(self._ran, screen, result)

        self.run_worker(go, thread=True, group="run")

    def _ran(self, screen: RunScreen, result: RunResult) -> None:
        screen.dismiss()
        self._select_when_seen = result.container_id
        self._select_new_container()
        where = "  ".join(result.urls)
        self.notify(f"Started {result.name}" + (f" — {where}" if where else ""), timeout=8)

    def _select_new_container(self) -> None:
        cid = self._select_when_seen
        table = self.containers_pane.table
        if cid and cid in table.objects:
            self._select_when_seen = None
            table.select_key(cid)
            self.containers_pane.focus()

    @property
    def recent_builds(self) -> RecentBuilds:
        if self._recent is None:
            from dockui.recent import RecentBuilds

            self._recent = RecentBuilds()
        return self._recent

    def _refuse_if_read_only(self, what: str) -> bool:
        if self.read_only:
            self.notify(f"{what} is disabled: dockui runs read-only.", severity="warning")
            return True
        return False

    def on_containers_pane_marks_changed(self) -> None:
        self._retarget_logs()

    def on_log_view_need_history(self, message: LogView.NeedHistory) -> None:
        targets = self.log_session.targets
        if len(targets) != 1 or self._history_loading:
            return
        view = self.logs_pane.view
        if len(view.rows) >= view.max_lines:
            self.notify("The buffer is full: save the whole log with S.", timeout=3)
            return
        first = view.first_timestamp
        engine = self.engine
        if first is None or engine is None or self._history_done == first:
            return
        (target,) = targets.values()
        self._history_loading = True
        room = min(self.log_tail, view.max_lines - len(view.rows))

        def load() -> None:
            try:
                older = fetch_logs(engine, target.id, tail=room, until=first - 1e-6)
            except Exception as exc:
                older = []
                self.call_from_thread(self.notify, f"No older logs: {exc}", severity="warning")
            self.call_from_thread(self._prepend_history, target.id, first, older)

        self.run_worker(load, thread=True, group="log-history")

    def _prepend_history(self, cid: str, first: float, older: list[LogLine]) -> None:
        self._history_loading = False
        if self.log_session.ids() != (cid,):
            return
        if not older:
            self._history_done = first
            self.notify("Start of the log.", timeout=2)
            return
        self.logs_pane.view.prepend_lines(older)

    def on_logs_pane_save_requested(self, message: LogsPane.SaveRequested) -> None:
        targets = list(self.log_session.targets.values())
        if not targets:
            self.notify("No log to save.", severity="warning")
            return
        if message.whole and len(targets) != 1:
            self.notify("Save the whole log of one container at a time.", severity="warning")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = targets[0].name if len(targets) == 1 else "merged"
        default = os.path.join(os.getcwd(), f"{name}-{stamp}.log")
        what = "the whole log from the engine" if message.whole else "the buffer"

        def chosen(path: str | None) -> None:
            if path:
                self._save_log(path, message.whole)

        from dockui.screens.save import SavePrompt

        self.push_screen(SavePrompt(default, f"Save {what} of {name} to"), chosen)

    def _save_log(self, path: str, whole: bool) -> None:
        engine = self.engine
        rows = [(r.source, r.line) for r in self.logs_pane.view.rows if not r.note]
        cid = next(iter(self.log_session.targets), None)

        def write() -> None:
            try:
                if whole:
                    if engine is None or cid is None:
                        raise OSError("not connected to the engine")
                    count = save_logs(engine, cid, path)
                else:
                    count = write_lines(rows, path)
            except Exception as exc:
                self.call_from_thread(
                    self.notify, f"Could not save: {describe_error(exc)}", severity="error"
                )
                return
            self.call_from_thread(self.notify, f"Saved {count:,} lines to {path}")

        self.run_worker(write, thread=True, group="log-save")

    def _select_image(self) -> None:
        image = self.images_pane.table.selected
        if image is None:
            self._layers_for = None
            self.layers_pane.show_message("no image")
            return
        if image.id == self._layers_for:
            return
        self._layers_for = image.id
        cached = self.layer_cache.get(image.id)
        if cached is not None:
            self.layers_pane.show_layers(image.display_name, cached)
            return
        self.layers_pane.show_message(f"{image.display_name} · loading…")
        engine = self.engine
        if engine is None:
            return

        def load() -> None:
            try:
                layers = engine.history(image.id)
            except Exception as exc:  # vanished image, engine gone: say so, never crash
                self.post_message(LayersLoaded(image, None, str(exc).splitlines()[0]))
                return
            self.post_message(LayersLoaded(image, layers))

        self.run_worker(load, thread=True, group="layers", exclusive=True)

    def on_layers_loaded(self, message: LayersLoaded) -> None:
        if message.layers is not None:
            self.layer_cache[message.image.id] = message.layers
        if message.image.id != self._layers_for:
            return
        if message.layers is None:
            self.layers_pane.show_message(
                f"{message.image.display_name} · cannot read history: {message.error}"
            )
        else:
            self.layers_pane.show_layers(message.image.display_name, message.layers)

    # -- container actions ---------------------------------------------------------------------
    def _chosen_containers(self) -> list[ContainerSummary]:
        """Marked containers, else a highlighted compose project's, else the highlighted one."""
        marked = [self.containers[c] for c in self.containers_pane.marked if c in self.containers]
        if marked:
            return sorted(marked, key=lambda c: c.name)
        selected = self.containers_pane.table.selected
        if isinstance(selected, ProjectRow):
            return sorted(self.containers_pane.members(selected.project), key=lambda c: c.name)
        return [selected] if selected is not None else []

    def _one_container(self) -> ContainerSummary | None:
        selected = self.containers_pane.table.selected
        if isinstance(selected, ContainerSummary):
            return selected
        self.notify("Highlight a container (not a project).", severity="warning")
        return None

    def action_container_action(self, name: str) -> None:
        """Start/stop/restart/pause/kill/remove the marked containers, or the highlighted one.
        Destructive ones ask first, naming what will go; each container's result is reported."""
        from dockui.engine.actions import ContainerAction, applicable, confirm_text, destructive

        if self._refuse_if_read_only("Changing containers"):
            return
        if name == "toggle_pause":
            selected = self._chosen_containers()
            paused = bool(selected) and all(c.state == "paused" for c in selected)
            name = "unpause" if paused else "pause"
        action = ContainerAction(name)
        targets = self._chosen_containers()
        if not targets:
            self.notify("No container selected.", severity="warning")
            return
        ready = [c for c in targets if applicable(action, c)]
        skipped = [c.name for c in targets if c not in ready]
        if skipped:
            self.notify(
                f"Not {action.past}: {', '.join(skipped)} (already in that state).", timeout=4
            )
        if not ready:
            return
        names = [c.name for c in ready]
        if destructive(action):
            from dockui.screens.confirm import ConfirmScreen

            def answer(yes: bool | None) -> None:
                if yes:
                    self._run_container_action(action, ready)

            self.push_screen(
                ConfirmScreen(
                    f"{action.label}?", confirm_text(action, names), confirm=action.label
                ),
                answer,
            )
        else:
            self._run_container_action(action, ready)

    def _run_container_action(self, action: object, targets: list[ContainerSummary]) -> None:
        from dockui.engine.actions import ContainerAction, name_list, run_action

        assert isinstance(action, ContainerAction)
        engine = self.engine
        if engine is None:
            self.notify("Not connected to the engine.", severity="error")
            return
        self.notify(f"{action.progressive} {name_list([c.name for c in targets])} …", timeout=2)

        def work() -> None:
            results = run_action(engine, action, [c.id for c in targets])
            self.call_from_thread(self._action_done, action, results)

        self.run_worker(work, thread=True, group="container-action")

    def _action_done(self, action: object, results: list) -> None:
        from dockui.engine.actions import name_list

        done = [r.name for r in results if r.ok]
        failed = [r for r in results if not r.ok]
        if done:
            self.notify(f"{name_list(done).capitalize()}: {action.past}.", timeout=4)  # type: ignore[attr-defined]
        for result in failed:
            self.notify(result.message, severity="error", timeout=8)
        if any(r.ok for r in results) and self.containers_pane.marked:
            self.containers_pane.marked -= {r.id for r in results if r.ok and action.removes}  # type: ignore[attr-defined]

    def action_inspect(self) -> None:
        container = self._one_container()
        if container is None:
            return
        self.ops.open_inspect(container.id)

    def _selected_image(self) -> ImageSummary | None:
        image = self.images_pane.table.selected
        if image is None:
            self.notify("No image selected.", severity="warning")
        return image

    def action_image_remove(self, force: bool) -> None:
        image = self._selected_image()
        if image is not None:
            self.ops.remove_image(image.id, image.display_name, force=force)

    def action_image_tag(self) -> None:
        image = self._selected_image()
        if image is not None:
            self.ops.tag_image(image.id, image.display_name)

    def action_image_prune(self) -> None:
        self.ops.prune_dangling_images()

    def action_image_push(self) -> None:
        if self._refuse_if_read_only("Pushing an image"):
            return
        image = self._selected_image()
        if image is not None:
            self.registry_ops.push_image(image)

    def action_image_pull(self) -> None:
        if self._refuse_if_read_only("Pulling an image"):
            return
        from dockui.registry_ops import push_default, registry_of

        image = self.images_pane.table.selected
        start = push_default(tuple(image.tags)) if image is not None else ""
        self.registry_ops.pull_image(start if registry_of(start) else "")

    def action_registry_login(self) -> None:
        from dockui.registry_ops import push_default, registry_of

        image = self.images_pane.table.selected
        registry = registry_of(push_default(tuple(image.tags))) if image is not None else ""
        self.registry_ops.open_login(registry)

    def action_registry_browse(self) -> None:
        from dockui.registry_ops import push_default, registry_of

        image = self.images_pane.table.selected
        registry = registry_of(push_default(tuple(image.tags))) if image is not None else ""
        self.registry_ops.browse(registry)

    @property
    def registry_ops(self) -> RegistryOps:
        if self._registry_ops is None:
            from dockui.registry_ops import RegistryOps

            self._registry_ops = RegistryOps(self)
        return self._registry_ops

    def action_housekeeping(self) -> None:
        self.ops.open_housekeeping()

    @property
    def ops(self) -> Ops:
        if self._ops is None:
            from dockui.ops import Ops

            self._ops = Ops(self)
        return self._ops

    def action_exec_shell(self) -> None:
        """A shell in the container, in the real terminal; the TUI comes back after."""
        from dockui.engine.actions import OperationError, exec_shell_command

        if self._refuse_if_read_only("Opening a shell"):
            return
        container = self._one_container()
        engine = self.engine
        if container is None or engine is None:
            return

        def prepare() -> None:
            try:
                argv, env = exec_shell_command(engine, container)
            except OperationError as exc:
                self.call_from_thread(self.notify, str(exc), severity="error")
                return
            self.call_from_thread(self._exec, argv, env, container.name)

        self.run_worker(prepare, thread=True, group="exec")

    def _exec(self, argv: list[str], env: dict[str, str], name: str) -> None:
        import subprocess

        with self.suspend():
            print(f"dockui: {' '.join(argv[1:])}  (exit the shell to return to dockui)")
            try:
                code = subprocess.run(argv, env=env).returncode
            except OSError as exc:
                code = -1
                print(f"dockui: cannot run the docker CLI: {exc}")
        if code not in (0, 130):
            self.notify(f"The shell in {name} ended with code {code}.", severity="warning")

    # -- stats ----------------------------------------------------------------------------------
    def _start_stats(self) -> None:
        from dockui.engine.stats import StatsPoller

        self._stats = StatsPoller(
            lambda: self.engine,
            lambda: self._stats_targets,
            on_samples=lambda samples: self.post_message(StatsSampled(samples)),
        ).start()

    def stats_history(self, container_id: str) -> tuple:
        return self._stats.history(container_id) if self._stats is not None else ()

    def _update_stats_targets(self) -> None:
        """Running containers on screen (and an inspected one): the only ones sampled."""
        inspected = tuple(self._ops.stats_targets()) if self._ops is not None else ()
        if not self.containers_pane.show_stats:
            self._stats_targets = inspected
            return
        keys = self.containers_pane.table.visible_keys()
        visible = tuple(
            k for k in keys if k in self.containers and self.containers[k].state == "running"
        )
        self._stats_targets = visible + tuple(k for k in inspected if k not in visible)

    def on_stats_sampled(self, message: StatsSampled) -> None:
        # Rows are re-rendered once a second for all samples that came in (the tick),
        # not once per sample: idle CPU stays low with the columns shown.
        for cid, sample in message.samples:
            if self.containers_pane.take_stats(cid, sample):
                self._stats_dirty.add(cid)
            for screen in self.screen_stack:
                show = getattr(screen, "show_stats", None)
                if show is not None and getattr(screen, "container_id", None) == cid:
                    show(self.stats_history(cid))

    def on_containers_pane_stats_toggled(self) -> None:
        self._update_stats_targets()
        if self._stats is not None:
            self._stats.poke()

    # -- engines: contexts, switching -----------------------------------------------------------
    def _context_settings(self, name: str) -> Any:
        if self.settings is None:
            return None
        return self.settings.context(name)

    def _apply_context_settings(self, name: str) -> None:
        """Per-context label, colour and read-only mode from the settings file."""
        chosen = self._context_settings(name)
        read_only = self.read_only_flag or bool(chosen and chosen.read_only)
        self.read_only = read_only
        self.status.read_only = read_only
        self.status.context_label = (chosen.label or "") if chosen else ""
        self.status.context_colour = (chosen.colour or "") if chosen else ""
        self.status.redraw()

    def action_switch_engine(self) -> None:
        """The hosts screen: every docker context with its endpoint; Enter switches."""
        from dockui.screens.hosts import HostRow, HostsScreen

        host, context = self.host, self.context

        def gather() -> None:
            from dockui.engine.contexts import current_context_name, list_contexts

            try:
                found = list_contexts(context=context, host=host)
                active = current_context_name(context=context, host=host)
            except Exception as exc:
                self.call_from_thread(self.notify, describe_error(exc), severity="error")
                return
            rows = []
            for c in found:
                chosen = self._context_settings(c.name)
                rows.append(
                    HostRow(
                        c.name,
                        c.host,
                        c.description,
                        c.current,
                        c.error,
                        (chosen.label or "") if chosen else "",
                        (chosen.colour or "") if chosen else "",
                        bool(chosen and chosen.read_only),
                    )
                )
            self.call_from_thread(self.push_screen, HostsScreen(rows, active), self.switch_engine)

        self.run_worker(gather, thread=True, group="contexts")

    def switch_engine(self, context: str | None) -> None:
        """Connect to another context without restarting: every list resyncs."""
        if not context or (context == self.context and self.watcher is not None):
            return
        self.log_session.close()
        if self.watcher is not None:
            self.watcher.stop(timeout=0)
        self.context, self.host = context, None
        self.connected = False
        self.containers.clear()
        self.images.clear()
        self.layer_cache.clear()
        self.analyses.clear()
        self._layers_for = None
        self.containers_pane.marked.clear()
        self.containers_pane.update_objects([], full=True)
        self.images_pane.update_objects([], full=True)
        self.layers_pane.show_message("")
        self.logs_pane.follow([])
        self.status.set_disconnected(context, "connecting…")
        self.watcher = self._watcher_factory(self._on_watch_update, None)
        self.watcher.start()
        self.notify(f"Switching to {context} …", timeout=3)

    # -- command palette ---------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action, findable by name (Ctrl+P), beside Textual's own commands."""
        yield from super().get_system_commands(screen)
        if screen is not self.screen_stack[0]:
            return
        logs = self.logs_pane
        commands: list[tuple[str, str, Callable[[], object]]] = [
            ("Containers: filter", "Filter the container list (regex)",
             lambda: self._focus_then(self.containers_pane, "filter")),
            ("Containers: sort", "Cycle the container list's order",
             self.containers_pane.action_cycle_sort),
            ("Containers: mark / unmark", "Mark the highlighted container (merged logs)",
             self.containers_pane.action_mark),
            ("Images: filter", "Filter the image list (regex)",
             lambda: self._focus_then(self.images_pane, "filter")),
            ("Images: sort", "Cycle the image list's order", self.images_pane.action_cycle_sort),
            ("Images: analyse layers", "Files per layer, efficiency and wasted space",
             self._open_selected_layers),
            ("Images: audit", "Secrets, root, setuid, packages, scanner hand-off (offline)",
             self.action_audit_image),
            ("Images: build", "Build an image from a Dockerfile", self.action_build),
            ("Images: run", "Run the highlighted image", self.action_run_image),
            ("Images: remove", "Remove the highlighted image",
             lambda: self.action_image_remove(False)),
            ("Images: tag", "Tag the highlighted image", self.action_image_tag),
            ("Images: prune dangling", "Remove untagged images", self.action_image_prune),
            ("Images: push", "Push the highlighted image to a registry, with progress",
             self.action_image_push),
            ("Images: pull", "Pull an image by reference, with progress",
             self.action_image_pull),
            ("Registry: log in", "Log in to a registry (stored like docker login)",
             self.action_registry_login),
            ("Registry: browse", "Repositories and tags a registry holds; Enter pulls",
             self.action_registry_browse),
            ("Containers: inspect", "Overview, JSON, env, mounts, health, processes, stats",
             self.action_inspect),
            ("Containers: shell", "A shell inside the highlighted container",
             self.action_exec_shell),
            ("Containers: stop", "Stop the marked or highlighted containers",
             lambda: self.action_container_action("stop")),
            ("Containers: start", "Start them", lambda: self.action_container_action("start")),
            ("Containers: restart", "Restart them",
             lambda: self.action_container_action("restart")),
            ("Containers: remove", "Remove them (asks first)",
             lambda: self.action_container_action("remove")),
            ("Housekeeping", "Volumes, networks, disk usage and prunes",
             self.action_housekeeping),
            ("Logs: search", "Search the logs (regex)", lambda: self._focus_then(logs, "search")),
            ("Logs: filter matching lines", "Show only lines that match the search",
             logs.action_toggle_filter),
            ("Logs: timestamps", "Show or hide timestamps", logs.action_toggle_timestamps),
            ("Logs: wrap", "Wrap long lines or scroll sideways", logs.action_toggle_wrap),
            ("Logs: save buffer", "Save the lines in memory to a file", logs.action_save),
            ("Logs: save whole log", "Save the container's whole log from the engine",
             logs.action_save_all),
            ("Logs: clear", "Clear the log view", logs.action_clear),
            ("Logs: zoom", "Logs full screen, and back", logs.action_maximise),
            ("Engine: reconnect", "Retry the connection now", self.action_retry),
            ("Engine: switch", "Docker contexts: connect to another engine",
             self.action_switch_engine),
            ("Help: keys", "Every key, per pane", self.action_help),
        ]  # fmt: skip
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    def _focus_then(self, pane: ListPane | LogsPane, action: str) -> None:
        pane.focus()
        getattr(pane, f"action_{action}")()

    def _open_selected_layers(self) -> None:
        image = self.images_pane.table.selected
        if image is None:
            self.notify("No image selected.", severity="warning")
        else:
            self.open_layer_screen(image)

    # -- actions ----------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        # One help screen for the session, built on first use: later presses only lay out
        # and paint it (composing its 14 widgets and tables each time cost ~40 ms).
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), name="help")
        self.push_screen("help")

    def action_retry(self) -> None:
        if self.watcher:
            self.watcher.retry_now()
