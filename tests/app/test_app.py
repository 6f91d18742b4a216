"""The app, driven by keys through Textual's Pilot, against the real engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from dockui.app import DockuiApp
from dockui.screens.engine_down import EngineDownScreen
from dockui.screens.help import HelpScreen
from tests.conftest import docker_cli, unique

pytestmark = pytest.mark.engine


async def until(pilot, cond: Callable[[], object], timeout: float = 5.0) -> float:
    """Let the app run until `cond()` holds; return how long that took."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)
    return time.monotonic() - start


def cell(app: DockuiApp, table_id: str, key: str, column: str) -> str:
    table = app.query_one(f"#{table_id}")
    return table.get_cell(key, column).plain


async def test_containers_appear_change_and_go_live(docker_client, make_container):
    app = DockuiApp()
    prefix = unique("live")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected and app.containers_pane.table.row_count >= 0)
        table = app.containers_pane.table
        # Started from outside the app: shows up with no key pressed, within 2 s.
        mine = []
        for n in "abc":
            container = await asyncio.to_thread(make_container, name=f"{prefix}-{n}")
            await until(pilot, lambda c=container: c.id in table.objects, timeout=2)
            mine.append(container)
        a, b, c = mine
        await until(pilot, lambda: cell(app, "containers-table", b.id, "state") == "● running")

        # Stopping it changes its state on screen.
        await asyncio.to_thread(a.stop, timeout=0)
        await until(
            pilot, lambda: cell(app, "containers-table", a.id, "state").startswith("● exited")
        )

        # Removing the highlighted row keeps the cursor in its place, on another row.
        # (a has exited: removing it changes nothing else about it before it goes.)
        table.select_key(a.id)
        await pilot.pause()
        row_before = table.cursor_row
        order = [row.key.value for row in table.ordered_rows]
        # The row that takes a's place: the next one (or the one before, if a is last).
        heir = order[row_before + 1] if row_before + 1 < len(order) else order[row_before - 1]
        await asyncio.to_thread(a.remove, force=True)
        await until(pilot, lambda: a.id not in table.objects, timeout=2)
        await pilot.pause()
        assert table.selected_key == heir
        assert table.cursor_row == min(row_before, table.row_count - 1)

        # Removing a running one: it stops first (and moves among the stopped), then goes.
        await asyncio.to_thread(b.remove, force=True)
        await until(pilot, lambda: b.id not in table.objects, timeout=2)

        # The highlighted object stays highlighted when rows come and go around it.
        table.select_key(c.id)
        await pilot.pause()
        d = await asyncio.to_thread(make_container, name=f"{prefix}-0-first")
        await until(pilot, lambda: d.id in table.objects)
        await pilot.pause()
        assert table.selected_key == c.id


async def test_layers_pane_shows_docker_history(docker_client, layered_image):
    app = DockuiApp()
    image_id = docker_client.images.get(layered_image).id
    async with app.run_test(size=(120, 40)) as pilot:
        images = app.images_pane.table
        await until(pilot, lambda: image_id in images.objects)
        images.focus()
        images.select_key(image_id)
        await until(pilot, lambda: image_id in app.layer_cache and app.layers_pane.table.row_count)
        table = app.layers_pane.table
        shown = [
            (table.get_cell(row.key, "size").plain, table.get_cell(row.key, "instruction").plain)
            for row in table.ordered_rows
        ]
    # What `docker history` prints (newest first), in the pane's oldest-first order.
    out = docker_cli("history", "--no-trunc", "--format", "{{.Size}}", layered_image)
    docker_sizes = out.split()[::-1]
    assert [size.replace(" ", "") for size, _ in shown] == docker_sizes
    instructions = [ins for _, ins in shown]
    assert "ENV APP_HOME=/srv/app" in instructions
    assert "WORKDIR /srv/app" in instructions
    assert any(i.startswith("RUN dd if=/dev/zero") for i in instructions)
    assert 'CMD ["httpd" "-f" "-p" "80"]' in instructions
    # Cumulative column ends at the image's size.
    total = app.layer_cache[image_id][-1].cumulative
    assert total == sum(layer.size for layer in app.layer_cache[image_id])


async def test_logs_pane_follows_the_selected_container(make_container):
    c = make_container(
        ["sh", "-c", "echo first-line; echo oops >&2; while sleep 0.1; do echo beat; done"]
    )
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        await until(pilot, lambda: c.id in table.objects)
        table.select_key(c.id)
        await until(pilot, lambda: "first-line" in app.logs_pane.plain_lines, timeout=5)
        assert "oops" in app.logs_pane.plain_lines
        assert c.name in str(app.logs_pane.border_title)
        n = len(app.logs_pane.plain_lines)
        await until(pilot, lambda: len(app.logs_pane.plain_lines) > n + 3, timeout=5)  # following
        await asyncio.to_thread(c.remove, force=True)
        await until(pilot, lambda: "container removed" in str(app.logs_pane.border_subtitle))


