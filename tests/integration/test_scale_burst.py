"""A burst of removals on the real engine: the app stays interactive and ends up with exactly
the engine's containers (issue 10: `docker rm -f` of hundreds of containers at once)."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest

from dockui.app import CONTAINERS_BURST_EVERY, DockuiApp
from dockui.widgets.panes import PROJECT_PREFIX
from tests.app.test_app import until
from tests.conftest import BASE_IMAGE, TEST_LABEL, unique

pytestmark = pytest.mark.engine

BURST = 300  # created (not started) containers, removed at once
ANCHORS = 2  # kept: the cursor moves between them while the others go
WORKERS = 16


def _engine_ids(api: docker.APIClient) -> set[str]:
    return {c["Id"] for c in api.containers(all=True, quiet=True)}


def _table_container_keys(app: DockuiApp) -> set[str]:
    """The container rows of the table (not compose project header rows)."""
    keys = {key.value for key in app.containers_pane.table.rows}
    return {k for k in keys if k is not None and not k.startswith(PROJECT_PREFIX)}


async def test_removal_burst_stays_interactive_and_converges(docker_client):
    client = docker.from_env(version="auto", timeout=120, max_pool_size=WORKERS + 4)
    api = client.api
    prefix = unique("burst")
    # Anchors sort just before the burst's containers (same state, names "-a-" < "-b-").
    anchor_names = [f"{prefix}-a-{i}" for i in range(ANCHORS)]
    burst_names = [f"{prefix}-b-{i:03d}" for i in range(BURST)]
    made: list[str] = []

    def create(name: str) -> str:
        cid = api.create_container(
            BASE_IMAGE, ["sleep", "100000"], name=name, labels=dict(TEST_LABEL)
        )["Id"]
        made.append(cid)
        return cid

    def create_all(names: list[str]) -> list[str]:
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(create, names))

    def remove(cid: str) -> None:
        api.remove_container(cid, force=True)

    def remove_all(ids: list[str]) -> float:
        t0 = time.monotonic()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(remove, ids))
        return time.monotonic() - t0

    app = DockuiApp()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.connected, timeout=15)
            table = app.containers_pane.table
            anchors = await asyncio.to_thread(create_all, anchor_names)
            t0 = time.monotonic()
            ids = await asyncio.to_thread(create_all, burst_names)
            created_in = time.monotonic() - t0
            await until(pilot, lambda: all(i in app.containers for i in ids + anchors), 30)
            await until(pilot, lambda: all(i in table.objects for i in ids + anchors), 10)
            listed_after = time.monotonic() - t0

            # The cursor on the first anchor: j/k move it between the two anchors, which
            # the burst does not touch (a removal elsewhere must not move it either).
            table.focus()
            assert table.select_key(anchors[0])
            await pilot.pause()
            assert table.selected_key == anchors[0]

            def converged() -> bool:
                return not any(i in app.containers for i in ids)

            # Each apply of the pending updates: when, and the interval chosen after it.
            applies: list[tuple[float, float]] = []
            apply = app._apply_containers

            def timed_apply() -> None:
                apply()
                applies.append((time.monotonic(), app._containers_cadence.every))

            app._apply_containers = timed_apply  # type: ignore[method-assign]

            burst = asyncio.ensure_future(asyncio.to_thread(remove_all, ids))
            presses: list[float] = []
            while not burst.done() or not converged():
                # j to the second anchor, k back to the first, and so on.
                key, want = ("j", anchors[1]) if len(presses) % 2 == 0 else ("k", anchors[0])
                # Not pilot.press: it also waits for the whole process to go idle (up to a
                # second while the removal threads here are busy), which is not the app's
                # doing. The key goes the way a terminal's would; we time until it acted.
                app.simulate_key(key)
                presses.append(
                    await until(pilot, lambda w=want: table.selected_key == w, timeout=5)
                )
                assert table.cursor_row == table.get_row_index(want)
                if time.monotonic() - t0 > 80:
                    break
            removed_in = await burst
            await until(pilot, converged, timeout=30)

            # Converged: the app holds exactly the engine's containers (other sessions may
            # add or remove theirs meanwhile, so compare a few times until both agree).
            deadline = time.monotonic() + 15
            while True:
                engine = await asyncio.to_thread(_engine_ids, api)
                await pilot.pause(0.3)
                engine_again = await asyncio.to_thread(_engine_ids, api)
                if engine == engine_again and (
                    set(app.containers) == engine and _table_container_keys(app) == engine
                ):
                    break
                if time.monotonic() > deadline:
                    assert set(app.containers) == engine_again
                    assert _table_container_keys(app) == engine_again
                    break
            assert not set(ids) & set(app.containers)
            assert set(anchors) <= set(app.containers)
            assert table.selected_key in anchors  # the cursor never left the anchors
            assert str(len(app.containers)) in str(app.containers_pane.border_subtitle)
            # Coalesced: once updates came large, the next came a burst interval later.
            spaced = [
                later - when
                for (when, every), (later, _) in itertools.pairwise(applies)
                if every == CONTAINERS_BURST_EVERY
            ]
            assert spaced, f"no burst detected in {len(applies)} applies"
            assert min(spaced) >= CONTAINERS_BURST_EVERY - 0.05

            # Interactive throughout: several keys went through while the removals ran, and
            # none waited long (generous: the CI machine is shared and has two cores).
            assert len(presses) >= 3, f"only {len(presses)} key presses during the burst"
            slowest = max(presses)
            p95 = sorted(presses)[int(0.95 * (len(presses) - 1))]
            print(
                f"\n{BURST} created in {created_in:.1f} s, listed by the app after "
                f"{listed_after:.1f} s; removed in {removed_in:.1f} s; {len(presses)} keys "
                f"during the burst: median {statistics.median(presses) * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms, max {slowest * 1000:.0f} ms"
            )
            assert p95 < 1.0, f"keys took {p95:.2f} s (p95) during the burst"
            assert slowest < 2.0, f"a key took {slowest:.2f} s during the burst"
    finally:
        leftovers = [c for c in made if c in _engine_ids(api)]
        if leftovers:
            with ThreadPoolExecutor(WORKERS) as pool:
                list(pool.map(lambda c: _quiet_remove(api, c), leftovers))
        client.close()


def _quiet_remove(api: docker.APIClient, cid: str) -> None:
    try:
        api.remove_container(cid, force=True)
    except docker.errors.APIError:
        pass
