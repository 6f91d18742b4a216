"""Container resource usage the way `docker stats` computes it, polled cheaply.

`compute()` turns one stats payload into a `StatsSample` with the docker CLI's own formulas
(cli/command/container/stats_helpers.go): CPU % from the delta of container and system CPU
time scaled by the online CPUs, memory without the inactive page cache (cgroup v1:
`total_inactive_file`, cgroup v2: `inactive_file`), network and block IO summed.

`StatsPoller` samples the containers its caller names (the running ones on screen) every
~2 s with one-shot requests: on a local socket all of a round's requests are in flight at
once from the poller's own thread (keep-alive sockets and a selector, half the CPU of a
thread pool of http.client connections); elsewhere from a small bounded thread pool.
A one-shot request carries no previous CPU reading (a plain `stream=False` request makes
the engine wait for two of its 1-second collection ticks, ~2 s, per container), so the
poller keeps each container's previous payload and computes CPU % against it. There is
never a stream per container, and the engine only collects a container's stats while a
request for it waits (about one tick every 2 s) instead of every second for every
container as a stream per container makes it.

Everything here blocks or runs in its own threads; `on_sample` is called from the poller's
threads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from dockui.engine.client import HTTPAnswer, raw_get_request, unix_socket
from dockui.engine.models import api_path, parse_rfc3339
from dockui.engine.text import clean_field

if TYPE_CHECKING:
    from dockui.engine.client import Engine

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 2.0
# The engine answers a one-shot request at its next stats collection tick (every 1 s), so a
# request waits up to a second: the pool sizes the throughput, ~workers containers a second.
# 8 refresh 16 visible containers every 2 s and stay within docker-py's 10-connection pool
# next to the events stream and a log follower.
DEFAULT_WORKERS = 8
DEFAULT_HISTORY = 60  # two minutes of sparkline at the default interval


@dataclass(frozen=True, slots=True)
class StatsSample:
    """One reading of a running container. Sizes in bytes, rates in bytes per second."""

    id: str
    name: str
    read: float  # when the engine took the reading (epoch seconds)
    cpu_percent: float | None  # None on the very first one-shot reading (no baseline yet)
    online_cpus: int
    mem_usage: int  # excluding inactive page cache, like `docker stats`
    mem_limit: int
    mem_percent: float
    net_rx: int
    net_tx: int
    blk_read: int
    blk_write: int
    pids: int | None = None
    # Rates against the previous reading; None without one.
    net_rx_rate: float | None = None
    net_tx_rate: float | None = None
    blk_read_rate: float | None = None
    blk_write_rate: float | None = None

    @property
    def short_id(self) -> str:
        return self.id[:12]


def has_data(raw: dict[str, Any]) -> bool:
    """False for the empty payload the engine returns for a container that is not running."""
    read = str(raw.get("read") or "")
    return bool(raw.get("memory_stats")) and not read.startswith("0001-")


def cpu_percent(cpu: dict[str, Any], precpu: dict[str, Any] | None) -> float | None:
    """docker CLI calculateCPUPercentUnix; None when there is no previous reading."""
    if not precpu or not precpu.get("system_cpu_usage"):
        return None
    cpu_delta = float(_usage(cpu)) - float(_usage(precpu))
    system_delta = float(cpu.get("system_cpu_usage") or 0) - float(precpu["system_cpu_usage"])
    online = float(cpu.get("online_cpus") or 0)
    if online == 0.0:
        online = float(len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def _usage(cpu: dict[str, Any]) -> int:
    return int((cpu.get("cpu_usage") or {}).get("total_usage") or 0)


def memory_usage(mem: dict[str, Any]) -> int:
    """docker CLI calculateMemUsageUnixNoCache: usage minus the inactive file cache.

    cgroup v1: `usage - stats.total_inactive_file`; cgroup v2: `usage - stats.inactive_file`.
    (Docker 19.03 and older subtracted `stats.cache`; the CLI stopped doing that in 20.10
    because it hid memory that cannot be reclaimed, and we follow the CLI.)
    """
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    v1 = stats.get("total_inactive_file")
    if v1 is not None and int(v1) < usage:
        return usage - int(v1)
    v2 = int(stats.get("inactive_file") or 0)
    if v2 < usage:
        return usage - v2
    return usage


def memory_percent(usage: int, limit: int) -> float:
    return usage / limit * 100.0 if limit else 0.0


def network_totals(networks: dict[str, Any] | None) -> tuple[int, int]:
    rx = tx = 0
    for net in (networks or {}).values():
        rx += int(net.get("rx_bytes") or 0)
        tx += int(net.get("tx_bytes") or 0)
    return rx, tx


def block_io_totals(blkio: dict[str, Any] | None) -> tuple[int, int]:
    """Bytes read and written: the CLI sums io_service_bytes_recursive entries whose op
    starts with r/R (Read; cgroup v2 says `read`) or w/W (Write / `write`)."""
    read = write = 0
    for entry in (blkio or {}).get("io_service_bytes_recursive") or ():
        op = str(entry.get("op") or "")
        if not op:
            continue
        if op[0] in "rR":
            read += int(entry.get("value") or 0)
        elif op[0] in "wW":
            write += int(entry.get("value") or 0)
    return read, write


def compute(raw: dict[str, Any], prev: dict[str, Any] | None = None) -> StatsSample:
    """One sample from a stats payload. CPU % uses the payload's own `precpu_stats` when the
    engine filled it (a non-one-shot request), else the `prev` payload of the same container
    (one-shot polling); with neither it is None."""
    cpu = raw.get("cpu_stats") or {}
    precpu = raw.get("precpu_stats") or {}
    if not precpu.get("system_cpu_usage") and prev is not None:
        precpu = prev.get("cpu_stats") or {}
    mem = raw.get("memory_stats") or {}
    usage = memory_usage(mem)
    limit = int(mem.get("limit") or 0)
    rx, tx = network_totals(raw.get("networks"))
    blk_read, blk_write = block_io_totals(raw.get("blkio_stats"))
    online = int(cpu.get("online_cpus") or 0) or len(
        (cpu.get("cpu_usage") or {}).get("percpu_usage") or ()
    )
    pids = (raw.get("pids_stats") or {}).get("current")
    read = _stamp(raw.get("read"))
    rates: dict[str, float | None] = {
        "net_rx_rate": None,
        "net_tx_rate": None,
        "blk_read_rate": None,
        "blk_write_rate": None,
    }
    if prev is not None and has_data(prev):
        elapsed = read - _stamp(prev.get("read"))
        if elapsed > 0:
            prx, ptx = network_totals(prev.get("networks"))
            pread, pwrite = block_io_totals(prev.get("blkio_stats"))
            rates = {
                "net_rx_rate": max(0.0, (rx - prx) / elapsed),
                "net_tx_rate": max(0.0, (tx - ptx) / elapsed),
                "blk_read_rate": max(0.0, (blk_read - pread) / elapsed),
                "blk_write_rate": max(0.0, (blk_write - pwrite) / elapsed),
            }
    return StatsSample(
        id=str(raw.get("id") or ""),
        name=clean_field(str(raw.get("name") or "").lstrip("/")),
        read=read,
        cpu_percent=cpu_percent(cpu, precpu),
        online_cpus=online,
        mem_usage=usage,
        mem_limit=limit,
        mem_percent=memory_percent(usage, limit),
        net_rx=rx,
        net_tx=tx,
        blk_read=blk_read,
        blk_write=blk_write,
        pids=int(pids) if pids is not None else None,
        **rates,
    )


def _stamp(text: Any) -> float:
    if not text or str(text).startswith("0001-"):
        return 0.0
    try:
        return parse_rfc3339(str(text))
    except ValueError:
        return 0.0


def stats_params(api_version: str) -> dict[str, str]:
    """One reading, answered at once (one-shot on API 1.41+; older engines wait ~2 s)."""
    params = {"stream": "0"}
    if _version_at_least(api_version, (1, 41)):
        params["one-shot"] = "1"
    return params


def fetch_stats(engine: Engine, container: str) -> dict[str, Any]:
    """One reading (see `stats_params`)."""
    params = stats_params(engine.info.api_version)
    result: dict[str, Any] = engine.get_json(api_path("/containers/{}/stats", container), params)
    return result


def _version_at_least(version: str, wanted: tuple[int, int]) -> bool:
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


class LocalStats:
    """One-shot stats for many containers at once on a local unix socket, from one thread.

    Every request of a round goes out on its own keep-alive socket, and a selector reads
    the answers as the engine gives them (it answers each at its next collection tick):
    no thread per request, no http.client header parsing. Sockets are kept between
    rounds; one the engine closed is replaced and its request sent once more.

    The engine's answers trickle in over most of a second (it collects the containers of
    a tick one after another), so the selector is asked at most every `settle` seconds and
    reads whatever arrived since: 16 answers cost ~3 wakeups instead of 16, which halved
    the thread's CPU per round (3.9 ms to 1.7 ms here) for at most `settle` more latency.
    """

    def __init__(
        self, socket_path: str, api_version: str, timeout: float = 10.0, settle: float = 0.1
    ) -> None:
        self.socket_path = socket_path
        self.prefix = f"/v{api_version}"
        self.query = urlencode(stats_params(api_version))
        self.timeout = timeout
        self.settle = settle
        self._idle: list[socket.socket] = []

    def close(self) -> None:
        for sock in self._idle:
            with contextlib.suppress(OSError):
                sock.close()
        self._idle.clear()

    def _open(self) -> socket.socket:
        return unix_socket(self.socket_path, self.timeout)

    def _send(self, cid: str, fresh: bool) -> socket.socket:
        request = raw_get_request(
            f"{self.prefix}{api_path('/containers/{}/stats', cid)}?{self.query}"
        )
        if not fresh and self._idle:
            sock = self._idle.pop()
            try:
                sock.sendall(request)
                return sock
            except OSError:  # closed by the engine since the last round
                sock.close()
        sock = self._open()
        try:
            sock.sendall(request)
        except OSError:
            sock.close()
            raise
        return sock

    def fetch(self, ids: Iterable[str]) -> dict[str, tuple[int, bytes] | Exception]:
        """Each container's (status, body), or the exception its request ended with."""
        results: dict[str, tuple[int, bytes] | Exception] = {}
        retried: set[str] = set()
        with selectors.DefaultSelector() as selector:

            def start(cid: str, fresh: bool = False) -> None:
                try:
                    sock = self._send(cid, fresh)
                except OSError as exc:
                    results[cid] = exc
                    return
                selector.register(sock, selectors.EVENT_READ, (cid, HTTPAnswer(), fresh))

            for cid in dict.fromkeys(ids):
                start(cid)
            deadline = time.monotonic() + self.timeout
            woke = 0.0
            while selector.get_map():
                if (pause := woke + self.settle - time.monotonic()) > 0:
                    time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                remaining = deadline - time.monotonic()
                ready = selector.select(remaining) if remaining > 0 else []
                woke = time.monotonic()
                if not ready:
                    for key in list(selector.get_map().values()):
                        selector.unregister(key.fileobj)
                        key.fileobj.close()  # type: ignore[union-attr]
                        results[key.data[0]] = TimeoutError("no stats answer in time")
                    break
                for key, _ in ready:
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    cid, response, fresh = key.data
                    try:
                        complete = response.feed(sock.recv(65536))
                    except (OSError, ValueError) as exc:
                        selector.unregister(sock)
                        sock.close()
                        if not fresh and cid not in retried and not response.status:
                            retried.add(cid)  # a kept socket the engine had closed
                            start(cid, fresh=True)
                        else:
                            results[cid] = exc
                        continue
                    if complete:
                        selector.unregister(sock)
                        if response.keep_alive:
                            self._idle.append(sock)
                        else:
                            sock.close()
                        results[cid] = (response.status, response.body)
        return results