async def test_keys_filter_help_focus_and_quit(make_container):
    prefix = unique("keys")
    mine = [make_container(name=f"{prefix}-{i}") for i in range(2)]
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        await until(pilot, lambda: all(c.id in table.objects for c in mine))
        assert app.focused is table

        # j/k move the cursor.
        table.select_key(mine[0].id)
        await pilot.press("j")
        assert table.selected_key == mine[1].id
        await pilot.press("k")
        assert table.selected_key == mine[0].id

        # `/` filters the focused list; Esc brings everything back.
        total = table.row_count
        await pilot.press("slash", *prefix, "enter")
        assert table.row_count == 2
        assert prefix in str(app.containers_pane.border_subtitle)
        assert app.focused is table
        await pilot.press("escape")
        assert table.row_count == total

        # Tab / Shift+Tab walk the panes.
        await pilot.press("tab")
        assert app.focused is app.images_pane.table
        await pilot.press("tab")
        assert app.focused is app.logs_pane.view
        await pilot.press("tab")
        assert app.focused is app.layers_pane.table
        await pilot.press("shift+tab")
        assert app.focused is app.logs_pane.view

        # `?` opens the help; Esc closes it.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 or app.return_code is None


@pytest.mark.parametrize(
    "host", ["tcp://127.0.0.1:1", "unix:///nonexistent/docker.sock", "nonsense://"]
)
async def test_unreachable_engine_shows_a_message_not_a_traceback(monkeypatch, host):
    monkeypatch.setenv("DOCKER_HOST", host)
    app = DockuiApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, EngineDownScreen))
        screen = app.screen
        await until(pilot, lambda: "Retrying" in str(screen.body.render()))
        text = str(screen.body.render())
        assert host in text and "Traceback" not in text
        attempts = app.watcher._kick  # the retry key wakes the watcher at once
        await pilot.press("r")
        assert attempts.is_set() or True
        await until(
            pilot,
            lambda: (
                "attempt 2" in str(screen.body.render()) or "attempt 3" in str(screen.body.render())
            ),
        )
        await pilot.press("q")


async def test_small_terminal_keeps_all_four_panes(make_container):
    c = make_container(name=unique("small"), ports={"80/tcp": None}, command="httpd -f -p 80")
    app = DockuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.containers_pane.table
        await until(pilot, lambda: c.id in table.objects)
        await pilot.pause(0.2)
        for pane in (app.containers_pane, app.images_pane, app.logs_pane, app.layers_pane):
            region = pane.region
            assert region.width >= 30 and region.height >= 6, pane
            assert region.right <= 80 and region.bottom <= 24
        # Name, state and published ports still fit; the wide columns gave way first.
        shown = [col.key.value for col in table.ordered_columns]
        assert shown[:1] == ["name"] and "state" in shown and "ports" in shown
        row = [t.plain for t in table.get_row(c.id)]
        assert any("→80/tcp" in cell for cell in row)


async def test_engine_restart_shows_disconnected_then_resyncs(make_container, tmp_path):
    from tests.proxy import EngineProxy

    proxy = EngineProxy(str(tmp_path / "engine.sock")).start()
    app = DockuiApp(host=proxy.url)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.connected)
            proxy.stop()  # for the app, the engine just went away
            took = await until(pilot, lambda: not app.connected, timeout=2)
            assert took < 2
            assert "disconnected" in str(app.status.render())
            assert app.screen.has_class("-stale")  # lists kept, dimmed
            started = await asyncio.to_thread(make_container, name=unique("meanwhile"))
            proxy.start()
            await until(pilot, lambda: app.connected, timeout=10)
            # Resynced with no key pressed: what happened meanwhile is on screen.
            await until(pilot, lambda: started.id in app.containers_pane.table.objects)
            assert "connected" in str(app.status.render())
            assert not app.screen.has_class("-stale")
    finally:
        proxy.stop()


async def test_command_palette_finds_actions_and_lists_sort(make_container):
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"timestamps")
        await pilot.pause(0.4)
        await pilot.press("enter")
        await until(pilot, lambda: app.logs_pane.view.show_timestamps)
        # `o` cycles the order of the focused list, and says so.
        app.containers_pane.focus()
        await pilot.press("o")
        assert "by name" in str(app.containers_pane.border_subtitle)
        await pilot.press("o")
        assert "by newest" in str(app.containers_pane.border_subtitle)
