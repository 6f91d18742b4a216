"""The quiet driver, on a real pseudo-terminal: keys and a lone Escape still arrive, read
on the event loop (or by a thread that sleeps while no key comes, and stops at once), and
frames reach the terminal without a thread hop, in order, never blocking on a full one."""

from __future__ import annotations

import asyncio
import fcntl
import os
import select
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
from dockui.driver import POLL, QuietLinuxDriver, TerminalWriter, parser_timeout


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
def pty_pair():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTSTP, signal.SIGCONT)}
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass
    for sig, handler in saved.items():
        signal.signal(sig, handler)


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


# -- keys read on the event loop ---------------------------------------------------------
def _loop_driver(slave: int) -> tuple[QuietLinuxDriver, list[Any]]:
    driver = QuietLinuxDriver(_App())  # type: ignore[arg-type]
    driver.fileno = slave
    got: list[Any] = []
    driver.process_message = got.append  # type: ignore[method-assign]
    return driver, got


async def _until(cond, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_keys_are_read_on_the_event_loop_without_a_thread(pty_pair) -> None:
    master, slave = pty_pair
    assert quiet.loop_can_watch(slave)

    async def main() -> None:
        driver, got = _loop_driver(slave)
        threads = threading.active_count()
        driver._start_reading()
        assert driver._reading is asyncio.get_running_loop()
        assert threading.active_count() == threads  # no input thread
        os.write(master, b"j")
        await _until(lambda: _keys(got) == ["j"])
        os.write(master, b"\x1b")  # a lone Escape: the parser's deadline, on a loop timer
        await _until(lambda: _keys(got) == ["j", "escape"])
        assert driver._tick_handle is None  # nothing pending: no timer left behind
        os.write(master, b"\x1b[A\xc3\xa9")  # a sequence is one key; UTF-8 is decoded
        await _until(lambda: _keys(got) == ["j", "escape", "up", "é"])
        os.write(master, b"\xffx")  # not UTF-8: shown as U+FFFD, and input goes on
        await _until(lambda: _keys(got)[-1:] == ["x"])
        driver.disable_input()
        assert driver._reading is None
        seen = _keys(got)
        os.write(master, b"k")  # no longer ours (a shell runs while dockui is suspended)
        await asyncio.sleep(0.1)
        assert _keys(got) == seen
        driver.close()

    asyncio.run(main())


def test_an_ended_input_stops_the_reader_instead_of_spinning(pty_pair) -> None:
    master, slave = pty_pair

    async def main() -> None:
        driver, got = _loop_driver(slave)
        driver._start_reading()
        os.write(master, b"q")
        await _until(lambda: _keys(got) == ["q"])
        os.close(master)  # the terminal hangs up: reads fail from now on
        await _until(lambda: driver._reading is None)
        driver.close()

    asyncio.run(main())


def test_what_a_loop_cannot_watch_keeps_the_input_thread(tmp_path) -> None:
    path = tmp_path / "stdin"
    path.write_text("")
    with open(path) as f:
        assert not quiet.loop_can_watch(f.fileno())  # epoll refuses regular files


# -- frames written without the thread while the terminal takes them ------------------
def _read_all(master: int, want: int, timeout: float = 5.0) -> bytes:
    out = bytearray()
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            out += os.read(master, 65536)
    return bytes(out)


def test_frames_go_straight_to_the_terminal(pty_pair) -> None:
    master, slave = pty_pair
    with open(slave, "w", encoding="utf-8", closefd=False) as file:
        writer = TerminalWriter(file)
        writer.start()
        try:
            frames = [f"frame {i} é\n" for i in range(50)]
            for frame in frames:
                writer.write(frame)
            want = "".join(frames).encode()
            assert _read_all(master, len(want)) == want
            assert writer.direct_writes == 50 and writer.queued_writes == 0
        finally:
            writer.stop()
        assert writer._fd == -1


def test_a_full_terminal_queues_the_rest_in_order_and_never_blocks(pty_pair) -> None:
    master, slave = pty_pair
    flags = fcntl.fcntl(slave, fcntl.F_GETFL)
    with open(slave, "w", encoding="utf-8", closefd=False) as file:
        writer = TerminalWriter(file)
        writer.start()
        frames = [f"{i:05d}" + "x" * 4000 + "\n" for i in range(20)]  # ~80 KB: more than
        done = threading.Event()  # a pty holds, and nobody reads yet

        def write_all() -> None:
            for frame in frames:
                writer.write(frame)
            done.set()

        threading.Thread(target=write_all, daemon=True).start()
        try:
            assert done.wait(5), "write() blocked on a full terminal"
            assert writer.queued_writes > 0 and writer.direct_writes > 0
            want = "".join(frames).encode()
            assert _read_all(master, len(want)) == want  # all of it, in order
            _wait(lambda: writer._queued == 0)
            writer.write("after\n")  # caught up: straight to the terminal again
            assert _read_all(master, 6) == b"after\n"
            assert writer.direct_writes >= 2
        finally:
            writer.stop()
    assert fcntl.fcntl(slave, fcntl.F_GETFL) == flags  # O_NONBLOCK stayed on our own fd


def test_a_file_that_is_no_terminal_keeps_the_writer_thread(tmp_path) -> None:
    path = tmp_path / "out.txt"
    with open(path, "w", encoding="utf-8") as file:
        writer = TerminalWriter(file)
        assert writer._fd == -1  # a reopened regular file would write at offset 0
        writer.start()
        for i in range(5):
            writer.write(f"line {i}\n")
        writer.stop()
    assert path.read_text() == "".join(f"line {i}\n" for i in range(5))


def test_a_terminal_that_hung_up_cannot_wedge_the_exit(pty_pair) -> None:
    """Textual's writer thread died on the first write to a hung-up terminal; 30 more
    frames filled its queue and `stop()` then blocked forever (seen once after an SSH
    drop: dockui lived on without a terminal and ignored SIGTERM)."""
    master, slave = pty_pair
    with open(slave, "w", encoding="utf-8", closefd=False) as file:
        writer = TerminalWriter(file)
        writer.start()
        os.close(master)  # hang up
        stopped = threading.Event()

        def frames_then_stop() -> None:
            for i in range(100):
                writer.write(f"frame {i}\n")
            writer.stop()
            stopped.set()

        threading.Thread(target=frames_then_stop, daemon=True).start()
        assert stopped.wait(5), "writing to a hung-up terminal wedged the writer"
