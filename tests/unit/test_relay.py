"""The relay that lets the watcher start before the UI: nothing lost, nothing reordered."""

from __future__ import annotations

import threading

from dockui.engine.watch import Relay


def test_updates_before_and_during_attach_arrive_once_and_in_order() -> None:
    relay = Relay()
    got: list[int] = []
    started = threading.Event()

    def produce() -> None:
        for n in range(20_000):
            relay(n)  # type: ignore[arg-type]
            if n == 5_000:
                started.set()

    producer = threading.Thread(target=produce)
    producer.start()
    started.wait(5)
    relay.attach(got.append)  # attaches while the producer is still going
    producer.join(10)
    assert got == list(range(20_000))


def test_after_attach_updates_go_straight_through() -> None:
    relay = Relay()
    got: list[str] = []
    relay.attach(got.append)
    relay("x")  # type: ignore[arg-type]
    assert got == ["x"]
