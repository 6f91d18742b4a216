"""The containers table's own cost at scale, in process, without an engine.

Builds dockui's real ContainersPane in a headless Textual app and times what the app does
to it: the first list of N containers, the 1 s tick (re-render of the rows whose times
show seconds: none at idle), the 30 s full re-render, a stats tick for the running rows on
screen, one changed container, and removals of 500 containers in batches like the
watcher sends them (the event debounce), with the repaint of the rows on screen that
follows each batch. Prints milliseconds per operation (median of
--repeat runs) — CPU on the UI thread, which is what keys wait behind.

    python bench/table.py                 # 1,000 containers (200 running)
    python bench/table.py --containers 2000 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, replace

from textual.app import App, ComposeResult

from dockui.engine.models import ContainerSummary
from dockui.widgets.panes import ContainersPane


@dataclass
class Sample:
    cpu_percent: float
    mem_usage: int


def fleet(n: int, running: int) -> list[ContainerSummary]:
    now = time.time()
    out = []
    for k in range(n):
        up = k < running
        out.append(
            ContainerSummary(
                id=f"{k:064x}",
                name=f"dkscale-c{k:04d}",
                image="dkscale/img-07:tag-1234",
                image_id="sha256:" + "a" * 64,
                command="sleep 100000",
                created=now - 3600 - k,
                state="running" if up else "created",
                status="Up 2 hours" if up else "Created",
                state_since=now - 7200 if up else None,
            )
        )
    return out


class Bench(App[None]):
    def compose(self) -> ComposeResult:
        yield ContainersPane(id="containers")


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


async def run(n: int, running: int, repeat: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}

    def add(name: str, ms: float) -> None:
        results.setdefault(name, []).append(ms)

    for _ in range(repeat):
        await one_round(n, running, add)
    return results


async def one_round(n: int, running: int, add) -> None:
    objs = fleet(n, running)
    async with Bench().run_test(size=(160, 50)) as pilot:
        pane = pilot.app.query_one(ContainersPane)
        table = pane.table
        add(f"first list of {n}", timed(lambda: pane.update_objects(objs, full=True)))
        await pilot.pause()
        add("1 s tick, nothing young", timed(lambda: table.rerender([])))
        add(f"30 s tick, re-render all {n}", timed(lambda: table.rerender()))
        visible = [o.id for o in objs[:45]]
        for k, cid in enumerate(visible):
            pane.stats[cid] = Sample(cpu_percent=k * 0.1, mem_usage=1 << 20)
        add("stats tick, 45 rows on screen", timed(lambda: table.rerender(visible)))
        one = replace(objs[300], state="running", status="Up 1 second")
        add("one container changed", timed(lambda: pane.update_objects([one])))
        await pilot.pause()
        victims = [o.id for o in objs[:500]]
        batch_ms, paint_ms = [], []
        screen = pilot.app.screen
        refresh = screen._compositor_refresh
        painted: list[float] = []

        def timed_refresh() -> None:
            painted.append(timed(refresh))

        screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        for start in range(0, 500, 50):
            batch = victims[start : start + 50]
            batch_ms.append(timed(lambda b=batch: pane.update_objects([], b)))
            painted.clear()
            await pilot.pause()
            paint_ms.append(sum(painted))
        screen._compositor_refresh = refresh  # type: ignore[method-assign]
        add("500 removed in batches of 50 (max batch)", max(batch_ms))
        add("500 removed in batches of 50 (total)", sum(batch_ms))
        add("  its repaint, the rows on screen (median batch)", statistics.median(paint_ms))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--containers", type=int, default=1000)
    p.add_argument("--running", type=int, default=200)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    results = asyncio.run(run(args.containers, args.running, args.repeat))
    width = max(map(len, results))
    for name, values in results.items():
        print(f"{name:<{width}}  {statistics.median(values):8.2f} ms")


if __name__ == "__main__":
    main()
