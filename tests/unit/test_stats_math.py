"""The `docker stats` arithmetic on recorded payloads (cgroup v1 from this engine, cgroup v2
in the shape Docker 20.10+ sends), and the one-shot poller against a fake engine."""

from __future__ import annotations

import copy
import threading
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest

from dockui.engine.stats import (
    StatsPoller,
    block_io_totals,
    compute,
    cpu_percent,
    has_data,
    memory_usage,
)

# Recorded from Docker 20.10 on this cgroup v1 host with stream=false (the engine fills
# precpu_stats): a busy-looping container that first wrote 30 MB to /dev/shm. Trimmed; the
# blkio entries and the second network are added (the recording had none).
V1 = {
    "read": "2026-11-25T12:44:25.150278415Z",
    "preread": "2026-11-25T12:44:24.140436217Z",
    "pids_stats": {"current": 1},
    "blkio_stats": {
        "io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 1048576},
            {"major": 8, "minor": 0, "op": "Write", "value": 4096},
            {"major": 8, "minor": 0, "op": "Sync", "value": 1052672},
            {"major": 8, "minor": 0, "op": "Async", "value": 0},
            {"major": 8, "minor": 0, "op": "Discard", "value": 0},
            {"major": 8, "minor": 0, "op": "Total", "value": 1052672},
            {"major": 8, "minor": 16, "op": "Read", "value": 512},
            {"major": 8, "minor": 16, "op": "Write", "value": 8192},
        ],
        "io_serviced_recursive": [],
    },
    "num_procs": 0,
    "storage_stats": {},
    "cpu_stats": {
        "cpu_usage": {
            "total_usage": 1292337448,
            "percpu_usage": [477058383, 815279065],
            "usage_in_kernelmode": 30000000,
            "usage_in_usermode": 1250000000,
        },
        "system_cpu_usage": 5173140000000,
        "online_cpus": 2,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    },
    "precpu_stats": {
        "cpu_usage": {
            "total_usage": 772776081,
            "percpu_usage": [340632249, 432143832],
            "usage_in_kernelmode": 20000000,
            "usage_in_usermode": 740000000,
        },
        "system_cpu_usage": 5171110000000,
        "online_cpus": 2,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    },
    "memory_stats": {
        "usage": 32014336,
        "max_usage": 33374208,
        "stats": {
            "active_anon": 4096,
            "active_file": 0,
            "cache": 31457280,
            "inactive_anon": 31510528,
            "inactive_file": 0,
            "rss": 57344,
            "total_active_anon": 4096,
            "total_active_file": 0,
            "total_cache": 31457280,
            "total_inactive_anon": 31510528,
            "total_inactive_file": 0,
            "total_rss": 57344,
            "total_unevictable": 0,
        },
        "limit": 25276514304,
    },
    "name": "/dockui-t-probe",
    "id": "c2147f475e67656829eb4ac5e352b9ecce8da0e42a3d3a28cdd6e58905f21ee4",
    "networks": {
        "eth0": {"rx_bytes": 516, "rx_packets": 6, "tx_bytes": 100, "tx_packets": 1},
        "eth1": {"rx_bytes": 1000, "rx_packets": 3, "tx_bytes": 2000, "tx_packets": 4},
    },
}

# cgroup v2 (Docker 20.10+): no total_* keys, no percpu_usage, lowercase blkio ops,
# pids limit; a one-shot request, so precpu_stats is empty.
V2 = {
    "read": "2026-11-25T12:40:02.000000000Z",
    "preread": "0001-01-01T00:00:00Z",
    "pids_stats": {"current": 7, "limit": 4915},
    "blkio_stats": {
        "io_service_bytes_recursive": [
            {"major": 254, "minor": 0, "op": "read", "value": 7340032},
            {"major": 254, "minor": 0, "op": "write", "value": 12288},
        ],
    },
    "cpu_stats": {
        "cpu_usage": {
            "total_usage": 5600000000,
            "usage_in_kernelmode": 400000000,
            "usage_in_usermode": 5200000000,
        },
        "system_cpu_usage": 90004000000000,
        "online_cpus": 4,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    },
    "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
    "memory_stats": {
        "usage": 104857600,
        "stats": {
            "active_anon": 52428800,
            "active_file": 10485760,
            "anon": 62914560,
            "file": 41943040,
            "inactive_anon": 10485760,
            "inactive_file": 31457280,
            "shmem": 0,
            "slab": 1048576,
            "unevictable": 0,
        },
        "limit": 2147483648,
    },
    "name": "/web-1",
    "id": "ab" * 32,
    "networks": {"eth0": {"rx_bytes": 20000, "tx_bytes": 4000}},
}

