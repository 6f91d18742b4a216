"""A full ring buffer keeps repainting: new lines reach the screen when old ones leave."""

from __future__ import annotations

from textual.app import App, ComposeResult

from dockui.engine.models import LogLine
from dockui.widgets.logview import LogView


class One(App[None]):
    def compose(self) -> ComposeResult:
        self.view = LogView(max_lines=100)
        yield self.view


def screen_text(app: One) -> str:
    return "\n".join(
        "".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()
    )


async def test_full_buffer_shows_the_newest_line() -> None:
    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        for batch in range(5):
            app.view.add_lines([LogLine(f"line-{batch}-{i}") for i in range(60)])
            await pilot.pause()
            assert f"line-{batch}-59" in screen_text(app)
        assert len(app.view.rows) == 100


async def test_wrap_offsets_stay_exact_while_the_buffer_prunes() -> None:
    """Pruned rows only move the offsets' base; every position equals a fresh count."""
    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.view
        for batch in range(12):
            lines = [
                LogLine(f"b{batch}-{i} " + "x" * ((batch * 7 + i * 13) % 90)) for i in range(37)
            ]
            view.add_lines(lines)
            await pilot.pause()
            kept = view._wrap_offsets()
            live = [x - view._offset_base for x in kept]
            # the last row starts where the offsets say (through the base)
            assert view._locate(live[-2]) == (len(live) - 2, 0)
            assert view._first_y_of(len(live) - 2) == live[-2]
            view._offsets = None
            fresh = view._wrap_offsets()
            assert live == fresh
        assert "b11-36" in screen_text(app)
