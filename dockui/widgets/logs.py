"""The Logs pane: a LogView plus its search line and the keys that drive it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from dockui.engine.models import LogLine
from dockui.widgets.border import QuietBorder
from dockui.widgets.logview import LogView


class LogsPane(QuietBorder, Vertical):
    BINDINGS = [
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match", "Next", id="logs.next", show=False),
        Binding("N", "prev_match", "Prev", id="logs.prev", show=False),
        Binding("f", "toggle_filter", "Filter", id="logs.filter"),
        Binding("t", "toggle_timestamps", "Time", id="logs.timestamps"),
        Binding("w", "toggle_wrap", "Wrap", id="logs.wrap"),
        Binding("s", "save", "Save", id="logs.save"),
        Binding("S", "save_all", "Save all", id="logs.save_all", show=False),
        Binding("c", "clear", "Clear", id="logs.clear", show=False),
        Binding("z", "maximise", "Zoom", id="logs.zoom"),
        Binding("escape", "escape", "Close search", show=False),
    ]

    class SaveRequested(Message):
        """Save the buffer (or, with `whole`, the whole log from the engine)."""

        def __init__(self, whole: bool) -> None:
            super().__init__()
            self.whole = whole

    def __init__(self, max_lines: int = 10_000, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.view = LogView(max_lines=max_lines, id="log-view")
        self.search_input = Input(placeholder="search (regex) — Enter: keep · Esc: close")
        self.search_input.display = False
        self.container_id: str | None = None  # the followed container (None when merged)
        self.container_ids: tuple[str, ...] = ()  # all followed containers
        self.title_name = ""
        self.state_note = ""  # "container removed", "stopped", ...

    def compose(self) -> ComposeResult:
        yield self.search_input
        yield self.view

    def on_mount(self) -> None:
        self.border_title = "Logs"
        self.refresh_status()

    # -- what the app calls ----------------------------------------------------------------
    def follow(self, targets: list[tuple[str, str]]) -> None:
        """Start showing other containers: [(id, name)], one or several (merged)."""
        self.container_ids = tuple(cid for cid, _ in targets)
        self.container_id = targets[0][0] if len(targets) == 1 else None
        self.view.clear()
        self.view.action_follow()
        self.state_note = ""
        if not targets:
            self.title_name = ""
        elif len(targets) == 1:
            self.title_name = targets[0][1]
        else:
            self.title_name = f"{len(targets)} containers merged"
        self.border_title = f"Logs — {self.title_name}" if self.title_name else "Logs"
        self.refresh_status()

    def add_lines(self, lines: list[LogLine], source: str = "", colour: int = 0) -> None:
        self.view.add_lines(lines, source, colour, ordered=bool(source))
        if self.view.pattern is not None:
            self.refresh_status()

    def add_note(self, note: str) -> None:
        if self.state_note == note:
            return
        self.state_note = note
        self.view.add_note(note)
        self.refresh_status()

    @property
    def border_note(self) -> str:
        return self.state_note

    @property
    def plain_lines(self) -> list[str]:
        return self.view.plain_lines()

    def refresh_status(self) -> None:
        view = self.view
        parts = []
        if self.state_note:
            parts.append(self.state_note)
        elif self.container_ids:
            parts.append("following" if view.following else "paused — End to follow")
        if view.pattern is not None:
            pos = view.match_position
            count = f"{view.match_count:,} match{'es' if view.match_count != 1 else ''}"
            parts.append(
                f"/{view.pattern.pattern} {pos} of {count}"
                if pos
                else f"/{view.pattern.pattern} {count}"
            )
        if view.filter_mode and view.pattern is not None:
            parts.append("filtered")
        if not view.wrap:
            parts.append("no wrap")
        if view.dropped:
            parts.append(f"{len(view.rows):,} kept")
        self.border_subtitle = " · ".join(parts)

    # -- keys ------------------------------------------------------------------------------
    def on_log_view_follow_changed(self, event: LogView.FollowChanged) -> None:
        self.refresh_status()

    def action_search(self) -> None:
        self.search_input.display = True
        self.search_input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        error = self.view.set_search(event.value)
        self.refresh_status()
        if error:
            self.border_subtitle = f"{self.border_subtitle} · {error}"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            self.search_input.display = False
        self.view.focus()
        if event.value:
            self.view.jump_match(forward=False)
            self.refresh_status()

    def action_escape(self) -> None:
        if self.search_input.display:
            self.search_input.value = ""
            self.search_input.display = False
            self.view.set_search("")
            if self.view.filter_mode:
                self.view.set_filter_mode(False)
            self.view.focus()
            self.refresh_status()
        elif self.screen.has_class("-logs-max"):
            self.action_maximise()

    def action_next_match(self) -> None:
        self.view.jump_match(forward=True)
        self.refresh_status()

    def action_prev_match(self) -> None:
        self.view.jump_match(forward=False)
        self.refresh_status()

    def action_toggle_filter(self) -> None:
        if self.view.pattern is None:
            self.action_search()  # a filter needs a pattern: ask for one
            self.view.set_filter_mode(True)
        else:
            self.view.set_filter_mode(not self.view.filter_mode)
        self.refresh_status()

    def action_toggle_timestamps(self) -> None:
        self.view.set_timestamps(not self.view.show_timestamps)

    def action_toggle_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self.refresh_status()

    def action_clear(self) -> None:
        self.view.clear()
        self.refresh_status()

    def action_maximise(self) -> None:
        self.screen.toggle_class("-logs-max")
        self.view.focus()

    def action_save(self) -> None:
        self.post_message(self.SaveRequested(whole=False))

    def action_save_all(self) -> None:
        self.post_message(self.SaveRequested(whole=True))

    def focus(self, scroll_visible: bool = True) -> LogsPane:
        self.view.focus(scroll_visible)
        return self
