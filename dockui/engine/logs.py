"""Follow a container's logs: demultiplex, decode, split into clean lines.

Non-TTY containers send 8-byte-header frames (stream id, 3 zero bytes, big-endian
length); TTY containers send raw bytes. Both are turned into `LogLine`s with
incremental UTF-8 decoding (a character split across chunks survives), `\\r\\n` and
bare `\\r` handled, and over-long lines capped so one 1 MB line cannot eat memory.
"""

from __future__ import annotations

import codecs
import contextlib
import struct
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from dockui.engine.models import STDERR, STDOUT, LogLine
from dockui.engine.text import clean_line

if TYPE_CHECKING:
    from dockui.engine.client import Engine

__all__ = ["STDERR", "STDOUT", "FrameDemuxer", "LineSplitter", "LogFollower", "LogLine"]

MAX_LINE = 16_384  # characters kept of one line; the rest is counted, not stored


class FrameDemuxer:
    """Incremental parser of the engine's multiplexed log stream."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out: list[tuple[int, bytes]] = []
        while len(self._buf) >= 8:
            stream, length = struct.unpack(">BxxxL", self._buf[:8])
            if len(self._buf) < 8 + length:
                break
            payload = bytes(self._buf[8 : 8 + length])
            del self._buf[: 8 + length]
            out.append((stream if stream in (STDOUT, STDERR) else STDOUT, payload))
        return out


class LineSplitter:
    """Bytes of one stream in, whole clean lines out; a partial line waits for more."""

    def __init__(self, stream: int = STDOUT, max_line: int = MAX_LINE) -> None:
        self.stream = stream
        self.max_line = max_line
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._size = 0
        self._cut = 0
        self._pending_cr = False

    def feed(self, data: bytes, final: bool = False) -> list[LogLine]:
        text = self._decoder.decode(data, final=final)
        lines: list[LogLine] = []
        start = 0
        i = 0
        n = len(text)
        while i < n:
            ch = text[i]
            if ch == "\n" or ch == "\r":
                self._take(text[start:i])
                if ch == "\n" and self._pending_cr and not self._parts and i == start:
                    self._pending_cr = False  # the \n of a \r\n whose \r ended the last chunk
                else:
                    lines.append(self._flush())
                    self._pending_cr = False
                if ch == "\r":
                    if i + 1 < n:
                        if text[i + 1] == "\n":
                            i += 1
                    else:
                        self._pending_cr = True
                start = i + 1
            i += 1
        self._take(text[start:])
        if final and (self._parts or self._cut):
            lines.append(self._flush())
        return lines

    def _take(self, piece: str) -> None:
        if not piece:
            return
        self._pending_cr = False
        room = self.max_line - self._size
        if room <= 0:
            self._cut += len(piece)
            return
        if len(piece) > room:
            self._cut += len(piece) - room
            piece = piece[:room]
        self._parts.append(piece)
        self._size += len(piece)

    def _flush(self) -> LogLine:
        line = LogLine(clean_line("".join(self._parts)), self.stream, self._cut)
        self._parts, self._size, self._cut = [], 0, 0
        return line


class LogFollower:
    """Follows one container's logs in a thread; `close()` ends it promptly."""

    def __init__(
        self,
        engine: Engine,
        container_id: str,
        on_lines: Callable[[list[LogLine]], None],
        on_end: Callable[[str], None] | None = None,
        *,
        tail: int = 500,
    ) -> None:
        self.engine = engine
        self.container_id = container_id
        self.on_lines = on_lines
        self.on_end = on_end
        self.tail = tail
        self._closed = threading.Event()
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, name="dockui-logs", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        response, self._response = self._response, None
        if response is not None:
            _shutdown(response)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        reason = "log stream ended"
        try:
            for batch in self._batches():
                if self._closed.is_set():
                    return
                if batch:
                    self.on_lines(batch)
        except Exception as exc:  # the container vanished, the engine went away, ...
            reason = f"no logs: {_describe(exc)}"
        finally:
            if not self._closed.is_set() and self.on_end is not None:
                self.on_end(reason)

    def _batches(self) -> Iterator[list[LogLine]]:
        api = self.engine.api
        tty = bool(api.inspect_container(self.container_id)["Config"].get("Tty"))
        params = {"stdout": 1, "stderr": 1, "follow": 1, "tail": self.tail, "timestamps": 0}
        response = api._get(
            api._url("/containers/{0}/logs", self.container_id),
            params=params,
            stream=True,
            timeout=None,
        )
        api._raise_for_status(response)
        self._response = response
        if self._closed.is_set():
            _shutdown(response)
            return
        raw = response.raw
        splitters = {STDOUT: LineSplitter(STDOUT), STDERR: LineSplitter(STDERR)}
        demux = None if tty else FrameDemuxer()
        while not self._closed.is_set():
            data = raw.read1(65536) if hasattr(raw, "read1") else raw.read(8)
            if not data:
                break
            if demux is None:
                yield splitters[STDOUT].feed(data)
                continue
            batch: list[LogLine] = []
            for stream, payload in demux.feed(data):
                batch.extend(splitters[stream].feed(payload))
            yield batch
        yield [line for s in splitters.values() for line in s.feed(b"", final=True)]


def _shutdown(response: Any) -> None:
    """Unblock a thread stuck reading `response` by shutting its socket down."""
    try:
        from docker.types import CancellableStream

        CancellableStream(iter(()), response).close()
    except Exception:
        with contextlib.suppress(Exception):
            response.close()


def _describe(exc: BaseException) -> str:
    """The engine's own sentence for an API error (e.g. a logging driver that cannot be
    read back), else the first line of the exception."""
    explanation = getattr(exc, "explanation", None)
    text = str(explanation) if explanation else str(exc) or type(exc).__name__
    return clean_line(text.strip().splitlines()[0]) if text.strip() else type(exc).__name__
