"""The floor for bench/scale.py: the barest Textual app that lists the engine's containers.

One `containers(all=True)` through docker-py (DOCKER_HOST from the environment) in a thread,
one DataTable sorted like dockui's (running first, then by name), j/k to move, q to quit.
No events, no refresh: whatever a Textual list of N containers costs, and nothing more.
"""

from __future__ import annotations

import docker
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer

RANK = {"running": 0, "restarting": 1, "paused": 2, "created": 3, "exited": 4, "dead": 5}


class Table(DataTable):
    BINDINGS = [Binding("j", "cursor_down", "Down"), Binding("k", "cursor_up", "Up")]


class Floor(App[None]):
    BINDINGS = [Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Table(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self.load, thread=True)

    def load(self) -> None:
        client = docker.from_env(version="auto")
        rows = client.api.containers(all=True)
        self.call_from_thread(self.show, rows)

    def show(self, rows: list[dict]) -> None:
        rows.sort(key=lambda c: (RANK.get(c["State"], 9), c["Names"][0]))
        table = self.query_one(Table)
        table.add_columns("Name", "Image", "State", "Status")
        table.add_rows(
            (c["Names"][0].lstrip("/"), c["Image"], c["State"], c["Status"]) for c in rows
        )
        table.focus()


if __name__ == "__main__":
    Floor().run()
