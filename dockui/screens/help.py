"""`?`: every key, per pane."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
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
            ("E", "engines: switch docker context"),
            ("H", "housekeeping: volumes, networks, disk usage, prunes"),
            ("Ctrl+P", "command palette"),
            ("r", "reconnect now (engine unreachable)"),
            ("q / Ctrl+C", "quit"),
        ],
    ),
    (
        "Lists: Containers, Images, Layers",
        [
            ("↑ ↓  j k", "move"),
            ("g G  Home End", "first / last row"),
            ("PgUp PgDn", "page"),
            ("/", "filter (regex); Enter keeps it"),
            ("Esc", "clear the filter"),
            ("o", "cycle the order (name, state, newest, CPU, …)"),
        ],
    ),
    (
        "Containers (marked ones, or the highlighted one)",
        [
            ("(cursor)", "Logs follow the highlighted container"),
            ("Space", "mark: Logs merge marked ones; actions apply to them"),
            ("s / S", "stop / start"),
            ("r", "restart"),
            ("p", "pause / unpause"),
            ("K", "kill (asks first)"),
            ("d / D", "remove / remove with volumes (asks first)"),
            ("e", "a shell inside (bash, else sh); exit to come back"),
            ("i / Enter", "inspect: overview, JSON, env, mounts, health, …"),
            ("c", "CPU/memory columns on / off"),
        ],
    ),
    (
        "Images",
        [
            ("(cursor)", "Layers show the highlighted image"),
            ("Enter", "layer analysis: files, waste"),
            ("a", "audit: secrets, root, setuid, packages, scanner (offline)"),
            ("b / B", "build dialog / repeat the last build"),
            ("R", "run dialog"),
            ("d / D", "remove / force remove (asks first)"),
            ("t", "tag"),
            ("P", "prune dangling images (says what it frees first)"),
            ("p", "push to a registry: pick a tag, or type a new name to tag it first"),
            ("l", "pull an image by reference (registry:port/repository:tag)"),
            ("L", "log in to a registry (stored like docker login)"),
            ("C", "browse a registry's repositories and tags; Enter pulls"),
        ],
    ),
    (
        "Push / pull progress",
        [
            ("Esc", "cancel a running push or pull; close when done"),
            ("c", "copy the digest"),
            ("Enter (catalog)", "pull the highlighted repository:tag"),
        ],
    ),
    (
        "Audit screen",
        [
            ("1 / 2 / 3", "findings / inventory / scanner"),
            ("/", "filter the packages (regex)"),
            ("Esc", "back (cancels a running audit or scanner)"),
        ],
    ),
    (
        "Logs",
        [
            ("↑ ↓  j k  PgUp", "scroll (pauses following)"),
            ("Home (at top)", "load older lines"),
            ("End  G", "follow again"),
            ("/", "search (regex), highlights"),
            ("n / N", "next / previous match"),
            ("f", "filter: only matching lines"),
            ("t", "timestamps on / off"),
            ("w", "wrap on / off"),
            ("s / S", "save buffer / whole log"),
            ("c", "clear"),
            ("z", "zoom: logs full screen"),
        ],
    ),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            for section, keys in KEYS:
                table = Table.grid(padding=(0, 2))
                table.add_column(style="bold cyan", no_wrap=True, min_width=16)
                table.add_column()
                for key, what in keys:
                    table.add_row(key, what)
                yield Static(Text(section, style="bold underline"), classes="help-section")
                yield Static(table)

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys — Esc to close"