# The same container 2 s earlier (what the poller keeps from its previous one-shot request).
V2_PREV = copy.deepcopy(V2)
V2_PREV["read"] = "2026-11-25T12:40:00.000000000Z"
V2_PREV["cpu_stats"]["cpu_usage"]["total_usage"] = 3600000000
V2_PREV["cpu_stats"]["system_cpu_usage"] = 89996000000000
V2_PREV["networks"] = {"eth0": {"rx_bytes": 10000, "tx_bytes": 3000}}
V2_PREV["blkio_stats"]["io_service_bytes_recursive"][0]["value"] = 5242880


def test_v1_cpu_uses_the_engines_precpu_like_the_cli() -> None:
    s = compute(V1)
    cpu_delta = 1292337448 - 772776081
    system_delta = 5173140000000 - 5171110000000
    assert s.cpu_percent == pytest.approx(cpu_delta / system_delta * 2 * 100.0)
    assert s.cpu_percent == pytest.approx(51.19, abs=0.01)
    assert s.online_cpus == 2


def test_v1_memory_excludes_total_inactive_file_not_cache() -> None:
    s = compute(V1)
    # /dev/shm pages count as "cache" but cannot be reclaimed: docker stats (20.10+) shows
    # them, subtracting only total_inactive_file (0 here). 19.03's "- cache" would say 0.5 MB.
    assert s.mem_usage == 32014336
    assert s.mem_limit == 25276514304
    assert s.mem_percent == pytest.approx(32014336 / 25276514304 * 100)
    cached = copy.deepcopy(V1)
    cached["memory_stats"]["stats"]["total_inactive_file"] = 2097152
    cached["memory_stats"]["stats"]["inactive_file"] = 1048576  # v1 has both; total_ wins
    assert compute(cached).mem_usage == 32014336 - 2097152


def test_v1_block_io_sums_read_and_write_of_every_device() -> None:
    s = compute(V1)
    assert (s.blk_read, s.blk_write) == (1048576 + 512, 4096 + 8192)


def test_network_sums_every_interface() -> None:
    s = compute(V1)
    assert (s.net_rx, s.net_tx) == (1516, 2100)


def test_name_id_pids_and_time() -> None:
    s = compute(V1)
    assert s.name == "dockui-t-probe" and s.short_id == "c2147f475e67"
    assert s.pids == 1
    assert s.read == pytest.approx(1795610665.150278, abs=1e-3)


def test_v2_one_shot_without_previous_has_no_cpu_yet() -> None:
    s = compute(V2)
    assert s.cpu_percent is None
    assert s.net_rx_rate is None


def test_v2_against_previous_sample() -> None:
    s = compute(V2, V2_PREV)
    # (5.6e9 - 3.6e9) / (90004e9 - 89996e9) * 4 cpus * 100 = 100 %
    assert s.cpu_percent == pytest.approx(100.0)
    assert s.online_cpus == 4
    assert s.mem_usage == 104857600 - 31457280  # usage - inactive_file
    assert s.mem_percent == pytest.approx(73400320 / 2147483648 * 100)
    assert (s.blk_read, s.blk_write) == (7340032, 12288)  # lowercase ops count
    assert s.pids == 7
    assert s.net_rx_rate == pytest.approx(5000.0)  # 10 kB over 2 s
    assert s.net_tx_rate == pytest.approx(500.0)
    assert s.blk_read_rate == pytest.approx((7340032 - 5242880) / 2)
    assert s.blk_write_rate == 0.0


