"""Container actions by keys, checked on the engine; read-only mode; stats columns."""

from __future__ import annotations

import asyncio

import pytest

from dockui.app import DockuiApp
from dockui.screens.confirm import ConfirmScreen
from tests.app.test_app import until
from tests.conftest import unique

pytestmark = pytest.mark.engine


@pytest.fixture
def notes(monkeypatch):
    """Every notification the app shows, kept (they expire on screen)."""
    seen: list[str] = []
    original = DockuiApp.notify

    def notify(self, message, *args, **kwargs):
        seen.append(str(message))
        return original(self, message, *args, **kwargs)

    monkeypatch.setattr(DockuiApp, "notify", notify)
    return seen


def state(container) -> str:
    container.reload()
    return container.status


async def focus_on(app, pilot, container) -> None:
    table = app.containers_pane.table
    await until(pilot, lambda: container.id in table.objects)
    table.focus()
    table.select_key(container.id)
    await pilot.pause()


async def test_stop_start_restart_pause_by_keys(make_container):
    c = make_container(name=unique("act"))
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await focus_on(app, pilot, c)
        await pilot.press("s")
        await until(pilot, lambda: state(c) == "exited", timeout=15)
        await until(pilot, lambda: app.containers[c.id].state == "exited")
        table = app.containers_pane.table
        table.select_key(c.id)
        await pilot.press("S")
        await until(pilot, lambda: state(c) == "running", timeout=10)
        await until(pilot, lambda: app.containers[c.id].state == "running")
        table.select_key(c.id)
        await pilot.press("p")
        await until(pilot, lambda: state(c) == "paused", timeout=10)
        await until(pilot, lambda: app.containers[c.id].state == "paused")
        table.select_key(c.id)
        await pilot.press("p")
        await until(pilot, lambda: state(c) == "running", timeout=10)
        started = c.attrs["State"]["StartedAt"]
        await until(pilot, lambda: app.containers[c.id].state == "running")
        table.select_key(c.id)
        await pilot.press("r")
        await until(pilot, lambda: (c.reload(), c.attrs["State"]["StartedAt"])[1] != started, 15)


async def test_remove_asks_first_and_refusals_are_sentences(make_container, docker_client, notes):
    c = make_container(name=unique("rm"))
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await focus_on(app, pilot, c)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert c.name in str(app.screen.body_text)
        await pilot.press("escape")  # cancel: nothing happens
        await pilot.pause(0.5)
        assert state(c) == "running"
        # A running container cannot be removed without force: the engine's refusal, in words.
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(
            pilot,
            lambda: any("stop it first" in n for n in notes),
            timeout=10,
        )
        assert state(c) == "running"
        # Stopped, it goes.
        await pilot.press("s")
        await until(pilot, lambda: state(c) == "exited", timeout=15)
        await until(pilot, lambda: app.containers[c.id].state == "exited")
        app.containers_pane.table.select_key(c.id)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: c.id not in app.containers, timeout=10)
        ids = [x.id for x in docker_client.containers.list(all=True)]
        assert c.id not in ids


async def test_bulk_action_on_marked_containers(make_container, notes):
    prefix = unique("bulk")
    mine = [make_container(name=f"{prefix}-{i}") for i in range(3)]
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        await until(pilot, lambda: all(c.id in table.objects for c in mine))
        table.focus()
        for c in mine[:2]:
            table.select_key(c.id)
            await pilot.press("space")
        await pilot.press("s")
        await until(pilot, lambda: all(state(c) == "exited" for c in mine[:2]), timeout=20)
        assert state(mine[2]) == "running"  # not marked: untouched
        await until(pilot, lambda: any("stopped" in n for n in notes), timeout=5)


