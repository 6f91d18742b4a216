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


async def test_every_visible_row_matches_the_buffer_after_pruning() -> None:
    """Strips are cached by row serial, not id(): rows pruned from a full buffer free their
    ids for new rows, and a cache keyed by id showed an old line's strip for a new one."""
    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.view
        for batch in range(30):
            view.add_lines([LogLine(f"r{batch}-{i}") for i in range(40)])
            await pilot.pause()
            shown = [
                "".join(s.text for s in view.render_line(y)).strip()
                for y in range(view.size.height)
            ]
            expected = [r.plain for r in view.rows[-view.size.height :]]
            assert shown == expected
        assert len({r.serial for r in view.rows}) == len(view.rows)


async def test_new_lines_do_not_lay_out_the_screen() -> None:
    """Lines in only repaint the view: virtual_size is a layout reactive in Textual, and
    setting it re-arranged and re-painted the whole screen on every batch."""
    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.view
        view.add_lines([LogLine(f"warm-{i}") for i in range(50)])  # scrollbar appears
        await pilot.pause()
        layouts = 0
        original = app.screen._refresh_layout

        def counting(*args, **kwargs):
            nonlocal layouts
            layouts += 1
            return original(*args, **kwargs)

        app.screen._refresh_layout = counting
        for batch in range(10):
            view.add_lines([LogLine(f"b{batch}-{i}") for i in range(30)])
            await pilot.pause()
        assert layouts == 0
        assert "b9-29" in screen_text(app)
        assert view.virtual_size.height == len(view.rows)
        assert view.max_scroll_y == len(view.rows) - view.scrollable_content_region.height