def test_engine_precpu_wins_over_previous_sample() -> None:
    stale = copy.deepcopy(V1)
    stale["cpu_stats"]["system_cpu_usage"] = 1
    assert compute(V1, stale).cpu_percent == compute(V1).cpu_percent


def test_cpu_edge_cases_match_the_cli() -> None:
    cur = {"cpu_usage": {"total_usage": 200, "percpu_usage": [1, 1, 1]}, "system_cpu_usage": 1000}
    pre = {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 500}
    # No online_cpus (old engines): the length of percpu_usage.
    assert cpu_percent(cur, pre) == pytest.approx(100 / 500 * 3 * 100)
    # The counter went backwards (restarted container): 0, never negative.
    assert cpu_percent(cur, {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 500}) == 0.0
    assert cpu_percent(cur, {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000}) == 0.0
    assert cpu_percent(cur, None) is None


def test_memory_edge_cases_match_the_cli() -> None:
    # total_inactive_file not below usage: the CLI falls through to inactive_file, then usage.
    assert memory_usage({"usage": 100, "stats": {"total_inactive_file": 100}}) == 100
    assert (
        memory_usage({"usage": 100, "stats": {"total_inactive_file": 200, "inactive_file": 30}})
        == 70
    )
    assert memory_usage({"usage": 100, "stats": {}}) == 100
    assert memory_usage({}) == 0
    assert compute({"memory_stats": {"usage": 5}}).mem_percent == 0.0  # no limit


def test_block_io_ignores_other_ops() -> None:
    blk = {"io_service_bytes_recursive": [{"op": "Total", "value": 9}, {"op": "", "value": 1}]}
    assert block_io_totals(blk) == (0, 0)
    assert block_io_totals({"io_service_bytes_recursive": None}) == (0, 0)


def test_a_stopped_container_payload_has_no_data() -> None:
    stopped = {"read": "0001-01-01T00:00:00Z", "memory_stats": {}, "cpu_stats": {}}
    assert not has_data(stopped)
    assert has_data(V1) and has_data(V2)


# -- the poller --------------------------------------------------------------------------------
class NotFound(Exception):
    status_code = 404


