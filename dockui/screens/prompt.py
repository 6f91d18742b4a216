"""A one-line text prompt ("Tag image as"): Enter answers, Esc cancels.

An optional `check` callable says what is wrong with the text (a sentence) or None when it is
fine; it runs as you type and again on Enter, and a refused answer keeps the prompt open with
the sentence under the input. It must be quick and local: it runs on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PromptScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        value: str = "",
        *,
        placeholder: str = "",
        hint: str = "Enter confirms · Esc cancels",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__(id="prompt-screen")
        self.title_text = title
        self.hint_text = hint
        self.check = check
        self.input = Input(value=value, placeholder=placeholder, id="prompt-input")
        self.problem = Static("", id="prompt-problem")
        self.hint = Static(Text(hint), id="prompt-hint")
        self.problem_text = ""  # what is shown as wrong with the text ("" when nothing)

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield self.input
            yield self.problem
            yield self.hint

    def on_mount(self) -> None:
        self.query_one("#prompt-box").border_title = self.title_text
        self.input.focus()
        self.input.cursor_position = len(self.input.value)

    def _problem_for(self, value: str) -> str | None:
        if self.check is None:
            return None
        try:
            return self.check(value)
        except Exception as exc:  # a broken check must not lose the user's text
            return str(exc) or type(exc).__name__

    def _show_problem(self, sentence: str | None) -> None:
        self.problem_text = sentence or ""
        self.problem.update(Text(f"✗ {sentence}", style="bold red") if sentence else "")
        self.problem.display = bool(sentence)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        value = event.value.strip()
        self._show_problem(self._problem_for(value) if value else None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        sentence = self._problem_for(value)
        if sentence:
            self._show_problem(sentence)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
