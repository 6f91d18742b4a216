"""Ask where to save a log: a path prompt that refuses to overwrite by surprise."""

from __future__ import annotations

import os

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class SavePrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str, title: str) -> None:
        super().__init__()
        self.default = default
        self.title_text = title
        self.input = Input(value=default, id="save-path")
        self.hint = Static("Enter saves · Esc cancels", id="save-hint")
        self._confirm_overwrite: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box"):
            yield self.input
            yield self.hint

    def on_mount(self) -> None:
        self.query_one("#save-box").border_title = self.title_text
        self.input.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = os.path.expanduser(event.value.strip())
        if not path:
            self.hint.update("Type a file name.")
            return
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            self.hint.update(f"No such folder: {folder}")
            return
        if os.path.isdir(path):
            self.hint.update(f"{path} is a folder: add a file name.")
            return
        if os.path.exists(path) and self._confirm_overwrite != path:
            self._confirm_overwrite = path
            self.hint.update(f"{path} exists. Enter again to overwrite it.")
            return
        self.dismiss(path)

    def on_input_changed(self) -> None:
        self._confirm_overwrite = None

    def action_cancel(self) -> None:
        self.dismiss(None)
