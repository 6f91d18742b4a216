"""A stats sample redraws its row only when what the row shows changes."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App, ComposeResult

from dockui.widgets.panes import ContainersPane


@dataclass
class Sample:
    cpu_percent: float | None
    mem_usage: int | None


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ContainersPane(id="containers")


async def test_an_unchanged_reading_does_not_redraw_the_row() -> None:
    app = PaneApp()
    async with app.run_test(size=(120, 20)):
        pane = app.query_one(ContainersPane)
        assert pane.take_stats("c1", Sample(0.01, 1 << 20))  # the first reading
        assert not pane.take_stats("c1", Sample(0.02, 1 << 20))  # still "0.0%", "1.0 MiB"
        assert pane.stats["c1"].cpu_percent == 0.02  # kept all the same (history, sorting)
        assert pane.take_stats("c1", Sample(3.2, 1 << 20))
        assert pane.take_stats("c1", Sample(3.2, 5 << 20))
        assert pane.take_stats("c1", Sample(85.0, 5 << 20))  # crosses into the warning colour
        pane.sort_index = [name for name, _ in pane.sort_modes].index("CPU")
        assert pane.take_stats("c1", Sample(85.01, 5 << 20))  # sorted by CPU: every figure
