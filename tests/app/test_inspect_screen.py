"""The inspect screen on real containers, driven by keys: secrets masked until `v` (in the Env
and the JSON tabs), JSON search, processes, health-check history, stats, and a container that
is removed while its screen is open.

The app does not wire the operations controller yet: each test builds `Ops(app)` itself (the
harness) and calls its entry points, then drives the screen with keys."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from dockui.app import DockuiApp
from dockui.engine.inspect import MASK
from dockui.engine.stats import StatsSample, compute, fetch_stats
from dockui.ops import Ops
from dockui.screens.inspect import InspectScreen
from tests.app.test_app import until

pytestmark = pytest.mark.engine


def harness(app: DockuiApp, history: Any = None) -> tuple[Ops, list[str]]:
    """The controller as the app will hold it, and the notifications it shows."""
    if history is not None or not hasattr(app, "stats_history"):
        app.stats_history = history or (lambda cid: ())  # type: ignore[attr-defined]
    notes: list[str] = []
    notify = app.notify

    def recording(message: str, **kwargs: Any) -> None:
        notes.append(str(message))
        notify(message, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return Ops(app), notes


async def open_inspect(app: DockuiApp, pilot: Any, ops: Ops, cid: str) -> InspectScreen:
    await until(pilot, lambda: app.connected and app.engine is not None, timeout=10)
    ops.open_inspect(cid)
    await until(pilot, lambda: isinstance(app.screen, InspectScreen), timeout=10)
    screen = app.screen
    assert isinstance(screen, InspectScreen)
    await until(pilot, lambda: screen.active_tab == "overview")
    return screen


def shown(widget: Any) -> str:
    """The plain text a Static shows."""
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


def env_rows(screen: InspectScreen) -> dict[str, str]:
    table = screen.env_table
    return {
        table.get_row_at(i)[0].plain: table.get_row_at(i)[1].plain for i in range(table.row_count)
    }


def tree_text(screen: InspectScreen) -> str:
    """Every label of the JSON tree (expanded or not), one a line."""
    lines: list[str] = []

    def walk(node: Any) -> None:
        for child in node.children:
            lines.append(child.label.plain)
            walk(child)

    walk(screen.json_tree.root)
    return "\n".join(lines)


async def test_secrets_masked_until_v_and_json_search(make_container):
    marker = f"findme{uuid.uuid4().hex[:8]}"
    c = make_container(
        environment={"DB_PASSWORD": "hunter2", "PLAIN": "x"},
        labels={"dockui.test.marker": marker},
    )
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, _ = harness(app)
        screen = await open_inspect(app, pilot, ops, c.id)
        # Overview: the container's own facts, its labels among them.
        overview = screen.overview_table
        fields = {
            overview.get_row_at(i)[0].plain.strip(): overview.get_row_at(i)[1].plain
            for i in range(overview.row_count)
        }
        assert fields["Name"] == c.name and fields["dockui.test.marker"] == marker

        # Env: the secret is masked, the plain value is not.
        await pilot.press("3")
        await until(pilot, lambda: screen.active_tab == "env")
        assert env_rows(screen)["DB_PASSWORD"] == MASK
        assert env_rows(screen)["PLAIN"] == "x"
        # JSON: masked there too, and a search cannot find the hidden value.
        await pilot.press("2")
        await until(pilot, lambda: screen.active_tab == "json")
        assert f"DB_PASSWORD={MASK}" in tree_text(screen)
        assert "hunter2" not in tree_text(screen)
        await pilot.press("slash", *"hunter2")
        await until(pilot, lambda: screen.query_text == "hunter2")
        assert screen.hits == []

        # The search finds the label, unfolds its parents and puts the cursor on it.
        await pilot.press(*["backspace"] * 7, *marker, "enter")
        await until(pilot, lambda: screen.query_text == marker and screen.json_tree.has_focus)
        assert len(screen.hits) == 1
        await until(
            pilot,
            lambda: screen.json_tree.cursor_node is screen.hits[0],
        )
        hit = screen.json_tree.cursor_node
        assert hit is not None and hit.label.plain == f'dockui.test.marker: "{marker}"'
        assert hit.parent is not None and hit.parent.data.key == "Labels"
        assert hit.parent.is_expanded and hit.parent.parent.is_expanded  # Config
        # n/N cycle over the hits (one here: it stays).
        await pilot.press("n")
        await pilot.pause()
        assert screen.current_hit is hit
        # A search with several hits: n moves forward, N back.
        screen.search_input.value = "dockui.test"
        await until(pilot, lambda: len(screen.hits) >= 3)
        first = screen.current_hit
        await pilot.press("n")
        assert screen.current_hit is not first
        await pilot.press("N")
        assert screen.current_hit is first

        # v reveals in both tabs; v again masks.
        await pilot.press("v")
        assert "DB_PASSWORD=hunter2" in tree_text(screen)
        assert env_rows(screen)["DB_PASSWORD"] == "hunter2"
        screen.search_input.value = "hunter2"
        await until(pilot, lambda: len(screen.hits) == 1)
        await pilot.press("v")
        assert "hunter2" not in tree_text(screen)
        assert env_rows(screen)["DB_PASSWORD"] == MASK
        assert screen.hits == []

        # Esc closes the search first, then the screen.
        screen.search_input.focus()
        await pilot.press("escape")
        assert isinstance(app.screen, InspectScreen) and screen.json_tree.has_focus
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, InspectScreen))


async def test_processes_refresh_and_removed_container(make_container, docker_client):
    c = make_container(["sleep", "31337"])
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, notes = harness(app)
        screen = await open_inspect(app, pilot, ops, c.id)
        await pilot.press("7")
        await until(pilot, lambda: screen.processes is not None, timeout=10)
        assert screen.processes is not None
        commands = screen.processes.column("CMD")
        assert any("sleep 31337" in cmd for cmd in commands), commands
        assert screen.processes_table.row_count == len(screen.processes.processes)

        # r asks again (the engine answers with the same process).
        before = screen.processes
        await pilot.press("r")
        await until(pilot, lambda: screen.processes is not before, timeout=10)

        # Not running: a sentence instead of a table.
        await asyncio.to_thread(c.stop, timeout=0)
        await pilot.press("r")
        await until(pilot, lambda: "is not running" in shown(screen.processes_status))

        # Removed while open: said on the screen, no crash, no more requests.
        await asyncio.to_thread(c.remove, force=True)
        await pilot.press("1", "r")
        await until(pilot, lambda: screen.gone == "container removed", timeout=10)
        assert "container removed" in shown(screen.header_line)
        await pilot.press("r")  # says so again, quietly
        await pilot.pause(0.1)
        assert isinstance(app.screen, InspectScreen)
        assert not any("Traceback" in n for n in notes)

        # Inspecting a container that no longer exists: one sentence, no screen.
        await pilot.press("escape")
        ops.open_inspect(c.id)
        await until(pilot, lambda: any("no longer exists" in n for n in notes), timeout=10)
        assert not isinstance(app.screen, InspectScreen)


async def test_health_check_history(make_container, docker_client):
    c = make_container(
        healthcheck={
            "test": ["CMD-SHELL", "echo probe-says-ok"],
            "interval": 1_000_000_000,
        }
    )

    def runs() -> int:
        health = docker_client.api.inspect_container(c.id)["State"].get("Health") or {}
        return len(health.get("Log") or ())

    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, _ = harness(app)
        screen = await open_inspect(app, pilot, ops, c.id)
        await pilot.press("6")
        await until(pilot, lambda: screen.active_tab == "health")
        # Runs every second: the tab re-reads while it shows, so the history grows on screen.
        await until(pilot, lambda: screen.health_table.row_count >= 2, timeout=15)
        summary = shown(screen.health_summary)
        assert "healthy" in summary and "echo probe-says-ok" in summary
        newest = screen.health_table.get_row_at(0)
        assert newest[2].plain == "0" and newest[3].plain == "probe-says-ok"
        assert screen.health_table.row_count <= max(1, await asyncio.to_thread(runs))
        assert "probe-says-ok" in shown(screen.health_output)

    # A container without a health check says so.
    plain = make_container()
    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, _ = harness(app)
        screen = await open_inspect(app, pilot, ops, plain.id)
        await pilot.press("6")
        assert "No health check" in shown(screen.health_summary)
        assert not screen.health_table.display


async def test_stats_tab_shows_sparklines_and_latest_numbers(make_container, docker_client):
    c = make_container(["sh", "-c", "while true; do :; done"])
    from dockui.engine.client import connect

    engine = await asyncio.to_thread(connect)
    try:
        samples: list[StatsSample] = []
        prev = None
        for _ in range(3):
            raw = await asyncio.to_thread(fetch_stats, engine, c.id)
            samples.append(compute(raw, prev))
            prev = raw
    finally:
        engine.close()
    asked: list[str] = []

    def history(cid: str) -> tuple[StatsSample, ...]:
        asked.append(cid)
        return tuple(samples)

    app = DockuiApp()
    async with app.run_test(size=(130, 40)) as pilot:
        ops, _ = harness(app, history)
        screen = await open_inspect(app, pilot, ops, c.id)
        assert ops.stats_targets() == [c.id]
        await pilot.press("8")
        await until(pilot, lambda: screen.active_tab == "stats")
        assert asked and set(asked) == {c.id}
        assert list(screen.cpu_spark.data or []) == [s.cpu_percent or 0.0 for s in samples]
        assert list(screen.mem_spark.data or []) == [float(s.mem_usage) for s in samples]
        numbers = shown(screen.stats_numbers)
        for label in ("CPU", "Memory", "Net rx / tx", "Block read / write", "PIDs"):
            assert label in numbers
        assert samples[-1].cpu_percent is not None and f"{samples[-1].cpu_percent:.2f} %" in numbers