async def test_read_only_refuses_every_change(make_container, notes):
    c = make_container(name=unique("ro"))
    app = DockuiApp(read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await focus_on(app, pilot, c)
        assert "READ-ONLY" in str(app.status.render())
        for key in ("s", "r", "p", "d", "K", "e"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert not isinstance(app.screen, ConfirmScreen)
        app.images_pane.focus()
        for key in ("b", "R"):
            await pilot.press(key)
            await pilot.pause(0.1)
        assert sum("read-only" in m for m in notes) >= 7
        await asyncio.sleep(0.5)
        assert state(c) == "running"


async def test_cpu_and_memory_columns_follow_a_busy_container(make_container):
    busy = make_container(["sh", "-c", "while :; do :; done"], name=unique("cpu"))
    app = DockuiApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await focus_on(app, pilot, busy)
        await until(pilot, lambda: busy.id in app.containers_pane.stats, timeout=15)
        await until(
            pilot,
            lambda: (app.containers_pane.stats[busy.id].cpu_percent or 0) > 30,
            timeout=15,
        )
        table = app.containers_pane.table
        await until(pilot, lambda: table.get_cell(busy.id, "cpu").plain.endswith("%"))
        cpu = table.get_cell(busy.id, "cpu").plain
        assert float(cpu[:-1]) > 30
        # c hides the columns and stops sampling.
        app.containers_pane.focus()
        await pilot.press("c")
        await pilot.pause(1.5)
        assert app._stats_targets == ()


async def test_compose_project_groups_collapses_and_acts_on_all(make_container):
    project = unique("proj")
    labels = {"com.docker.compose.project": project}
    mine = [
        make_container(["sh", "-c", f"while true; do echo svc{i}; sleep 0.3; done"],
                       name=f"{project}-svc{i}-1",
                       labels={**labels, "com.docker.compose.service": f"svc{i}"})
        for i in range(2)
    ]  # fmt: skip
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.containers_pane.table
        header = f"project:{project}"
        await until(
            pilot, lambda: header in table.objects and all(c.id in table.objects for c in mine)
        )
        await until(pilot, lambda: "2/2 running" in table.get_cell(header, "state").plain)
        # The header comes first, its members right below it.
        order = [row.key.value for row in table.ordered_rows]
        at = order.index(header)
        assert set(order[at + 1 : at + 3]) == {c.id for c in mine}
        # Highlighting the project merges its containers' logs.
        table.focus()
        table.select_key(header)
        await until(pilot, lambda: set(app.log_session.ids()) == {c.id for c in mine})
        await until(pilot, lambda: {"svc0", "svc1"} <= set(app.logs_pane.plain_lines), timeout=8)
        # Space collapses it (members hidden), again expands it.
        await pilot.press("space")
        await until(pilot, lambda: all(c.id not in table.rows for c in mine))
        assert "▸" in table.get_cell(header, "name").plain
        await pilot.press("space")
        await until(pilot, lambda: all(c.id in table.rows for c in mine))
        # An action on the header acts on the whole project.
        table.select_key(header)
        await pilot.press("s")
        await until(pilot, lambda: all(state(c) == "exited" for c in mine), timeout=20)


async def test_image_keys_tag_and_remove(docker_client):
    import uuid

    from dockui.screens.prompt import PromptScreen
    from tests.conftest import build_image

    tag = f"dockui-test/keys:{uuid.uuid4().hex[:6]}"
    image = build_image(docker_client, "FROM dockui-test/busybox\nLABEL k=1\n", {}, tag)
    new = f"dockui-test/keys-copy:{uuid.uuid4().hex[:6]}"
    try:
        app = DockuiApp()
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.images_pane.table
            await until(pilot, lambda: image.id in table.objects)
            table.focus()
            table.select_key(image.id)
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, PromptScreen))
            assert app.screen.input.value == tag  # prefilled with the current name
            app.screen.input.value = ""
            await pilot.press(*new, "enter")
            await until(pilot, lambda: new in app.images.get(image.id).tags, timeout=10)
            table.select_key(image.id)
            await pilot.press("D")  # force: the image has two tags now
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: image.id not in app.images, timeout=10)
    finally:
        for ref in (tag, new):
            try:
                docker_client.images.remove(ref, force=True)
            except Exception:
                pass
