"""The dockui App: owns the engine connection, starts workers, routes messages.

Nothing here blocks the event loop: the watcher, log followers and history lookups
run in threads and post messages back (Textual's post_message is thread-safe).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.timer import Timer
from textual.widgets import DataTable, Footer

from dockui import __version__
from dockui.engine.client import Engine
from dockui.engine.logs import LogFollower, LogLine
from dockui.engine.models import ContainerSummary, ImageSummary, Layer
from dockui.engine.watch import (
    Connected,
    ContainersChanged,
    Disconnected,
    ImagesChanged,
    Watcher,
    WatchUpdate,
)
from dockui.messages import (
    ContainersUpdated,
    EngineConnected,
    EngineDisconnected,
    ImagesUpdated,
    LayersLoaded,
    LogEnded,
    LogLines,
)
from dockui.screens.engine_down import EngineDownScreen
from dockui.screens.help import HelpScreen
from dockui.widgets.logs import LogsPane
from dockui.widgets.panes import ContainersPane, ImagesPane, LayersPane
from dockui.widgets.status import StatusLine

SELECT_DELAY = 0.15  # seconds the cursor must rest before logs/layers follow it
TICK_EVERY = 15.0  # re-render relative times (uptime, age)


class DockuiApp(App[None]):
    CSS_PATH = "dockui.tcss"
    TITLE = "dockui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("r", "retry", "Reconnect", show=False, id="retry"),
        Binding("tab", "focus_next", "Next pane", id="next_pane"),
        Binding("shift+tab", "focus_previous", "Prev pane", show=False),
    ]

    def __init__(
        self,
        host: str | None = None,
        *,
        log_tail: int = 500,
        watcher_factory: Callable[[Callable[[WatchUpdate], None], str | None], Watcher]
        | None = None,
    ) -> None:
        super().__init__()
        self.host = host
        self.log_tail = log_tail
        self._watcher_factory = watcher_factory or (lambda cb, host: Watcher(cb, host))
        self.watcher: Watcher | None = None
        self.containers: dict[str, ContainerSummary] = {}
        self.images: dict[str, ImageSummary] = {}
        self.layer_cache: dict[str, list[Layer]] = {}
        self.follower: LogFollower | None = None
        self.connected = False
        self._down_screen: EngineDownScreen | None = None
        self._select_timers: dict[str, Timer] = {}
        self._layers_for: str | None = None

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Grid(id="panes"):
            yield ContainersPane(id="containers")
            yield ImagesPane(id="images")
            yield LogsPane(id="logs")
            yield LayersPane(id="layers")
        yield Footer()

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def containers_pane(self) -> ContainersPane:
        return self.query_one(ContainersPane)

    @property
    def images_pane(self) -> ImagesPane:
        return self.query_one(ImagesPane)

    @property
    def layers_pane(self) -> LayersPane:
        return self.query_one(LayersPane)

    @property
    def logs_pane(self) -> LogsPane:
        return self.query_one(LogsPane)

    @property
    def engine(self) -> Engine | None:
        return self.watcher.engine if self.watcher else None

    def on_mount(self) -> None:
        self.sub_title = __version__
        self.status.redraw()
        self.containers_pane.focus()
        self.watcher = self._watcher_factory(self._on_watch_update, self.host)
        self.watcher.start()
        self.set_interval(TICK_EVERY, self._tick)

    def on_resize(self) -> None:
        narrow = self.size.width < 100
        self.screen.set_class(narrow, "-narrow")

    def on_unmount(self) -> None:
        self._stop_logs()
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
        self.status.set_connected(message.info.host, message.info.label)
        self.screen.remove_class("-stale")
        if self._down_screen is not None:
            self._down_screen.dismiss()
            self._down_screen = None
        if reconnected and self.logs_pane.container_id:
            # Resume the stream that was open when the engine went away.
            self._schedule_select("containers", 0.5)

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
        if message.full:
            self.containers = {c.id: c for c in message.upserts}
        else:
            for cid in message.removed:
                self.containers.pop(cid, None)
            self.containers.update((c.id, c) for c in message.upserts)
        before = self.containers_pane.table.selected_key
        self.containers_pane.update_objects(message.upserts, message.removed, message.full)
        self._update_counts()
        followed = self.logs_pane.container_id
        if followed and followed not in self.containers:
            # Keep the last words of a removed container on screen until the user moves.
            self.logs_pane.add_note("container removed")
        elif self.containers_pane.table.selected_key != before:
            self._schedule_select("containers")

    def on_images_updated(self, message: ImagesUpdated) -> None:
        if message.full:
            self.images = {i.id: i for i in message.upserts}
        else:
            for iid in message.removed:
                self.images.pop(iid, None)
            self.images.update((i.id, i) for i in message.upserts)
        before = self.images_pane.table.selected_key
        self.images_pane.update_objects(message.upserts, message.removed, message.full)
        self._update_counts()
        if self.images_pane.table.selected_key != before or (
            self._layers_for and self._layers_for not in self.images
        ):
            self._schedule_select("images")

    def _update_counts(self) -> None:
        running = sum(1 for c in self.containers.values() if c.state == "running")
        self.status.set_counts(running, len(self.containers), len(self.images))

    def _tick(self) -> None:
        self.containers_pane.table.rerender()
        self.images_pane.table.rerender()

    # -- selection follows the cursor, after it rests --------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "containers-table":
            followed = self.logs_pane.container_id
            if (
                followed
                and followed not in self.containers
                and event.row_key.value == self.containers_pane.table.synced_key
            ):
                return  # the cursor moved because the followed row vanished, not the user
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
        container = self.containers_pane.table.selected
        cid = container.id if container else None
        if cid == self.logs_pane.container_id and self.follower is not None:
            return
        self._stop_logs()
        self.logs_pane.follow(cid, container.name if container else "")
        engine = self.engine
        if container is None or engine is None:
            return

        def on_lines(lines: list[LogLine], cid: str = container.id) -> None:
            self.post_message(LogLines(cid, lines))

        def on_end(reason: str, cid: str = container.id) -> None:
            self.post_message(LogEnded(cid, reason))

        self.follower = LogFollower(
            engine, container.id, on_lines, on_end, tail=self.log_tail
        ).start()

    def _stop_logs(self) -> None:
        follower, self.follower = self.follower, None
        if follower is not None:
            follower.close()

    def on_log_lines(self, message: LogLines) -> None:
        if message.container_id == self.logs_pane.container_id:
            self.logs_pane.add_lines(message.lines)

    def on_log_ended(self, message: LogEnded) -> None:
        if message.container_id != self.logs_pane.container_id:
            return
        self.follower = None
        container = self.containers.get(message.container_id)
        if container is None:
            note = "container removed"
        elif message.reason == "log stream ended":
            note = "log stream ended — container stopped"
        else:
            note = message.reason
        self.logs_pane.add_note(note)

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

    # -- actions ----------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_retry(self) -> None:
        if self.watcher:
            self.watcher.retry_now()
