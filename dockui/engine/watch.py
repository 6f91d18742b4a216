"""Keep a live picture of the engine's containers and images, cheaply.

Order matters: the events stream is opened *first*, then the lists are taken, then
events are applied. Nothing that happens between the list and the first event can be
lost that way. Events are collected for a short debounce window and only the objects
they name are refreshed (one filtered list call for containers, one inspect per named
image). A slow full re-list catches anything missed, and a cheap ping notices a dead
connection (a 1 s ping with a 1 s timeout while idle: a dropped network shows as
"disconnected" within about 2 s). When the stream ends (engine restart, network drop)
the watcher reports `Disconnected`, retries with exponential backoff and resyncs
everything once back.

Runs in its own daemon threads; `on_update` is called from those threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dockui.engine.client import Engine, EngineUnavailable, connect, explain
from dockui.engine.models import ContainerSummary, EngineInfo, ImageSummary

log = logging.getLogger(__name__)

# Container event actions that change nothing a list shows.
_QUIET_ACTIONS = frozenset(
    {
        "exec_create", "exec_start", "exec_die", "exec_detach", "attach", "detach",
        "resize", "top", "export", "archive-path", "extract-to-dir", "copy", "commit",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Connected:
    info: EngineInfo


@dataclass(frozen=True)
class Disconnected:
    error: EngineUnavailable
    retry_in: float
    attempt: int
    was_connected: bool  # False while we have never reached the engine


@dataclass(frozen=True)
class ContainersChanged:
    upserts: tuple[ContainerSummary, ...]
    removed: tuple[str, ...] = ()
    full: bool = False  # a complete list: anything not in upserts is gone


@dataclass(frozen=True)
class ImagesChanged:
    upserts: tuple[ImageSummary, ...]
    removed: tuple[str, ...] = ()
    full: bool = False


WatchUpdate = Connected | Disconnected | ContainersChanged | ImagesChanged

_END = object()  # the event stream ended
_WAKE = object()  # stop() was called


class _StreamEnded(Exception):
    pass


class Relay:
    """Holds a watcher's updates until a consumer attaches, then forwards them in order.

    It lets the watcher start before the UI exists: `dockui` connects, opens the events
    stream and lists the containers while Python is still importing Textual, and the app
    attaches when it mounts (the engine's answer time hides behind the import time).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[WatchUpdate] = []
        self._target: Callable[[WatchUpdate], None] | None = None

    def __call__(self, update: WatchUpdate) -> None:
        with self._lock:
            if self._target is None:
                self._held.append(update)
                return
            target = self._target
        target(update)

    def attach(self, target: Callable[[WatchUpdate], None]) -> None:
        with self._lock:  # under the lock: nothing new overtakes what was held
            held, self._held = self._held, []
            for update in held:
                target(update)
            self._target = target


# Events that start a state, and the states they start: an event's time is the state's
# start only when the list shows that state. `docker rm -f` of a running container: its
# "die" came while the list still said "running" (the kill under way), and stamping the
# run with the death's time made it look like a new run (the Logs pane re-opened the
# stream of a container on its way out, saying "container restarted").
_STAMPED = {
    "start": ("running",),
    "restart": ("running",),
    "unpause": ("running",),
    "pause": ("paused",),
    "die": ("exited", "dead"),
}

EVENT_LINGER = 0.1  # s; well within the debounce window (0.15 s) a first event opens
BURST_EVENTS = 10  # events in one batch that make the stream a burst (one restart: 3-5)


class Watcher:
    """Events-first live state of one engine, delivered as deltas to `on_update`."""

    def __init__(
        self,
        on_update: Callable[[WatchUpdate], None],
        host: str | None = None,
        *,
        connector: Callable[[str | None], Engine] = connect,
        debounce: float = 0.15,
        burst_debounce: float = 0.8,
        resync_every: float = 300.0,
        heartbeat_every: float = 1.0,
        heartbeat_timeout: float = 1.0,
        backoff: tuple[float, float] = (0.5, 8.0),
    ) -> None:
        self.on_update = on_update
        self.host = host
        self._connector = connector
        self.debounce = debounce
        # While events keep coming in numbers (BURST_EVENTS in a batch: hundreds of
        # removals, a compose project starting), the next batch gathers this long: one
        # filtered list request per batch, not six a second from a thread that competes
        # with the UI for the interpreter. The app shows the list once a second then
        # anyway (CONTAINERS_BURST_EVERY); a restart or a lone `docker run` is not slowed.
        self.burst_debounce = burst_debounce
        # A safety net only (the events stream is the source; a new stream always starts
        # with a full list): listing 1,000 containers and 2,000 tags every minute cost the
        # engine and stepped the app's heap up each time, for changes that never came.
        self.resync_every = resync_every
        self.heartbeat_every = heartbeat_every  # a silent network drop shows within ~2 s
        self.heartbeat_timeout = heartbeat_timeout
        self.backoff = backoff
        self.engine: Engine | None = None
        self.containers: dict[str, ContainerSummary] = {}
        self.images: dict[str, ImageSummary] = {}
        self.stats = {"events": 0, "refreshes": 0, "full_lists": 0, "pings": 0}
        self._stop = threading.Event()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._kick = threading.Event()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dockui-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._kick.set()
        self._queue.put(_WAKE)
        self._close_stream()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def retry_now(self) -> None:
        """Skip the rest of the backoff wait (the user pressed 'r')."""
        self._kick.set()

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    # -- the loop ----------------------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        was_connected = False
        while not self._stop.is_set():
            try:
                engine = self._connector(self.host)
            except EngineUnavailable as exc:
                attempt += 1
                self._wait_backoff(exc, attempt, was_connected)
                continue
            except Exception as exc:  # never let the watcher thread die
                attempt += 1
                self._wait_backoff(explain(self.host or "", exc), attempt, was_connected)
                continue
            attempt = 0
            was_connected = True
            self.engine = engine
            self._emit(Connected(engine.info))
            error: EngineUnavailable | None = None
            try:
                self._session(engine)
            except _StreamEnded:
                error = EngineUnavailable(
                    engine.info.host, "The engine closed the connection (restarting?)."
                )
            except Exception as exc:
                error = explain(engine.info.host, exc)
            finally:
                self._close_stream()
                self.engine = None
                engine.close()
            if self._stop.is_set():
                break
            attempt = 1
            self._wait_backoff(
                error or EngineUnavailable(engine.info.host, "Disconnected."), attempt, True
            )

    def _wait_backoff(self, exc: EngineUnavailable, attempt: int, was_connected: bool) -> None:
        low, high = self.backoff
        delay = min(high, low * (2 ** (attempt - 1)))
        self._emit(Disconnected(exc, delay, attempt, was_connected))
        self._kick.clear()
        self._kick.wait(delay)

    def _emit(self, update: WatchUpdate) -> None:
        if self._stop.is_set():
            return
        try:
            self.on_update(update)
        except Exception:  # a broken consumer must not kill the watcher
            log.exception("watch consumer failed")

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    def _session(self, engine: Engine) -> None:
        # Drain anything left from a previous session.
        self._queue = queue.Queue()
        # A burst's events are read in batches (at most every EVENT_LINGER s): fewer
        # wakeups of the reader, each of which took the interpreter from the UI thread.
        self._stream = engine.events(filters={"type": ["container", "image"]}, linger=EVENT_LINGER)
        stream, events = self._stream, self._queue
        reader = threading.Thread(
            target=self._read_events, args=(stream, events), name="dockui-events", daemon=True
        )
        reader.start()
        self._full_sync(engine)
        last_full = last_beat = time.monotonic()
        last_batch, last_size = 0.0, 0  # when the last batch was applied, and its events
        while not self._stop.is_set():
            now = time.monotonic()
            wait = min(last_full + self.resync_every, last_beat + self.heartbeat_every) - now
            try:
                first = events.get(timeout=max(0.0, wait))
            except queue.Empty:
                now = time.monotonic()
                if now - last_full >= self.resync_every:
                    self._full_sync(engine, first=False)
                    last_full = now
                else:
                    self.stats["pings"] += 1
                    engine.ping(timeout=self.heartbeat_timeout)
                last_beat = now
                continue
            batch = [first]
            started = time.monotonic()
            sustained = (
                last_size >= BURST_EVENTS
                and started - last_batch < self.burst_debounce + self.debounce
            )
            deadline = started + (self.burst_debounce if sustained else self.debounce)
            if first is not _END and first is not _WAKE:
                # Sleep through the window, then take what came. Waking for each event
                # (hundreds a second while 500 containers go) took the interpreter from
                # the UI thread every time, and under load each hand-back waited for a
                # CPU. stop() sets the event: it ends the wait at once. A stream that
                # ends within the window is noticed at the window's end (<= 0.8 s).
                self._stop.wait(max(0.0, deadline - time.monotonic()))
                batch += self._drain(events)
            events_in = [e for e in batch if isinstance(e, dict)]
            self._apply(engine, events_in)
            last_beat = last_batch = time.monotonic()
            last_size = len(events_in)
            if _END in batch:
                raise _StreamEnded

    @staticmethod
    def _drain(events: queue.Queue[Any]) -> list[Any]:
        """What is queued now, up to the end of the stream or a stop."""
        out = []
        while True:
            try:
                item = events.get_nowait()
            except queue.Empty:
                return out
            out.append(item)
            if item is _END or item is _WAKE:
                return out

    @staticmethod
    def _read_events(stream: Iterable[dict[str, Any]], out: queue.Queue[Any]) -> None:
        try:
            for event in stream:
                out.put(event)
        except Exception:
            pass
        finally:
            out.put(_END)

    # -- applying ----------------------------------------------------------------------
    def _full_sync(self, engine: Engine, *, first: bool = True) -> None:
        """List everything. The first list of a session goes out whole; the periodic
        safety re-list sends only what differs from what was already sent (usually
        nothing), so 1,000 rows are not re-rendered every minute for no change."""
        self.stats["full_lists"] += 1
        containers = engine.list_containers()
        old = self.containers
        self.containers = {c.id: _keep_since(old.get(c.id), c) for c in containers}
        # Containers go out before images are even asked for: with thousands of image tags
        # the image list takes longer than the container list, and users look at containers.
        if first:
            self._emit(ContainersChanged(tuple(self.containers.values()), full=True))
        else:
            upserts = tuple(c for cid, c in self.containers.items() if old.get(cid) != c)
            removed = tuple(cid for cid in old if cid not in self.containers)
            if upserts or removed:
                self._emit(ContainersChanged(upserts, removed))
        old_images = self.images
        self.images = {i.id: i for i in engine.list_images()}
        if first:
            self._emit(ImagesChanged(tuple(self.images.values()), full=True))
        else:
            changed = tuple(i for iid, i in self.images.items() if old_images.get(iid) != i)
            gone = tuple(iid for iid in old_images if iid not in self.images)
            if changed or gone:
                self._emit(ImagesChanged(changed, gone))

    def _apply(self, engine: Engine, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        self.stats["events"] += len(events)
        container_ids: dict[str, tuple[float, str] | None] = {}
        image_refs: dict[str, None] = {}
        for event in events:
            kind = event.get("Type")
            action = str(event.get("Action") or event.get("status") or "").split(":")[0].strip()
            ident = str((event.get("Actor") or {}).get("ID") or event.get("id") or "")
            if not ident:
                continue
            if kind == "container":
                if action in _QUIET_ACTIONS:
                    continue
                stamp = None
                if action in _STAMPED:
                    nano = event.get("timeNano")
                    when = nano / 1e9 if nano else event.get("time")
                    stamp = (float(when), action) if when else None
                container_ids[ident] = stamp or container_ids.get(ident)
            elif kind == "image":
                image_refs[ident] = None
        if container_ids:
            self._refresh_containers(engine, container_ids)
        if image_refs:
            self._refresh_images(engine, list(image_refs))

    def _refresh_containers(
        self, engine: Engine, named: dict[str, tuple[float, str] | None]
    ) -> None:
        self.stats["refreshes"] += 1
        fresh = {c.id: c for c in engine.list_containers(ids=list(named))}
        upserts: list[ContainerSummary] = []
        removed: list[str] = []
        for cid in named:
            found = fresh.get(cid) or next((c for i, c in fresh.items() if i.startswith(cid)), None)
            if found is None:
                if self.containers.pop(cid, None) is not None:
                    removed.append(cid)
                continue
            stamp = named[cid]
            if stamp is not None and found.state in _STAMPED[stamp[1]]:
                found = dataclasses.replace(found, state_since=stamp[0])
            else:
                found = _keep_since(self.containers.get(found.id), found)
            if self.containers.get(found.id) != found:
                self.containers[found.id] = found
                upserts.append(found)
        if upserts or removed:
            self._emit(ContainersChanged(tuple(upserts), tuple(removed)))

    def _refresh_images(self, engine: Engine, refs: list[str]) -> None:
        self.stats["refreshes"] += 1
        upserts: dict[str, ImageSummary] = {}
        removed: list[str] = []
        for ref in refs:
            image = engine.image(ref)
            if image is None:
                if ref in self.images:
                    del self.images[ref]
                    removed.append(ref)
                continue
            upserts[image.id] = image
        # A tag points at one image: a tag that moved leaves its old image (maybe dangling).
        for image in list(upserts.values()):
            for other_id, other in list(self.images.items()):
                if other_id == image.id or not set(other.tags) & set(image.tags):
                    continue
                moved = tuple(t for t in other.tags if t not in image.tags)
                upserts[other_id] = dataclasses.replace(other, tags=moved)
        changed = [i for i in upserts.values() if self.images.get(i.id) != i]
        for image in changed:
            self.images[image.id] = image
        if changed or removed:
            self._emit(ImagesChanged(tuple(changed), tuple(removed)))


def _keep_since(old: ContainerSummary | None, new: ContainerSummary) -> ContainerSummary:
    """A re-list only knows state_since to dockerd's rounding; keep the better value."""
    if (
        old is not None
        and old.state == new.state
        and old.state_since is not None
        and old.state_since != new.state_since
    ):
        return dataclasses.replace(new, state_since=old.state_since)
    return new
