"""What a registry holds (its v2 catalog): one row per repository:tag. Enter pulls the
highlighted one; Esc closes. The rows come from the controller (`RegistryOps.browse`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from dockui.widgets.keybar import KeyBar
from dockui.widgets.keyed_table import NavTable


class CatalogScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="catalog.close"),
        Binding("enter", "pull", "Pull", id="catalog.pull", priority=True),
    ]

    def __init__(
        self,
        registry: str,
        rows: Sequence[tuple[str, Sequence[str]]],
        on_pull: Callable[[str], None] | None = None,
        note: str = "",
    ) -> None:
        super().__init__(id="catalog-screen")
        self.registry = registry
        self.rows = [(repo, tuple(tags)) for repo, tags in rows]
        self.on_pull = on_pull
        self.note = note
        self.table: NavTable = NavTable(cursor_type="row", id="catalog-table")
        self.summary = Static("", id="catalog-summary")

    def compose(self) -> ComposeResult:
        with Vertical(id="catalog-view", classes="pane"):
            yield self.summary
            yield self.table
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#catalog-view").border_title = f"Registry {self.registry}"
        self.table.add_column("Repository", key="repo")
        self.table.add_column("Tag", key="tag")
        count = 0
        for repo, tags in self.rows:
            if not tags:
                self.table.add_row(Text(repo), Text("(no tags)", style="dim"), key=repo)
                continue
            for tag in tags:
                count += 1
                self.table.add_row(Text(repo, style="bold"), Text(tag), key=f"{repo}:{tag}")
        text = Text(f"{len(self.rows)} repositories, {count} tags in {self.registry}")
        if self.note:
            text.append(f"\n{self.note}", style="yellow")
        text.append("   Enter pulls · Esc closes", style="dim")
        self.summary.update(text)
        self.table.focus()

    @property
    def selected(self) -> str | None:
        """`registry/repo:tag` of the highlighted row (None on a repository without tags)."""
        if not self.table.row_count:
            return None
        key = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value
        if not key or ":" not in key:
            return None
        return f"{self.registry}/{key}"

    def action_pull(self) -> None:
        reference = self.selected
        if reference is None:
            self.notify("Highlight a tag to pull.", severity="warning", timeout=3)
            return
        if self.on_pull is not None:
            self.on_pull(reference)
