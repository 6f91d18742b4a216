"""Follow a container's logs: demultiplex, decode, split into clean lines.

Non-TTY containers send 8-byte-header frames (stream id, 3 zero bytes, big-endian
length); TTY containers send raw bytes. Both are turned into `LogLine`s with
incremental UTF-8 decoding (a character split across chunks survives), `\\r\\n` and
bare `\\r` handled, and over-long lines capped so one 1 MB line cannot eat memory.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from dockui.engine.errors import describe_error
from dockui.engine.models import STDERR, STDOUT, LogLine, parse_rfc3339
from dockui.engine.text import clean_line, strip_sgr

if TYPE_CHECKING:
    from dockui.engine.client import Engine

__all__ = [
    "STDERR",
    "STDOUT",
    "FrameDemuxer",
    "LineSplitter",
    "LogFollower",
    "LogLine",
    "fetch_logs",
    "save_logs",
    "write_lines",
]

_LINE_END = re.compile(r"[\r\n]")
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


_TS = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ")


def parse_timestamp(text: str) -> float | None:
    """Epoch seconds of the engine's RFC 3339 (nanosecond) log timestamp."""
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


class LineSplitter:
    """Bytes of one stream in, whole clean lines out; a partial line waits for more.

    With `timestamps`, each engine message starts with an RFC 3339 timestamp and a space
    (what `timestamps=1` asks for); it is taken off and kept on the LogLine. Segments after
    a bare `\r` (progress bars) carry no timestamp of their own and reuse their message's.
    """

    def __init__(
        self, stream: int = STDOUT, max_line: int = MAX_LINE, *, timestamps: bool = False
    ) -> None:
        self.stream = stream
        self.max_line = max_line
        self.timestamps = timestamps
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._size = 0
        self._cut = 0
        self._pending_cr = False
        self._overwrite = False  # the line being built replaces the previous one
        self._ts_buf = b""  # bytes of a timestamp not yet complete
        self._want_ts = timestamps  # the next bytes start a new engine message
        self._ts: float | None = None
        self._ts_text = ""
        self._ts_second = ""  # "YYYY-MM-DDTHH:MM:SS" of the last stamp, and its epoch
        self._ts_second_epoch: float | None = None

    def _stamp(self, text: str) -> float | None:
        """Epoch seconds of an engine stamp. Logs stamp in UTC with nanoseconds
        (2026-12-03T07:23:37.123456789Z): the calendar part is worked out once per second,
        the fraction added, instead of a full RFC 3339 parse per line."""
        if len(text) > 20 and text[19] == "." and text[-1] == "Z":
            second = text[:19]
            if second != self._ts_second:
                self._ts_second = second
                self._ts_second_epoch = parse_timestamp(second + "Z")
            base = self._ts_second_epoch
            if base is not None:
                try:
                    return base + float(text[19:-1])
                except ValueError:
                    pass
        return parse_timestamp(text)

    def feed(self, data: bytes, final: bool = False) -> list[LogLine]:
        lines: list[LogLine] = []
        if not self.timestamps:
            self._feed_text(self._decoder.decode(data, final=final), lines, final)
            return lines
        # Timestamps sit at the start of each message (after each \n): peel them off at
        # the byte level so one split across chunks is put back together.
        pos = 0
        n = len(data)
        while pos < n:
            if self._want_ts:
                need = data[pos : pos + 40 - len(self._ts_buf)]
                self._ts_buf += need
                match = _TS.match(self._ts_buf)
                if match:
                    used = match.end() - (len(self._ts_buf) - len(need))
                    self._ts_text = match.group(1).decode()
                    self._ts = self._stamp(self._ts_text)
                    pos += used
                    self._ts_buf = b""
                    self._want_ts = False
                    continue
                if len(self._ts_buf) < 40 and b" " not in self._ts_buf and pos + len(need) >= n:
                    return lines  # wait for the rest of the timestamp
                # Not a timestamp after all: treat the bytes as text.
                data = self._ts_buf + data[pos + len(need) :]
                pos, n = 0, len(data)
                self._ts_buf = b""
                self._want_ts = False
                continue
            newline = data.find(b"\n", pos)
            if newline < 0:
                self._feed_text(self._decoder.decode(data[pos:]), lines, False)
                break
            self._feed_text(self._decoder.decode(data[pos : newline + 1]), lines, False)
            pos = newline + 1
            self._want_ts = True
        if final:
            self._feed_text(self._decoder.decode(b"", final=True), lines, True)
        return lines

    def feed_frame(self, payload: bytes) -> list[LogLine]:
        """One frame of a multiplexed stream: exactly one engine message.

        Frames mark message boundaries, which matters for lines over 16 KiB: the engine
        stores them as partial messages and gives each its own timestamp (cut at a byte
        boundary, possibly mid-character). The timestamp of a continuation is dropped and
        the bytes are joined, so the line and its characters come out whole.
        """
        lines: list[LogLine] = []
        if self.timestamps:
            match = _TS.match(payload)
            if match:
                if not self._parts and not self._cut:
                    self._ts_text = match.group(1).decode()
                    self._ts = self._stamp(self._ts_text)
                payload = payload[match.end() :]
        self._feed_text(self._decoder.decode(payload), lines, False)
        return lines

    def _feed_text(self, text: str, lines: list[LogLine], final: bool) -> None:
        # Jump from line end to line end (C-speed searches), never character by character:
        # at tens of thousands of lines a second this loop is the reader's whole cost.
        start = 0
        n = len(text)
        search = _LINE_END.search
        while True:
            match = search(text, start)
            if match is None:
                break
            i = match.start()
            ch = text[i]
            self._take(text[start:i])
            if ch == "\n" and self._pending_cr and not self._parts and i == start:
                self._pending_cr = False  # the \n of a \r\n whose \r ended the last chunk
                self._overwrite = False
            else:
                lines.append(self._flush())
                self._pending_cr = False
            if ch == "\r":
                if i + 1 < n:
                    if text[i + 1] == "\n":
                        i += 1
                    else:
                        self._overwrite = True  # a bare \r: what follows redraws the line
                else:
                    self._pending_cr = True
                    self._overwrite = True
            start = i + 1
        self._take(text[start:])
        if final and (self._parts or self._cut):
            lines.append(self._flush())

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
        line = LogLine(
            clean_line("".join(self._parts), keep_sgr=True),
            self.stream,
            self._cut,
            self._ts,
            self._ts_text,
            self._overwrite,
        )
        self._parts, self._size, self._cut = [], 0, 0
        self._overwrite = False
        return line


