"""Textual's Linux driver with an input thread that sleeps until there is input.

Textual's input thread wakes every 100 ms (`select(0.1)`) to time out a lone Escape even
when no key is pending. On an idle screen that polling is the whole cost of a bare Textual
app: ~0.15 % of a core, measured per thread (`bench/results/scale.md`). This driver's thread
blocks in `select` until a key, a resize report or a wake-up arrives, and uses a timeout only
while the parser waits on an escape sequence, for exactly as long as the parser asked.

The wake-up is a pipe written by `exit_event.set()`: Textual stops the thread by setting
that event and joining, so stopping (quit, suspend for a shell) stays immediate.

On a terminal it does better still, with no thread between a key and the screen:

- Keys are read on the app's event loop (`add_reader`), not by a thread that hands them
  over: under load (2 cores and a busy engine) every thread hop is a wait to be scheduled,
  and the input thread's hand-over alone measured p95 36-55 ms, max 168 ms during a
  500-container removal. The thread remains for what the loop cannot watch.
- A frame is written to the terminal at once, on a non-blocking descriptor of its own,
  when the terminal takes it whole (the common case); what it does not take goes to
  the writer thread, and later frames follow it there until it has caught up, so a slow
  terminal (a congested SSH link) never blocks the UI and output stays in order. Textual
  queued every frame for its writer thread: p95 9-31 ms, max 127 ms in the same burst.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import threading
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import IO, Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

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


def own_nonblocking_fd(file: IO[str]) -> int:
    """A write descriptor of its own (its own open file description, so O_NONBLOCK does
    not reach the shell or anything else sharing the terminal) for `file` when it is a
    terminal; -1 when it is not (a file or a pipe keeps Textual's writer thread)."""
    try:
        fd = file.fileno()
        if not os.isatty(fd):
            return -1
        flags = os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC
        return os.open(f"/proc/self/fd/{fd}", flags)
    except (OSError, ValueError, AttributeError):  # no /proc, a closed or fake stream
        return -1


class TerminalWriter(WriterThread):
    """Textual's writer thread, used only for what the terminal does not take at once.

    `write()` writes straight to the terminal while nothing waits in the thread; a write
    the terminal takes only in part (its buffer is full) hands the rest to the thread, and
    every later write queues behind it until the thread has written all it holds."""

    def __init__(self, file: IO[str]) -> None:
        super().__init__(file)
        self._fd = own_nonblocking_fd(file)
        self._encoding = getattr(file, "encoding", None) or "utf-8"
        self._errors = getattr(file, "errors", None) or "strict"
        self._lock = threading.Lock()
        self._queued = 0  # writes handed to the thread and not written yet
        self.direct_writes = 0
        self.queued_writes = 0

    def write(self, text: str) -> None:
        if self._fd < 0:
            super().write(text)
            return
        data = text.encode(self._encoding, self._errors)
        with self._lock:
            if not self._queued:
                try:
                    done = os.write(self._fd, data)
                except BlockingIOError:
                    done = 0
                except OSError:  # the terminal went away: the thread drops it too
                    done = 0
                if done == len(data):
                    self.direct_writes += 1
                    return
                data = data[done:]
            self._queued += 1
            self.queued_writes += 1
        self._queue.put(data)  # outside the lock: a full queue blocks only this caller

    def run(self) -> None:
        file = self._file
        get = self._queue.get
        while True:
            item: str | bytes | None = get()
            if item is None:
                break
            try:
                if isinstance(item, bytes):  # from write(): all writes are bytes on a tty
                    self._write_all(item)
                else:  # not a terminal: Textual's own loop, flushing at a pause
                    file.write(item)
                    if not self._queue.qsize():
                        file.flush()
            except OSError:
                pass  # the terminal is gone: nothing left to show it to
            finally:
                if isinstance(item, bytes):
                    with self._lock:
                        self._queued -= 1
        try:
            file.flush()
        except (OSError, ValueError):
            pass

    def _write_all(self, data: bytes) -> None:
        fd = self._file.fileno()  # the shared, blocking descriptor: this thread may wait
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def stop(self) -> None:
        super().stop()
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def loop_can_watch(fd: int) -> bool:
    """Whether an event loop's selector can wait on `fd` (a terminal or a pipe can; a
    regular file or /dev/null cannot be watched by epoll)."""
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
    except (OSError, ValueError):
        return False
    return True


class QuietLinuxDriver(LinuxDriver):
    """`LinuxDriver` whose input costs nothing while no key arrives, read on the event
    loop where it can be, and whose frames reach the terminal without a thread hop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read = self._wake_write = -1
        self._open_wake_pipe()
        self.exit_event = WakingEvent(self._wake)
        self._terminal_writer: TerminalWriter | None = None
        self._on_loop = False  # keys are read by the event loop, not the input thread
        self._reading: asyncio.AbstractEventLoop | None = None
        self._parser: XTermParser | None = None
        self._decode: Callable[..., str] | None = None
        self._tick_handle: asyncio.TimerHandle | None = None

    def _open_wake_pipe(self) -> None:
        """(Again, after a suspend for a shell: `close()` closed it.)"""
        if self._wake_read < 0:
            self._wake_read, self._wake_write = os.pipe()
            os.set_blocking(self._wake_read, False)
            os.set_blocking(self._wake_write, False)

    # -- output ------------------------------------------------------------------------
    def write(self, data: str) -> None:
        writer = self._terminal_writer
        if writer is None:
            super().write(data)
        else:
            writer.write(data)

    def start_application_mode(self) -> None:
        self._open_wake_pipe()
        writer = TerminalWriter(self._file)
        writer.start()
        self._terminal_writer = writer
        self._key_thread = None
        self._on_loop = loop_can_watch(self.fileno)
        super().start_application_mode()
        textual_writer, self._writer_thread = self._writer_thread, writer
        if textual_writer is not None and textual_writer is not writer:
            textual_writer.stop()  # it was never written to: everything went through ours
        if self._key_thread is not None and self._on_loop:
            self._start_reading()

    def close(self) -> None:
        self._stop_reading()
        super().close()  # stops the writer thread (ours, once application mode began)
        self._terminal_writer = None
        fds, self._wake_read, self._wake_write = (self._wake_read, self._wake_write), -1, -1
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    # -- input on the event loop -----------------------------------------------------
    def send_message(self, message: Message) -> None:
        if self._reading is not None and self._on_loop_thread():
            self._app.post_message(message)  # already on the loop: no coroutine hop
        else:
            super().send_message(message)

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._reading
        except RuntimeError:
            return False

    def _start_reading(self) -> None:
        loop = asyncio.get_running_loop()
        self._parser = XTermParser(self._debug)
        # (A stray byte that is not UTF-8 shows as U+FFFD: Textual's strict decoder
        # raised, which ended the input thread and the app with it.)
        self._decode = getincrementaldecoder("utf-8")(errors="replace").decode
        try:
            loop.add_reader(self.fileno, self._read_input)
        except (OSError, ValueError, RuntimeError):
            self._parser = self._decode = None
            self._on_loop = False
            self._key_thread = threading.Thread(target=self._run_input_thread, name="textual-input")
            self._key_thread.start()
            return
        self._reading = loop

    def _stop_reading(self) -> None:
        loop, self._reading = self._reading, None
        if loop is None:
            return
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        try:
            loop.remove_reader(self.fileno)
        except (OSError, ValueError, RuntimeError):
            pass
        parser, self._parser = self._parser, None
        if parser is not None:  # as the thread ends: a last tick, the rest left unread
            try:
                for event in parser.tick():
                    self.process_message(event)
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def _read_input(self) -> None:
        parser, decode = self._parser, self._decode
        if parser is None or decode is None:
            return
        try:
            data = os.read(self.fileno, 1024 * 4)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the terminal hung up (SIGHUP ends the app)
            data = b""
        if not data:
            self._stop_reading()  # nothing more will come: never spin on an ended input
            return
        try:
            for event in parser.feed(decode(data)):
                self.process_message(event)
        except ParseError:  # input the parser cannot read: dropped, the next key still works
            pass
        self._parser_tick()

    def _parser_tick(self) -> None:
        """Time out a pending escape sequence (a lone Escape key) when the parser asks."""
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        parser = self._parser
        if parser is None or self._reading is None:
            return
        for event in parser.tick():
            self.process_message(event)
        due = parser_timeout(parser, get_time())
        if due is not None:
            self._tick_handle = self._reading.call_later(due, self._parser_tick)

    def disable_input(self) -> None:
        self._stop_reading()
        super().disable_input()

    def run_input_thread(self) -> None:
        if self._on_loop:
            return  # the event loop reads the keys (see _start_reading)
        self._run_thread_input()

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

    def _run_thread_input(self) -> None:
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
