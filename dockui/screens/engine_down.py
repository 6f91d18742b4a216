"""Shown while no engine answers: what is wrong, how to fix it, and the retry clock."""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Static

from dockui.widgets.keybar import KeyBar


class EngineDownScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "retry", "Retry now", id="retry"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__(id="engine-down")
        self.body = Static(id="engine-down-body")
        self.box = Vertical(id="engine-down-box")
        self.box.border_title = "Cannot reach the Docker engine"
        self._state: tuple[str, str, str, int] | None = None
        self._retry_at = 0.0

    def compose(self) -> ComposeResult:
        with Middle(), Center(), self.box:
            yield self.body
        yield KeyBar()

    def on_mount(self) -> None:
        self.set_interval(0.5, self._redraw)  # the countdown ticks

    def show(self, host: str, reason: str, hint: str, retry_in: float, attempt: int) -> None:
        self._state = (host, reason, hint, attempt)
        self._retry_at = time.monotonic() + retry_in
        self._redraw()

    def _redraw(self) -> None:
        if self._state is None:
            return
        host, reason, hint, attempt = self._state
        left = max(0.0, self._retry_at - time.monotonic())
        text = Text()
        text.append(reason + "\n\n", style="bold red")
        if hint:
            text.append(hint + "\n\n")
        text.append("Engine address: ", style="dim")
        text.append(host + "\n", style="bold")
        when = f"Retrying in {math.ceil(left)} s" if left > 0.05 else "Retrying now"
        text.append(f"{when} (attempt {attempt}).", style="dim")
        text.append("  r retries now, q quits.", style="dim")
        self.body.update(text)

    def action_retry(self) -> None:
        self.app.action_retry()  # type: ignore[attr-defined]
