"""What a frame costs: work that Textual would do for the whole screen is kept to the
widgets that changed (measured: these were the slowest parts of a key press while logs
streamed; bench/logs.py has the numbers)."""

from __future__ import annotations

import asyncio
import gc
import time
import traceback

import pytest
from textual.widget import Widget

from dockui.app import LOGS_DRAIN_EVERY, DockuiApp
from dockui.engine.models import LogLine
from tests.app.test_app import until
from tests.app.test_logs import follow

pytestmark = pytest.mark.engine


class LayoutCauses:
    """Who asked for a layout (or a scroll, which Textual answers with one), with where from:
    the message of a failed no-layout assertion."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        self.seen: list[str] = []
        refresh, refresh_scroll = Widget.refresh, Widget._refresh_scroll

        def note(kind: str, widget: Widget) -> None:
            if self.on:
                stack = "".join(traceback.format_stack(limit=12)[:-2])
                self.seen.append(f"{kind} {widget!r}\n{stack}")

        def counted_refresh(widget: Widget, *regions, **kwargs):
            if kwargs.get("layout"):
                note("layout", widget)
            return refresh(widget, *regions, **kwargs)

        def counted_scroll(widget: Widget) -> None:
            note("scroll", widget)
            refresh_scroll(widget)

        monkeypatch.setattr(Widget, "refresh", counted_refresh)
        monkeypatch.setattr(Widget, "_refresh_scroll", counted_scroll)

    def __str__(self) -> str:
        return "\n".join(self.seen) or "no widget asked"


def count_calls(obj, name: str) -> list[int]:
    calls = [0]
    original = getattr(obj, name)

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(obj, name, counting)
    return calls


async def test_tab_repaints_the_panes_not_the_whole_screen(make_container, monkeypatch):
    c = make_container()
    app = DockuiApp()
    causes = LayoutCauses(monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        # Settled first: the lists, the first image's layers and the container's first
        # stats sample arrive on their own, so the count covers what the keys do. (CI
        # once counted one layout here, on a slow machine; a failure now says who asked.)
        await until(pilot, lambda: app.containers_pane.table.row_count > 0)
        await until(pilot, lambda: app._layers_for in app.layer_cache)
        await until(pilot, lambda: c.id in app.containers_pane.stats, timeout=10)
        await pilot.pause(1.2)  # one stats tick redrawn
        full = count_calls(app.screen._compositor, "render_full_update")
        layouts = count_calls(app.screen, "_refresh_layout")
        causes.on = True
        for _ in range(4):
            await pilot.press("tab")
            await pilot.pause()
        causes.on = False
        assert app.focused is app.containers_pane.table  # 4 panes: round trip
        assert full[0] == 0 and layouts[0] == 0, str(causes)
        # ... and what depends on focus did change: the focused pane's border.
        await pilot.press("tab")
        await pilot.pause()
        assert app.images_pane.has_focus_within and not app.containers_pane.has_focus_within
        assert app.images_pane.styles.border_top != app.containers_pane.styles.border_top
        assert "Build" in app.query_one("KeyBar").plain  # the images pane's keys


async def test_list_updates_do_not_lay_out_the_screen(make_container, monkeypatch):
    app = DockuiApp()
    causes = LayoutCauses(monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.pause(0.3)
        layouts = count_calls(app.screen, "_refresh_layout")
        full = count_calls(app.screen._compositor, "render_full_update")
        causes.on = True
        made = [await asyncio.to_thread(make_container) for _ in range(3)]
        table = app.containers_pane.table
        await until(pilot, lambda: all(c.id in table.objects for c in made))
        for c in made:
            await asyncio.to_thread(c.remove, force=True)
        await until(pilot, lambda: not any(c.id in table.objects for c in made))
        # A scrollbar appearing or going would need one; three rows in 18 do not.
        assert layouts[0] == 0 and full[0] == 0, str(causes)


async def test_help_is_built_once(make_container):
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        first = app.screen
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen is first
        shown = "\n".join(
            "".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()
        )
        assert "next / previous pane" in shown


async def test_logs_are_handed_over_in_frames_and_a_lone_line_at_once(make_container):
    c = make_container(["sh", "-c", "sleep 100000"])
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await follow(app, pilot, c)
        await pilot.pause(0.2)
        drains = count_calls(app, "_drain_logs")
        session = app.log_session
        cid = c.id
        # A burst of 200 reads in 0.1 s: handed over at most every LOGS_DRAIN_EVERY.
        start = time.monotonic()
        for i in range(200):
            session._push(cid, [LogLine(f"burst-{i}")])
            if i % 20 == 19:
                await pilot.pause(0.01)
        await until(pilot, lambda: "burst-199" in app.logs_pane.plain_lines, timeout=2)
        elapsed = time.monotonic() - start
        assert app.logs_pane.plain_lines[-200:] == [f"burst-{i}" for i in range(200)]
        assert drains[0] <= elapsed / LOGS_DRAIN_EVERY + 2
        # After a quiet spell, one line is shown without waiting for a frame.
        await pilot.pause(LOGS_DRAIN_EVERY * 2)
        session._push(cid, [LogLine("lone")])
        await until(pilot, lambda: "lone" in app.logs_pane.plain_lines, timeout=1)


async def test_the_start_up_heap_is_frozen(make_container):
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.pause(0.3)
        # the cyclic collector no longer walks Textual, the widgets and the first lists
        assert gc.get_freeze_count() > 10_000
    gc.unfreeze()


async def test_the_twice_a_minute_tick_rerenders_only_aged_rows(make_container, monkeypatch):
    """Ages re-rendered only where their text moved on; a row whose age text is stale
    (the clock jumped 2 hours) is found and updated, the others are left alone."""
    from dockui import app as app_module

    c = make_container()
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        await until(pilot, lambda: c.id in table.objects)
        app._ticks = app_module.FULL_TICK_EVERY - 1
        # Rendered at `now`, nothing is stale at `now` (a young image's "59 seconds ago"
        # may turn into "a minute ago" between the list and here: render it first).
        now = time.time()
        app.containers_pane.table.rerender(app.containers_pane.aged(now))
        app.images_pane.table.rerender(app.images_pane.aged(now))
        assert app.containers_pane.aged(now) == []  # nothing to do right now
        assert app.images_pane.aged(now) == []
        later = time.time() + 2 * 3600
        assert c.id in app.containers_pane.aged(later)
        real_time = time.time
        monkeypatch.setattr(app_module.time, "time", lambda: real_time() + 2 * 3600)
        monkeypatch.setattr("dockui.widgets.panes.time.time", lambda: real_time() + 2 * 3600)
        app._tick()  # the full tick
        await pilot.pause()
        assert table.get_cell(c.id, "uptime").plain.startswith("2h")


async def test_the_per_second_tick_rerenders_aged_rows_on_screen(make_container, monkeypatch):
    """Between the full ticks, the rows on screen have their ages brought up to date
    every second (whatever their age), and rows off screen are left to the full tick."""
    from dockui import app as app_module

    c = make_container()
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        await until(pilot, lambda: c.id in table.objects)
        assert c.id in table.visible_keys()
        app._ticks = 0  # not a full tick
        real_time = time.time
        monkeypatch.setattr(app_module.time, "time", lambda: real_time() + 2 * 3600)
        monkeypatch.setattr("dockui.widgets.panes.time.time", lambda: real_time() + 2 * 3600)
        calls = []
        original = table.rerender
        monkeypatch.setattr(
            table, "rerender", lambda keys=None: calls.append(keys) or original(keys)
        )
        app._tick()
        await pilot.pause()
        assert table.get_cell(c.id, "uptime").plain.startswith("2h")
        shown = set(table.visible_keys())
        assert all(set(keys) <= shown for keys in calls if keys is not None)
