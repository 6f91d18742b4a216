"""Pane border titles: unchanged text repaints nothing, a changed one repaints its border
line only, and the screen shows it."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.widgets import Static

from dockui.widgets.border import QuietBorder


class Pane(QuietBorder, Vertical):
    DEFAULT_CSS = "Pane { border: round white; height: 10; }"


class BorderApp(App[None]):
    def compose(self) -> ComposeResult:
        with Pane(id="p"):
            yield Static("body")


def _screen_text(app: App[None]) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_border_titles_repaint_their_line_and_only_on_change() -> None:
    app = BorderApp()
    async with app.run_test(size=(40, 12)) as pilot:
        pane = app.query_one(Pane)
        pane.border_title = "Layers — a"
        pane.border_subtitle = "3 steps"
        await pilot.pause()
        screen = _screen_text(app)
        assert "Layers — a" in screen[0] and "3 steps" in screen[9]
        assert pane.border_title == "Layers — a" and pane.border_subtitle == "3 steps"

        pane.border_subtitle = "3 steps"  # the same text: nothing to repaint
        assert not pane._repaint_regions

        pane.border_title = "Layers — b"
        assert pane._repaint_regions == {Region(0, 0, 40, 1)}
        await pilot.pause()
        pane.border_subtitle = "4 steps"
        assert pane._repaint_regions == {Region(0, 9, 40, 1)}
        await pilot.pause()
        screen = _screen_text(app)
        assert "Layers — b" in screen[0] and "4 steps" in screen[9]

        pane.border_subtitle = None
        await pilot.pause()
        assert "steps" not in _screen_text(app)[9] and pane.border_subtitle is None