def _open_logs(engine: Engine, container_id: str, params: dict[str, Any]) -> tuple[Any, bool]:
    """Open the engine's log stream; returns (response, tty)."""
    api = engine.api
    tty = bool(api.inspect_container(container_id)["Config"].get("Tty"))
    response = api._get(
        api._url("/containers/{0}/logs", container_id),
        params={"stdout": 1, "stderr": 1, "timestamps": 1, **params},
        stream=True,
        timeout=None,
    )
    api._raise_for_status(response)
    return response, tty


class ChunkedDecoder:
    """HTTP/1.1 chunked transfer coding, decoded incrementally, many chunks per call.

    The engine sends every log message as its own HTTP chunk. Read through urllib3 and
    http.client, each read returned one chunk (one line) after three layers of Python:
    under a flood that was most of the reader's time and one queue item per line.
    Reading the socket in 64 KiB blocks and undoing the chunking here hands the
    splitter hundreds of messages at once.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.done = False  # the last (zero-size) chunk came

    def feed(self, data: bytes) -> bytes:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        end_of_buf = len(buf)
        while not self.done:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                if end_of_buf - pos > 1024:
                    raise ValueError("chunked stream: no chunk size line")
                break
            field = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
            size = int(field, 16)  # ValueError on garbage: the stream is broken
            if size == 0:
                # Trailers, if any, and the empty line that ends the answer: a kept-alive
                # socket must hold nothing of this answer for the next one.
                end = buf.find(b"\r\n\r\n", eol)
                if end < 0:
                    break
                self.done = True
                pos = end + 4
                break
            start = eol + 2
            stop = start + size
            if stop + 2 > end_of_buf:
                break  # the rest of this chunk has not arrived yet
            out.append(bytes(buf[start:stop]))
            pos = stop + 2
        del buf[:pos]
        return b"".join(out)


def unread_chunked_file(fp: Any) -> Any | None:
    """The buffered socket file under an http.client response that is chunked and not
    read from yet (to read in blocks and undo the chunking with ChunkedDecoder), or None."""
    sock_file = getattr(fp, "fp", None)
    if (
        getattr(fp, "chunked", False)
        and getattr(fp, "chunk_left", 0) is None
        and hasattr(sock_file, "read1")
    ):
        return sock_file
    return None


def _chunked_socket(raw: Any) -> Any | None:
    """The buffered socket under a urllib3 response nobody has read from yet whose body
    is chunked, or None (then the response is read through urllib3 as usual)."""
    if getattr(raw, "_decoded_buffer", None) or getattr(raw, "_fp_bytes_read", 0) != 0:
        return None
    return unread_chunked_file(getattr(raw, "_fp", None))  # http.client.HTTPResponse


def _read_lines(response: Any, tty: bool, closed: threading.Event) -> Iterator[list[LogLine]]:
    raw = response.raw
    splitters = {
        STDOUT: LineSplitter(STDOUT, timestamps=True),
        STDERR: LineSplitter(STDERR, timestamps=True),
    }
    demux = None if tty else FrameDemuxer()
    sock_file = _chunked_socket(raw)
    chunks = ChunkedDecoder() if sock_file is not None else None
    while not closed.is_set():
        if sock_file is not None and chunks is not None:
            block = sock_file.read1(65536)
            if not block:
                break
            data = chunks.feed(block)
            if not data:
                if chunks.done:
                    break
                continue
        else:
            data = raw.read1(65536) if hasattr(raw, "read1") else raw.read(8)
            if not data:
                break
        if demux is None:
            yield splitters[STDOUT].feed(data)
        else:
            batch: list[LogLine] = []
            for stream, payload in demux.feed(data):
                batch.extend(splitters[stream].feed_frame(payload))
            yield batch
        if chunks is not None and chunks.done:
            break  # the engine ended the stream (the connection may stay open)
    yield [line for s in splitters.values() for line in s.feed(b"", final=True)]


def fetch_logs(
    engine: Engine,
    container_id: str,
    *,
    tail: int | str = "all",
    since: float | None = None,
    until: float | None = None,
) -> list[LogLine]:
    """A bounded slice of a container's logs (no follow): e.g. older history on demand.

    The engine applies `tail` before `until` (the last N lines of the whole log, then
    the time filter), so "the N lines before T" is read as everything before T, keeping
    only the last N in a ring: bounded memory, however long the log.
    """
    params: dict[str, Any] = {"follow": 0, "tail": "all" if until is not None else tail}
    if since is not None:
        params["since"] = f"{since:.9f}"
    if until is not None:
        params["until"] = f"{until:.9f}"
    keep = tail if isinstance(tail, int) else None
    response, tty = _open_logs(engine, container_id, params)
    try:
        lines: deque[LogLine] = deque(maxlen=keep)
        for batch in _read_lines(response, tty, threading.Event()):
            lines.extend(batch)
        return list(lines)
    finally:
        response.close()


def save_logs(engine: Engine, container_id: str, path: str, *, timestamps: bool = True) -> int:
    """Stream a container's whole log to `path` (never all in memory); returns lines written."""
    response, tty = _open_logs(engine, container_id, {"follow": 0, "tail": "all"})
    count = 0
    try:
        with open(path, "w", encoding="utf-8") as out:
            for batch in _read_lines(response, tty, threading.Event()):
                for line in batch:
                    prefix = f"{line.ts_text} " if timestamps and line.ts_text else ""
                    out.write(f"{prefix}{strip_sgr(line.text)}\n")
                count += len(batch)
    finally:
        response.close()
    return count


