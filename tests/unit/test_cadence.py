"""The list-update cadence: at most every `every` seconds, and when it falls due it first
stands aside for the user's keys (as long as they ask, never more than `yield_max`)."""

from __future__ import annotations

import time

from textual.app import App

from dockui.app import Cadence

QUIET = 0.1


async def test_a_due_update_stands_aside_for_keys_but_not_for_long() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        ran: list[float] = []
        last_key = [0.0]
        cadence = Cadence(
            app,
            0.05,
            lambda: ran.append(time.monotonic()),
            yield_to=lambda: last_key[0] + QUIET - time.monotonic(),
            yield_max=0.4,
        )

        async def until(n: int, timeout: float = 2.0) -> None:
            deadline = time.monotonic() + timeout
            while len(ran) < n:
                assert time.monotonic() < deadline
                await pilot.pause(0.01)

        cadence.request()  # no key for long: at once
        assert len(ran) == 1

        await pilot.pause(0.1)
        last_key[0] = time.monotonic()  # a key just now: wait for the quiet spell
        cadence.request()
        assert len(ran) == 1
        await until(2)
        assert QUIET - 0.02 <= ran[1] - last_key[0] < 1.0  # (upper bound: a slow machine)

        await pilot.pause(0.1)
        start = last_key[0] = time.monotonic()  # keys every 50 ms: it comes anyway,
        cadence.request()  # after yield_max
        while len(ran) < 3:
            assert time.monotonic() - start < 2.0
            last_key[0] = time.monotonic()
            await pilot.pause(0.05)
        assert 0.4 - 0.02 <= ran[2] - start < 1.2  # keys never stopped: yield_max held


async def test_without_yield_to_a_due_update_runs_on_time() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        ran: list[float] = []
        cadence = Cadence(app, 0.2, lambda: ran.append(time.monotonic()))
        cadence.request()
        start = time.monotonic()
        cadence.request()  # within the interval: when it is up
        while len(ran) < 2:
            assert time.monotonic() - start < 2.0
            await pilot.pause(0.01)
        assert 0.15 <= ran[1] - start < 1.0
