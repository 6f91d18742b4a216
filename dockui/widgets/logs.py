"""The Logs pane: follows the selected container; lines are already cleaned."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import RichLog

from dockui.engine.models import LogLine

MAX_LINES = 5_000


class LogsPane(Vertical):
    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("end", "follow", "Follow", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.log_view = RichLog(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False)
        self.container_id: str | None = None
        self.line_count = 0

    def compose(self) -> ComposeResult:
        yield self.log_view

    def on_mount(self) -> None:
        self.border_title = "Logs"

    def follow(self, container_id: str | None, name: str) -> None:
        """Start showing another container (the app starts the stream)."""
        self.container_id = container_id
        self.line_count = 0
        self.log_view.clear()
        self.log_view.auto_scroll = True
        self.border_title = f"Logs — {name}" if name else "Logs"
        self.border_subtitle = "following" if container_id else ""

    def add_lines(self, lines: list[LogLine]) -> None:
        for line in lines:
            text = Text(line.text, style="red" if line.stderr else "")
            if line.cut:
                text.append(f" … [{line.cut:,} more characters]", style="dim italic")
            self.log_view.write(text, scroll_end=None)
        self.line_count += len(lines)

    def add_note(self, note: str) -> None:
        if self.border_subtitle == note:
            return
        self.log_view.write(Text(f"── {note} ──", style="dim italic"))
        self.border_subtitle = note

    @property
    def plain_lines(self) -> list[str]:
        return [strip.text for strip in self.log_view.lines]

    def action_scroll_down(self) -> None:
        self.log_view.scroll_down()

    def action_scroll_up(self) -> None:
        self.log_view.scroll_up()

    def action_follow(self) -> None:
        self.log_view.auto_scroll = True
        self.log_view.scroll_end(animate=False)

    def focus(self, scroll_visible: bool = True) -> LogsPane:
        self.log_view.focus(scroll_visible)
        return self
