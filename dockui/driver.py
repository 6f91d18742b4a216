"""Textual's Linux driver with an input thread that sleeps until there is input.

Textual's input thread wakes every 100 ms (`select(0.1)`) to time out a lone Escape even
when no key is pending. On an idle screen that polling is the whole cost of a bare Textual
app: ~0.15 % of a core, measured per thread (`bench/results/scale.md`). This driver's thread
blocks in `select` until a key, a resize report or a wake-up arrives, and uses a timeout only
while the parser waits on an escape sequence, for exactly as long as the parser asked.

The wake-up is a pipe written by `exit_event.set()`: Textual stops the thread by setting
that event and joining, so stopping (quit, suspend for a shell) stays immediate.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

POLL = 0.1  # Textual's own interval: used only if the parser's deadline cannot be read


class WakingEvent(threading.Event):
    """A `threading.Event` whose `set()` also wakes a thread blocked in `select`."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake()


def parser_timeout(parser: Any, now: float) -> float | None:
    """Seconds until `parser` times out a pending sequence; None when nothing is pending."""
    try:
        due = parser._timeout_time
    except AttributeError:  # a Textual that keeps its deadline elsewhere: poll as it does
        return POLL
    if due is None:
        return None
    return max(0.0, due - now)


class QuietLinuxDriver(LinuxDriver):
    """`LinuxDriver` whose input thread costs nothing while no key arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event = WakingEvent(self._wake)

    def _wake(self) -> None:
        if self._wake_write < 0:  # closed with the driver
            return
        try:
            os.write(self._wake_write, b"\0")
        except (BlockingIOError, OSError):  # full pipe: the thread is due to wake anyway
            pass

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_read, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def run_input_thread(self) -> None:
        """Textual's input loop, with `select` blocking until input or the parser's deadline."""
        selector = selectors.SelectSelector()
        fileno = self.fileno
        wake = self._wake_read
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")().decode

        def process(events: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for key, mask in events:
                if key.fd == wake:
                    self._drain_wake()
                    continue
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(fileno, 1024 * 4), final=final)
                    if not data:  # stdin is a pipe that ended
                        break
                    for event in feed(data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(parser_timeout(parser, get_time())))
            self._drain_wake()
            process([], final=True)  # as Textual ends: a last tick, the terminal left unread
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def close(self) -> None:
        super().close()
        fds, self._wake_read, self._wake_write = (self._wake_read, self._wake_write), -1, -1
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
