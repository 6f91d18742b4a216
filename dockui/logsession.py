"""The app side of log following: which containers the Logs pane follows, their
streams, and the hand-over of lines from reader threads to the UI.

Reader threads never post one message per line: they append to a shared queue and post
a single `LogsReady` wake-up when none is pending; the UI drains everything queued at
once. At thousands of lines per second the UI sees a few batches per frame, and the
queue is bounded (the oldest lines go first, counted) so a stalled UI cannot grow memory.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from dockui.engine.client import Engine
from dockui.engine.logs import LogFollower, LogLine

QUEUE_LIMIT = 20_000  # lines waiting for the UI at most (the view keeps 10,000 by default)


@dataclass
class Target:
    id: str
    name: str
    colour: int
    follower: LogFollower | None = None
    last_ts: float | None = None
    ended: str = ""  # why its stream ended ("" while streaming)
    # The container's start time (state_since) as known when its stream was opened: a
    # stream ends when the container stops, and only a later start is a restart. The
    # list can still say "running" after the stream ended (a burst's updates are
    # applied once a second): that is the same run, on its way out.
    started: float | None = None


class LogSession:
    """Followers for one set of containers; thread-safe queue of (container id, lines)."""

    def __init__(
        self,
        wake: Callable[[], None],
        ended: Callable[[str, str], None],
        *,
        tail: int = 1000,
    ) -> None:
        self._wake = wake
        self._ended = ended
        self.tail = tail
        self.targets: dict[str, Target] = {}
        self._queue: deque[tuple[str, list[LogLine]]] = deque()
        self._queued_lines = 0
        self.skipped = 0  # lines dropped because the UI fell behind
        self._lock = threading.Lock()
        self._wake_pending = False

    @property
    def merged(self) -> bool:
        return len(self.targets) > 1

    def ids(self) -> tuple[str, ...]:
        return tuple(self.targets)

    def start(
        self,
        engine: Engine | None,
        targets: list[tuple[str, str]],
        started: Callable[[str], float | None] = lambda cid: None,
    ) -> None:
        """Follow these containers (closing whatever was followed before); `started` gives
        a container's start time as the app knows it (see Target.started)."""
        self.close()
        self.targets = {
            cid: Target(cid, name, i, started=started(cid)) for i, (cid, name) in enumerate(targets)
        }
        if engine is not None:
            for target in self.targets.values():
                self._open(engine, target, tail=self.tail, since=None)

    def resume(self, engine: Engine, cid: str, started: float | None) -> bool:
        """Re-open a stream that ended (container restarted, engine back): only new lines.
        `started`: the container's start time now."""
        target = self.targets.get(cid)
        if target is None or (target.follower is not None and target.follower.alive):
            return False
        since = target.last_ts + 1e-6 if target.last_ts is not None else None
        target.ended = ""
        target.started = started
        self._open(engine, target, tail="all" if since is not None else self.tail, since=since)
        return True

    def _open(
        self, engine: Engine, target: Target, *, tail: int | str, since: float | None
    ) -> None:
        cid = target.id

        def on_lines(lines: list[LogLine]) -> None:
            self._push(cid, lines)

        def on_end(reason: str) -> None:
            self._ended(cid, reason)

        target.follower = LogFollower(engine, cid, on_lines, on_end, tail=tail, since=since).start()

    def mark_ended(self, cid: str, reason: str) -> Target | None:
        target = self.targets.get(cid)
        if target is not None:
            target.follower = None
            target.ended = reason
        return target

    def close(self) -> None:
        for target in self.targets.values():
            if target.follower is not None:
                target.follower.close()
                target.follower = None
        with self._lock:
            self._queue.clear()
            self._queued_lines = 0

    def started(self) -> bool:
        """Every target streams, or its stream ended for a reason the app knows about
        (stopped, removed: resumed or noted by the app). False before the first start,
        e.g. when there was no engine to open the streams on."""
        return bool(self.targets) and all(
            t.follower is not None or t.ended for t in self.targets.values()
        )

    def threads(self) -> list[LogFollower]:
        return [t.follower for t in self.targets.values() if t.follower is not None]

    # -- reader threads → UI -----------------------------------------------------------------
    def _push(self, cid: str, lines: list[LogLine]) -> None:
        with self._lock:
            self._queue.append((cid, lines))
            self._queued_lines += len(lines)
            while self._queued_lines > QUEUE_LIMIT and len(self._queue) > 1:
                _, old = self._queue.popleft()
                self._queued_lines -= len(old)
                self.skipped += len(old)
            if self._wake_pending:
                return
            self._wake_pending = True
        self._wake()

    def drain(self) -> list[tuple[str, list[LogLine]]]:
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
            self._queued_lines = 0
            self._wake_pending = False
        for cid, lines in items:
            target = self.targets.get(cid)
            if target is not None and lines:
                stamped = next((ln.ts for ln in reversed(lines) if ln.ts is not None), None)
                if stamped is not None:
                    target.last_ts = stamped
        return items
