"""The watcher's batching of engine events, on a scripted engine (timing is what is tested;
tests/integration/test_watcher.py has the real engine)."""

from __future__ import annotations

import queue
import time
from typing import Any

from dockui.engine.models import EngineInfo
from dockui.engine.watch import BURST_EVENTS, Watcher


class ScriptedEngine:
    """Events pushed by the test; every filtered list call is recorded (time, ids)."""

    def __init__(self) -> None:
        self.info = EngineInfo(host="unix:///scripted", server_version="x", api_version="1.41")
        self.events_in: queue.Queue[Any] = queue.Queue()
        self.refreshes: list[tuple[float, int]] = []

    def events(self, filters: Any = None, linger: float = 0.0) -> Any:
        engine = self

        class Stream:
            def __iter__(self):
                while (item := engine.events_in.get()) is not None:
                    yield item

            def close(self) -> None:
                engine.events_in.put(None)

        return Stream()

    def list_containers(self, ids: list[str] | None = None) -> list[Any]:
        if ids:
            self.refreshes.append((time.monotonic(), len(ids)))
        return []

    def list_images(self) -> list[Any]:
        return []

    def image(self, ref: str) -> None:
        return None

    def ping(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass


def _event(i: int) -> dict[str, Any]:
    return {"Type": "container", "Action": "destroy", "Actor": {"ID": f"c{i:04d}"}}


def _watch(engine: ScriptedEngine) -> Watcher:
    watcher = Watcher(lambda update: None, connector=lambda host: engine)  # type: ignore[arg-type,return-value]
    watcher.start()
    deadline = time.monotonic() + 5
    while watcher.stats["full_lists"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return watcher


def test_a_stream_of_events_is_gathered_into_few_refreshes() -> None:
    engine = ScriptedEngine()
    watcher = _watch(engine)
    try:
        began = time.monotonic()
        for i in range(150):  # 100 events a second for 1.5 s: a removal burst
            engine.events_in.put(_event(i))
            time.sleep(0.01)
        time.sleep(1.2)
        assert sum(n for _, n in engine.refreshes) == 150  # every container asked about
        # 150 ms batches would be ~10 requests; once the batches are large, 0.8 s ones
        assert len(engine.refreshes) <= 5, engine.refreshes
        assert engine.refreshes[-1][0] - began < 1.5 + watcher.burst_debounce + 0.3
    finally:
        watcher.stop(timeout=1)


def test_a_few_events_are_not_slowed_down() -> None:
    engine = ScriptedEngine()
    watcher = _watch(engine)
    try:
        for i in range(4):  # a restart: a handful of events, spread out
            sent = time.monotonic()
            for j in range(BURST_EVENTS - 1):
                engine.events_in.put(_event(i * 100 + j))
            deadline = time.monotonic() + 2
            while len(engine.refreshes) <= i:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            assert engine.refreshes[i][0] - sent < watcher.debounce + 0.15
            time.sleep(0.3)
    finally:
        watcher.stop(timeout=1)


def test_the_watcher_sleeps_through_a_window_instead_of_waking_per_event() -> None:
    """In a burst the watcher takes each window's events in one go: it used to wake for
    every event (and take the interpreter from the UI thread each time)."""
    engine = ScriptedEngine()
    watcher = _watch(engine)
    events = watcher._queue  # the session's queue (the loop reads this very object)
    gets: list[float] = []
    real_get = events.get

    def counting_get(block: bool = True, timeout: float | None = None) -> Any:
        if block:  # a wait (get_nowait is get(block=False))
            gets.append(time.monotonic())
        return real_get(block, timeout)

    events.get = counting_get  # type: ignore[method-assign]
    try:
        for i in range(150):  # 100 events a second for 1.5 s
            engine.events_in.put(_event(i))
            time.sleep(0.01)
        time.sleep(1.2)
        assert sum(n for _, n in engine.refreshes) == 150
        assert len(gets) <= 8, len(gets)  # a blocking get per window, not one per event
    finally:
        watcher.stop(timeout=1)


def test_an_event_stamps_only_the_state_it_starts() -> None:
    """A "die" seen while the list still says "running" (`docker rm -f`: the kill under way)
    leaves the run's start time alone; stamping it made the same run look like a new one,
    and the Logs pane re-opened the stream of a container on its way out."""
    from dockui.engine.models import ContainerSummary

    started = 1_000.0
    now = {"state": "running"}

    def summary() -> ContainerSummary:
        return ContainerSummary(
            id="c1", name="web", image="img", image_id="sha256:x", command="sh",
            created=started - 10, state=now["state"], status="", state_since=started,
        )  # fmt: skip

    class Listing(ScriptedEngine):
        def list_containers(self, ids: list[str] | None = None) -> list[Any]:
            return [summary()]

    sent: list[Any] = []
    watcher = Watcher(sent.append, connector=lambda host: Listing())  # type: ignore[arg-type,return-value]
    watcher.containers = {"c1": summary()}

    def event(action: str, at: float) -> dict[str, Any]:
        return {"Type": "container", "Action": action, "Actor": {"ID": "c1"}, "timeNano": at * 1e9}

    engine = Listing()
    watcher._apply(engine, [event("kill", 2_000.0), event("die", 2_000.5)])  # type: ignore[arg-type]
    assert watcher.containers["c1"].state_since == started and not sent
    now["state"] = "exited"  # the list caught up: the death's time is the exit's
    watcher._apply(engine, [event("die", 2_000.5)])  # type: ignore[arg-type]
    assert watcher.containers["c1"].state_since == 2_000.5
    now["state"] = "running"  # a start is a new run
    watcher._apply(engine, [event("start", 3_000.0)])  # type: ignore[arg-type]
    assert watcher.containers["c1"].state_since == 3_000.0
    assert [u.upserts[0].state_since for u in sent] == [2_000.5, 3_000.0]