def write_lines(items: Iterable[tuple[str, LogLine]], path: str, *, timestamps: bool = True) -> int:
    """Write (source, line) pairs as plain text: `TIMESTAMP [source |] text`."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for source, line in items:
            prefix = f"{line.ts_text} " if timestamps and line.ts_text else ""
            if source:
                prefix += f"{source} | "
            out.write(f"{prefix}{strip_sgr(line.text)}\n")
            count += 1
    return count


class LogFollower:
    """Follows one container's logs in a thread; `close()` ends it promptly.

    Lines are handed to `on_lines` in batches as they are read (one call per read from
    the socket, which at high rates holds hundreds of lines).
    """

    def __init__(
        self,
        engine: Engine,
        container_id: str,
        on_lines: Callable[[list[LogLine]], None],
        on_end: Callable[[str], None] | None = None,
        *,
        tail: int | str = 1000,
        since: float | None = None,
    ) -> None:
        self.engine = engine
        self.container_id = container_id
        self.on_lines = on_lines
        self.on_end = on_end
        self.tail = tail
        self.since = since
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

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        reason = "log stream ended"
        try:
            params: dict[str, Any] = {"follow": 1, "tail": self.tail}
            if self.since is not None:
                params["since"] = f"{self.since:.9f}"
            response, tty = _open_logs(self.engine, self.container_id, params)
            self._response = response
            if self._closed.is_set():
                _shutdown(response)
                return
            for batch in _read_lines(response, tty, self._closed):
                if self._closed.is_set():
                    return
                if batch:
                    self.on_lines(batch)
        except Exception as exc:  # the container vanished, the engine went away, ...
            if not self._closed.is_set():
                reason = f"no logs: {describe_error(exc)}"
        finally:
            response, self._response = self._response, None
            if response is not None:  # ended by the engine: never reuse a read-past socket
                with contextlib.suppress(Exception):
                    response.close()
            if not self._closed.is_set() and self.on_end is not None:
                self.on_end(reason)


def _shutdown(response: Any) -> None:
    """Unblock a thread stuck reading `response` by shutting its socket down."""
    try:
        from docker.types import CancellableStream

        CancellableStream(iter(()), response).close()
    except Exception:
        with contextlib.suppress(Exception):
            response.close()
