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
