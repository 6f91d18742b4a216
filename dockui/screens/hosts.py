"""Engines you can switch to without restarting: the docker contexts (and `default`),
with their endpoints. Enter switches; the app reconnects and resyncs every list."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from dockui.widgets.keyed_table import NavTable


@dataclass(frozen=True)
class HostRow:
    name: str
    endpoint: str
    description: str = ""
    current: bool = False
    error: str = ""
    label: str = ""  # from the settings file: [contexts.NAME] label
    colour: str = ""
    read_only: bool = False


class HostsScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="hosts.close"),
        Binding("enter", "choose", "Switch", id="hosts.switch", priority=True),
    ]

    def __init__(self, rows: list[HostRow], active: str) -> None:
        super().__init__(id="hosts-screen")
        self.rows = rows
        self.active = active
        self.table = NavTable(cursor_type="row", id="hosts-table")
        self.note = Static("", id="hosts-note")

    def compose(self) -> ComposeResult:
        with Vertical(id="hosts-box"):
            yield self.table
            yield self.note

    def on_mount(self) -> None:
        self.query_one("#hosts-box").border_title = "Engines — Enter switches, Esc closes"
        for key, label in (("name", "Context"), ("endpoint", "Endpoint"), ("about", "")):
            self.table.add_column(label, key=key)
        for row in self.rows:
            name = Text(("● " if row.name == self.active else "  ") + row.name, style="bold")
            if row.colour:
                name.stylize(row.colour)
            about = Text(row.label or row.description, style="dim")
            if row.read_only:
                about.append("  read-only", style="bold red")
            if row.error:
                about = Text(row.error, style="red")
            self.table.add_row(name, Text(row.endpoint), about, key=row.name)
        names = [r.name for r in self.rows]
        if self.active in names:
            self.table.move_cursor(row=names.index(self.active))
        self.table.focus()

    def action_choose(self) -> None:
        if not self.rows:
            return
        row = self.rows[self.table.cursor_row]
        if row.error:
            self.note.update(Text(f"{row.name} cannot be used: {row.error}", style="red"))
            return
        self.dismiss(row.name)