class StatsPoller:
    """Samples the containers `targets()` names every `interval` seconds.

    - `engine`: an Engine, or a callable returning the current one (None while disconnected).
    - `targets`: called once per round, returns the ids to sample ("running and visible").
    - `on_sample(id, sample)`: called from a pool thread for every new reading.
    - `on_samples([(id, sample), ...])`: instead of `on_sample`: a round's readings in
      one call (on a local socket a round is answered together; one hand-over to the UI
      thread per round instead of one per container; a pool thread's reading comes alone).
    - `on_gone(id)`: optional; called when a container stopped or vanished (its history is
      dropped, and it is sampled again only once `targets()` names it after it restarts).

    At most `workers` requests are in flight, and a container whose previous request has not
    answered yet is skipped for the round, so a slow engine is never flooded.
    """

    def __init__(
        self,
        engine: Engine | Callable[[], Engine | None],
        targets: Callable[[], Iterable[str]],
        on_sample: Callable[[str, StatsSample], None] | None = None,
        *,
        interval: float = DEFAULT_INTERVAL,
        workers: int = DEFAULT_WORKERS,
        history: int = DEFAULT_HISTORY,
        on_gone: Callable[[str], None] | None = None,
        on_samples: Callable[[list[tuple[str, StatsSample]]], None] | None = None,
    ) -> None:
        if on_sample is None and on_samples is None:
            raise TypeError("StatsPoller needs on_sample or on_samples")
        self._get_engine: Callable[[], Engine | None] = (
            engine if callable(engine) else (lambda: engine)  # type: ignore[assignment]
        )
        self.targets = targets
        self.on_sample = on_sample
        self.on_samples = on_samples
        self.on_gone = on_gone
        self.interval = interval
        self.history_size = history
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dockui-stats")
        self._local: LocalStats | None = None  # the local-socket client, per engine
        self._local_engine: Engine | None = None
        self._lock = threading.Lock()
        self._history: dict[str, deque[StatsSample]] = {}
        self._prev: dict[str, dict[str, Any]] = {}
        self._wanted: set[str] = set()
        self._in_flight: set[str] = set()
        self._reported_gone: set[str] = set()
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = {"rounds": 0, "requests": 0, "errors": 0, "skipped": 0}

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> StatsPoller:
        self._thread = threading.Thread(target=self._run, name="dockui-stats-tick", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._local is not None and not (self._thread and self._thread.is_alive()):
            self._local.close()

    def poke(self) -> None:
        """Sample now (the visible set changed) instead of at the next tick."""
        self._kick.set()

    # -- reading the history -------------------------------------------------------------
    def history(self, container_id: str) -> tuple[StatsSample, ...]:
        with self._lock:
            return tuple(self._history.get(container_id, ()))

    def latest(self, container_id: str) -> StatsSample | None:
        with self._lock:
            samples = self._history.get(container_id)
            return samples[-1] if samples else None

    def forget(self, container_id: str) -> None:
        with self._lock:
            self._history.pop(container_id, None)
            self._prev.pop(container_id, None)
            self._wanted.discard(container_id)

    # -- the loop --------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.sample_round()
            except Exception:  # a broken `targets` callable must not end the poller
                log.exception("stats round failed")
            self._kick.wait(max(0.0, self.interval - (time.monotonic() - began)))
            self._kick.clear()

    def sample_round(self) -> int:
        """Submit one round of requests; returns how many were submitted."""
        wanted = list(dict.fromkeys(self.targets()))
        with self._lock:
            for gone in set(self._history) - set(wanted):
                self._history.pop(gone, None)
                self._prev.pop(gone, None)
            self._reported_gone &= set(wanted)
            self._wanted = set(wanted)
        engine = self._get_engine()
        if engine is None:
            return 0
        self.stats["rounds"] += 1
        if engine.socket_path is not None:
            return self._local_round(engine, wanted)
        submitted = 0
        for cid in wanted:
            with self._lock:
                if cid in self._in_flight:
                    self.stats["skipped"] += 1
                    continue
                self._in_flight.add(cid)
            try:
                self._pool.submit(self._sample_one, engine, cid)
            except RuntimeError:  # the pool was shut down
                with self._lock:
                    self._in_flight.discard(cid)
                break
            submitted += 1
        return submitted

    def _local_round(self, engine: Engine, wanted: list[str]) -> int:
        """All of a round's requests at once, answered in this thread (local socket)."""
        if self._local_engine is not engine or self._local is None:
            if self._local is not None:
                self._local.close()
            assert engine.socket_path is not None
            self._local = LocalStats(engine.socket_path, engine.info.api_version)
            self._local_engine = engine
        if not wanted:
            return 0
        self.stats["requests"] += len(wanted)
        batch: list[tuple[str, StatsSample]] = []
        for cid, answer in self._local.fetch(wanted).items():
            if self._stop.is_set():
                break
            try:
                if isinstance(answer, Exception):
                    self.stats["errors"] += 1
                    log.debug("stats for %s failed: %s", cid, answer)
                elif answer[0] == 404:
                    self._gone(cid)
                elif answer[0] >= 400:
                    self.stats["errors"] += 1
                    log.debug("stats for %s failed: HTTP %s", cid, answer[0])
                elif (sample := self._take(cid, json.loads(answer[1]))) is not None:
                    batch.append((cid, sample))
            except Exception:
                log.exception("stats consumer failed")
        self._deliver(batch)
        return len(wanted)

    def _take(self, cid: str, raw: dict[str, Any]) -> StatsSample | None:
        """A payload: a sample to deliver, or None (the container is not running, or no
        longer wanted)."""
        if not has_data(raw):
            self._gone(cid)
            return None
        with self._lock:
            if cid not in self._wanted:
                return None
            sample = compute(raw, self._prev.get(cid))
            self._prev[cid] = raw
            self._reported_gone.discard(cid)
            self._history.setdefault(cid, deque(maxlen=self.history_size)).append(sample)
        return sample

    def _deliver(self, batch: list[tuple[str, StatsSample]]) -> None:
        if not batch or self._stop.is_set():
            return
        try:
            if self.on_samples is not None:
                self.on_samples(batch)
            else:
                assert self.on_sample is not None
                for cid, sample in batch:
                    self.on_sample(cid, sample)
        except Exception:
            log.exception("stats consumer failed")

    def _sample_one(self, engine: Engine, cid: str) -> None:
        try:
            if self._stop.is_set():
                return
            self.stats["requests"] += 1
            try:
                raw = fetch_stats(engine, cid)
            except Exception as exc:
                if getattr(exc, "status_code", None) == 404:
                    self._gone(cid)
                else:
                    self.stats["errors"] += 1
                    log.debug("stats for %s failed: %s", cid, exc)
                return
            sample = self._take(cid, raw)
            if sample is not None:
                self._deliver([(cid, sample)])
        except Exception:
            log.exception("stats consumer failed")
        finally:
            with self._lock:
                self._in_flight.discard(cid)

    def _gone(self, cid: str) -> None:
        with self._lock:
            known = cid in self._wanted and cid not in self._reported_gone
            self._reported_gone.add(cid)
            self._history.pop(cid, None)
            self._prev.pop(cid, None)
        if known and self.on_gone is not None and not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.on_gone(cid)
