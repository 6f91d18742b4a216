"""The status line: which engine, its version, counts, and whether we are connected."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class StatusLine(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.host = ""
        self.version = ""
        self.state = "connecting"
        self.detail = ""
        self.running = 0
        self.containers = 0
        self.images = 0
        self.read_only = False
        self.context_label = ""  # from the settings file, e.g. "PRODUCTION"
        self.context_colour = ""

    def set_connected(self, host: str, version: str) -> None:
        self.host, self.version, self.state, self.detail = host, version, "connected", ""
        self.redraw()

    def set_disconnected(self, host: str, detail: str) -> None:
        self.host, self.state, self.detail = host, "disconnected", detail
        self.redraw()

    def set_counts(self, running: int, containers: int, images: int) -> None:
        self.running, self.containers, self.images = running, containers, images
        self.redraw()

    def redraw(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" dockui ", style="bold reverse")
        if self.context_label:
            colour = self.context_colour or "yellow"
            text.append(f" {self.context_label} ", style=f"bold black on {colour}")
        if self.read_only:
            text.append(" READ-ONLY ", style="bold white on red")
        text.append(" ")
        if self.state == "connected":
            text.append("● connected", style="bold green")
        elif self.state == "connecting":
            text.append("● connecting…", style="bold yellow")
        else:
            text.append("● disconnected — retrying", style="bold red")
        text.append(
            f"  {self.running}/{self.containers} running · {self.images} images", style="bold"
        )
        if self.host:
            text.append(f"  {self.host}")
        if self.version:
            text.append(f"  {self.version}", style="dim")
        if self.detail:
            text.append(f"  {self.detail}", style="red")
        self.update(text, layout=False)  # one line, full width: a repaint, not a layout
