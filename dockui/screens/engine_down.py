"""Shown while no engine answers: what is wrong, how to fix it, and the retry clock."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static


class EngineDownScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "retry", "Retry now", id="retry"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__(id="engine-down")
        self.body = Static(id="engine-down-body")

    def compose(self) -> ComposeResult:
        with Middle(), Center(), Vertical(id="engine-down-box"):
            yield self.body
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#engine-down-box").border_title = "Cannot reach the Docker engine"

    def show(self, host: str, reason: str, hint: str, retry_in: float, attempt: int) -> None:
        text = Text()
        text.append(reason + "\n\n", style="bold red")
        if hint:
            text.append(hint + "\n\n")
        text.append("Engine address: ", style="dim")
        text.append(host + "\n", style="bold")
        text.append(f"Retrying in {retry_in:.0f} s (attempt {attempt}).", style="dim")
        text.append("  r retries now, q quits.", style="dim")
        self.body.update(text)

    def action_retry(self) -> None:
        self.app.action_retry()  # type: ignore[attr-defined]
