"""Log in to a registry: registry address, username, password (masked). Enter moves on and
submits from the password field; Esc cancels.

The screen checks the form locally, then hands the answer to `on_submit`; the controller
logs in through the engine (in a worker) and calls `failed(sentence)` (the form stays, the
password is cleared) or dismisses the screen. The password is never shown or logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from dockui.engine.registry import validate_registry


@dataclass(frozen=True)
class LoginForm:
    registry: str
    username: str
    password: str = field(repr=False)  # never in a repr, a log line or a traceback


class LoginScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="login.cancel"),
        Binding("ctrl+s", "submit", "Log in", id="login.submit", priority=True),
    ]

    def __init__(
        self,
        registry: str = "",
        username: str = "",
        on_submit: Callable[[LoginScreen, LoginForm], None] | None = None,
    ) -> None:
        super().__init__(id="login-screen")
        self.on_submit = on_submit
        self.registry_input = Input(
            registry, placeholder="host[:port], e.g. localhost:5000", id="login-registry"
        )
        self.username_input = Input(username, placeholder="username", id="login-username")
        self.password_input = Input(
            "", placeholder="password or access token", password=True, id="login-password"
        )
        self.problem = Static("", id="login-problem")
        self.problem_text = ""
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box"):
            for label, widget in (
                ("Registry", self.registry_input),
                ("Username", self.username_input),
                ("Password", self.password_input),
            ):
                with Horizontal(classes="login-row"):
                    yield Label(label, classes="login-label")
                    yield widget
            yield self.problem
            yield Static(Text("Enter next / log in · Ctrl+S log in · Esc cancels"), id="login-hint")

    def on_mount(self) -> None:
        self.query_one("#login-box").border_title = "Log in to a registry"
        self.problem.display = False
        first_empty = next(
            (w for w in (self.registry_input, self.username_input) if not w.value.strip()),
            self.password_input,
        )
        first_empty.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input is self.registry_input:
            self.username_input.focus()
        elif event.input is self.username_input:
            self.password_input.focus()
        else:
            self.action_submit()

    def action_submit(self) -> None:
        if self.busy:
            return
        registry = self.registry_input.value.strip()
        username = self.username_input.value.strip()
        password = self.password_input.value
        problem = validate_registry(registry)
        if problem:
            self.failed(problem, focus=self.registry_input)
            return
        if not username:
            self.failed("Give a username.", focus=self.username_input)
            return
        if not password:
            self.failed("Give a password (or an access token).", focus=self.password_input)
            return
        self.busy = True
        self._show(Text(f"Logging in to {registry} …", style="bold"))
        if self.on_submit is not None:
            self.on_submit(self, LoginForm(registry, username, password))

    def failed(self, sentence: str, *, focus: Input | None = None) -> None:
        """Show why the login failed; the password is cleared for another try."""
        self.busy = False
        self.problem_text = sentence
        self._show(Text(f"✗ {sentence}", style="bold red"))
        if focus is None:
            self.password_input.value = ""
            focus = self.password_input
        focus.focus()

    def _show(self, text: Text) -> None:
        self.problem.update(text)
        self.problem.display = True

    def action_cancel(self) -> None:
        self.password_input.value = ""
        self.dismiss(None)