class FakeAPI:
    """Stats for fake containers: CPU time grows 0.5 s per 1 s of system time per reading."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.counts: dict[str, int] = {}
        self.stopped: set[str] = set()
        self.removed: set[str] = set()
        self.delay = delay
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def stats(self, container: str, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append((container, kwargs))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            n = self.counts[container] = self.counts.get(container, 0) + 1
        try:
            time.sleep(self.delay)
            if container in self.removed:
                raise NotFound(container)
            if container in self.stopped:
                return {"read": "0001-01-01T00:00:00Z", "memory_stats": {}, "id": container}
            raw = copy.deepcopy(V2)
            raw["id"], raw["name"] = container, "/" + container
            raw["cpu_stats"]["cpu_usage"]["total_usage"] = n * 1_000_000_000
            raw["cpu_stats"]["system_cpu_usage"] = n * 8_000_000_000  # 4 cpus x 2 s
            raw["precpu_stats"] = {"cpu_usage": {"total_usage": 0}}
            raw["read"] = f"2026-11-25T12:40:{n * 2:02d}.000000000Z"
            return raw
        finally:
            with self.lock:
                self.active -= 1


def fake_engine(api: FakeAPI, version: str = "1.41") -> Any:
    """An Engine whose get_json answers /containers/ID/stats from the fake API."""

    def get_json(path: str, params: dict[str, str] | None = None) -> Any:
        _, kind, container, what = path.split("/")
        assert (kind, what) == ("containers", "stats")
        params = params or {}
        kwargs: dict[str, Any] = {"stream": params.get("stream") != "0"}
        if params.get("one-shot") == "1":
            kwargs["one_shot"] = True
        return api.stats(unquote(container), **kwargs)

    return SimpleNamespace(
        api=SimpleNamespace(api_version=version),
        info=SimpleNamespace(api_version=version),
        get_json=get_json,
        socket_path=None,  # a remote engine: the thread-pool path (local: tests/integration)
    )


def drain(poller: StatsPoller, api: FakeAPI, expected_calls: int) -> None:
    deadline = time.monotonic() + 5
    while len(api.calls) < expected_calls or poller._in_flight:
        assert time.monotonic() < deadline, "poller did not finish"
        time.sleep(0.01)


def test_poller_samples_with_one_shot_requests_and_computes_cpu_from_its_history() -> None:
    api = FakeAPI()
    samples: list[tuple[str, Any]] = []
    poller = StatsPoller(fake_engine(api), lambda: ["a", "b"], lambda i, s: samples.append((i, s)))
    try:
        for round_no in (1, 2, 3):
            poller.sample_round()
            drain(poller, api, 2 * round_no)
    finally:
        poller.close()
    assert all(kw == {"stream": False, "one_shot": True} for _, kw in api.calls)
    a = [s for i, s in samples if i == "a"]
    assert len(a) == 3
    assert a[0].cpu_percent is None  # no baseline on the first one-shot reading
    # 1e9 ns of CPU over 8e9 ns of system time on 4 CPUs = 50 %
    assert a[1].cpu_percent == pytest.approx(50.0) and a[2].cpu_percent == pytest.approx(50.0)
    assert poller.history("a") == tuple(a)
    assert poller.latest("b") is not None


def test_poller_on_old_engines_asks_without_one_shot() -> None:
    api = FakeAPI()
    poller = StatsPoller(fake_engine(api, "1.40"), lambda: ["a"], lambda i, s: None)
    try:
        poller.sample_round()
        drain(poller, api, 1)
    finally:
        poller.close()
    assert api.calls[0][1] == {"stream": False}


def test_poller_history_is_bounded_and_forgets_what_is_no_longer_wanted() -> None:
    api = FakeAPI()
    wanted = ["a", "b"]
    poller = StatsPoller(fake_engine(api), lambda: list(wanted), lambda i, s: None, history=3)
    try:
        for n in range(1, 6):
            poller.sample_round()
            drain(poller, api, 2 * n)
        assert len(poller.history("a")) == 3
        wanted.remove("b")
        poller.sample_round()
        drain(poller, api, 11)
        assert poller.history("b") == () and len(poller.history("a")) == 3
    finally:
        poller.close()


def test_poller_reports_stopped_and_removed_containers_once() -> None:
    api = FakeAPI()
    gone: list[str] = []
    poller = StatsPoller(
        fake_engine(api), lambda: ["a", "b", "c"], lambda i, s: None, on_gone=gone.append
    )
    try:
        poller.sample_round()
        drain(poller, api, 3)
        api.stopped.add("b")
        api.removed.add("c")
        poller.sample_round()
        drain(poller, api, 6)
        poller.sample_round()
        drain(poller, api, 9)
    finally:
        poller.close()
    assert sorted(gone) == ["b", "c"]
    assert poller.history("b") == () and poller.history("c") == ()
    assert len(poller.history("a")) == 3


def test_poller_pool_is_bounded_and_skips_containers_still_in_flight() -> None:
    api = FakeAPI(delay=0.2)
    ids = [f"c{i}" for i in range(10)]
    poller = StatsPoller(fake_engine(api), lambda: ids, lambda i, s: None, workers=3)
    try:
        assert poller.sample_round() == 10
        assert poller.sample_round() == 0  # every one still waiting: nothing doubled
        drain(poller, api, 10)
    finally:
        poller.close()
    assert api.max_active <= 3
    assert poller.stats["skipped"] == 10


def test_poller_thread_ticks_and_survives_a_failing_consumer() -> None:
    api = FakeAPI()
    seen = threading.Event()
    calls: list[str] = []

    def consumer(cid: str, sample: Any) -> None:
        calls.append(cid)
        if len(calls) >= 3:
            seen.set()
        raise RuntimeError("broken widget")

    poller = StatsPoller(fake_engine(api), lambda: ["a"], consumer, interval=0.05).start()
    try:
        assert seen.wait(5)
    finally:
        poller.close()
    assert len(poller.history("a")) >= 3


def test_poller_waits_while_disconnected() -> None:
    poller = StatsPoller(lambda: None, lambda: ["a"], lambda i, s: None)
    try:
        assert poller.sample_round() == 0
    finally:
        poller.close()
