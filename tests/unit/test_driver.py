"""The quiet input thread: keys and a lone Escape still arrive, the thread sleeps while no
key comes, and stopping it is immediate. Run on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import threading
import time
import tty
from typing import Any

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from dockui import driver as quiet
from dockui.app import DockuiApp
from dockui.driver import POLL, QuietLinuxDriver, parser_timeout


def test_parser_timeout_only_while_a_sequence_is_pending() -> None:
    parser = XTermParser()
    assert parser_timeout(parser, time.monotonic()) is None
    list(parser.feed("\x1b"))  # a lone Escape: the parser waits to see if more follows
    due = parser_timeout(parser, time.monotonic())
    assert due is not None and 0 < due <= 0.2
    assert parser_timeout(parser, time.monotonic() + 10) == 0.0
    assert parser_timeout(object(), 0.0) == POLL  # a parser without the deadline: poll


def test_the_app_uses_the_quiet_driver_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("textual.constants.DRIVER", None)
    assert DockuiApp.get_driver_class(DockuiApp.__new__(DockuiApp)) is QuietLinuxDriver


class _App:
    """What the driver's input thread touches of an app: nothing but a sender."""


@pytest.fixture
def pty_driver(monkeypatch: pytest.MonkeyPatch):
    saved = {s: signal.getsignal(s) for s in (signal.SIGTSTP, signal.SIGCONT)}
    master, slave = os.openpty()
    tty.setraw(slave)  # as the driver leaves a terminal: keys arrive one by one
    loops = 0

    class CountingSelector(selectors.SelectSelector):
        def select(self, timeout: float | None = None):
            nonlocal loops
            loops += 1
            return super().select(timeout)

    monkeypatch.setattr(quiet.selectors, "SelectSelector", CountingSelector)

    async def make() -> QuietLinuxDriver:
        return QuietLinuxDriver(_App())  # type: ignore[arg-type]

    driver = asyncio.run(make())
    driver.fileno = slave
    got: list[Any] = []
    driver.process_message = got.append  # type: ignore[method-assign]
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        yield driver, thread, master, got, lambda: loops
    finally:
        driver.exit_event.set()
        thread.join(2)
        driver.close()
        os.close(master)
        os.close(slave)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _keys(got: list[Any]) -> list[str]:
    return [m.key for m in got if isinstance(m, events.Key)]


def _wait(cond, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_keys_arrive_and_the_idle_thread_sleeps(pty_driver) -> None:
    _, _, master, got, loops = pty_driver
    os.write(master, b"j")
    _wait(lambda: _keys(got) == ["j"])
    before = loops()
    time.sleep(0.6)  # Textual's own thread would wake 6 times in this
    assert loops() - before <= 1
    os.write(master, b"\x1b")  # a lone Escape is still told from the start of a sequence
    _wait(lambda: _keys(got) == ["j", "escape"])
    os.write(master, b"\x1b[A")  # and a sequence is still one key
    _wait(lambda: _keys(got) == ["j", "escape", "up"])


def test_stopping_wakes_the_sleeping_thread(pty_driver) -> None:
    driver, thread, *_ = pty_driver
    time.sleep(0.2)
    driver.exit_event.set()
    thread.join(2)
    assert not thread.is_alive()  # without the wake-up it sleeps until the next key
