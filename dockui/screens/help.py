"""`?`: every key, per pane."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Everywhere",
        [
            ("Tab / Shift+Tab", "next / previous pane"),
            ("?", "this help"),
            ("r", "reconnect now (when the engine is unreachable)"),
            ("q / Ctrl+C", "quit"),
        ],
    ),
    (
        "Lists (Containers, Images, Layers)",
        [
            ("↑ ↓ / j k", "move"),
            ("g / G, Home / End", "first / last row"),
            ("PgUp / PgDn", "page"),
            ("/", "filter the list (regex, case-insensitive); Enter keeps it"),
            ("Esc", "clear the filter"),
        ],
    ),
    (
        "Containers",
        [("(moving)", "the Logs pane follows the highlighted container")],
    ),
    (
        "Images",
        [("(moving)", "the Layers pane shows the highlighted image's history")],
    ),
    (
        "Logs",
        [("↑ ↓ / j k", "scroll (stops following)"), ("End", "follow again")],
    ),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for section, keys in KEYS:
            table.add_row(f"[b u]{section}[/]", "")
            for key, what in keys:
                table.add_row(key, what)
            table.add_row("", "")
        with VerticalScroll(id="help-box"):
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys — Esc to close"
