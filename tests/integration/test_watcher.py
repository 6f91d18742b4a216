"""The watcher: events first, then lists; targeted refreshes; reconnect and resync."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from dockui.engine.watch import (
    Connected,
    ContainersChanged,
    Disconnected,
    ImagesChanged,
    Watcher,
)
from tests.conftest import build_image, unique, wait_for
from tests.proxy import EngineProxy

pytestmark = pytest.mark.engine


class Recorder:
    def __init__(self) -> None:
        self.updates: list = []
        self.lock = threading.Lock()

    def __call__(self, update) -> None:
        with self.lock:
            self.updates.append(update)

    def of(self, kind):
        with self.lock:
            return [u for u in self.updates if isinstance(u, kind)]


@pytest.fixture
def watcher():
    made = []

    def make(host=None, **kw):
        rec = Recorder()
        w = Watcher(rec, host, **kw)
        w.start()
        made.append(w)
        return w, rec

    yield make
    for w in made:
        w.stop()


def test_container_lifecycle_arrives_as_targeted_deltas(watcher, make_container):
    w, rec = watcher()
    wait_for(lambda: rec.of(ContainersChanged), timeout=10)
    assert rec.of(Connected)[0].info.api_version
    full_before = w.stats["full_lists"]

    t0 = time.monotonic()
    c = make_container()
    wait_for(lambda: c.id in w.containers and w.containers[c.id].state == "running", timeout=2)
    appeared = time.monotonic() - t0
    delta = [
        u for u in rec.of(ContainersChanged) if not u.full and any(x.id == c.id for x in u.upserts)
    ]
    assert delta and all(len(u.upserts) <= 2 for u in delta)  # only the named container

    c.stop(timeout=0)
    wait_for(lambda: w.containers[c.id].state == "exited", timeout=5)
    assert w.containers[c.id].exit_code is not None
    c.remove(force=True)
    wait_for(lambda: c.id not in w.containers, timeout=5)
    assert any(c.id in u.removed for u in rec.of(ContainersChanged))
    # Events did the work: no full re-list happened meanwhile.
    assert w.stats["full_lists"] == full_before
    assert appeared < 2


def test_image_tag_and_removal(watcher, docker_client):
    w, rec = watcher()
    wait_for(lambda: rec.of(ImagesChanged), timeout=10)
    tag = f"dockui-test/watched:{unique('t')}"
    image = build_image(docker_client, "FROM dockui-test/busybox\nLABEL x=1\n", {}, tag)
    wait_for(lambda: image.id in w.images and tag in w.images[image.id].tags, timeout=5)
    docker_client.images.remove(tag, force=True)
    wait_for(lambda: image.id not in w.images, timeout=5)


def test_reconnects_and_resyncs_after_the_engine_goes_away(watcher, make_container, tmp_path):
    proxy = EngineProxy(str(tmp_path / "engine.sock")).start()
    w, rec = watcher(proxy.url, backoff=(0.2, 1.0))
    wait_for(lambda: rec.of(ContainersChanged), timeout=10)
    before = make_container()
    wait_for(lambda: before.id in w.containers, timeout=5)

    proxy.stop()  # for the client, the engine just died
    wait_for(lambda: rec.of(Disconnected), timeout=2)
    gone = rec.of(Disconnected)[0]
    assert gone.was_connected and gone.error.reason

    # Things change while we cannot see them.
    during = make_container()
    before.remove(force=True)

    connects = len(rec.of(Connected))
    proxy.start()
    wait_for(lambda: len(rec.of(Connected)) > connects, timeout=5)
    wait_for(lambda: during.id in w.containers and before.id not in w.containers, timeout=5)
    proxy.stop()


def test_unreachable_engine_reports_and_keeps_retrying(watcher):
    w, rec = watcher("unix:///nonexistent/docker.sock", backoff=(0.05, 0.1))
    wait_for(lambda: len(rec.of(Disconnected)) >= 3, timeout=5)
    first = rec.of(Disconnected)[0]
    assert not first.was_connected
    assert "does not exist" in first.error.reason
    assert w.running


def test_a_silent_network_drop_shows_within_two_seconds(watcher, tmp_path):
    """No RST, no EOF: the link just goes quiet. The heartbeat notices."""
    proxy = EngineProxy(str(tmp_path / "engine.sock")).start()
    try:
        _, rec = watcher(proxy.url, backoff=(0.2, 1.0))
        wait_for(lambda: rec.of(ContainersChanged), timeout=10)
        time.sleep(1.2)  # let a heartbeat or two pass normally
        t0 = time.monotonic()
        proxy.frozen.set()
        wait_for(lambda: rec.of(Disconnected), timeout=4)
        assert time.monotonic() - t0 < 3.0  # ~2 s by design (1 s beat + 1 s timeout)
        proxy.frozen.clear()
        connects = len(rec.of(Connected))
        wait_for(lambda: len(rec.of(Connected)) > connects, timeout=10)
    finally:
        proxy.stop()


def test_periodic_relist_sends_only_what_events_missed(watcher, make_container):
    """The safety re-list: nothing changed → nothing sent; a change the events did not
    report (simulated by a stale copy) → a delta with just that container. A created
    container: a running one's status text ("Up 3 seconds") changes every second."""
    c = make_container(start=False)
    w, rec = watcher(resync_every=0.5)
    wait_for(lambda: c.id in w.containers, timeout=30)
    wait_for(lambda: w.stats["full_lists"] >= 3, timeout=30)
    assert rec.of(ContainersChanged)[0].full is True
    assert [u for u in rec.of(ContainersChanged) if u.full] == rec.of(ContainersChanged)[:1]
    sent = len(rec.of(ContainersChanged))
    lists = w.stats["full_lists"]
    wait_for(lambda: w.stats["full_lists"] >= lists + 2, timeout=30)
    # Other sessions' containers may come and go meanwhile; ours did not change.
    later = rec.of(ContainersChanged)[sent:]
    assert not any(c.id in {x.id for x in u.upserts} for u in later)
    assert not [u for u in rec.of(ImagesChanged) if u.full][1:]

    # As if an event had been lost: the watcher's copy is stale (same key: no resize race).
    w.containers[c.id] = dataclasses.replace(w.containers[c.id], status="stale")
    wait_for(
        lambda: any(
            not u.full and [x.id for x in u.upserts] == [c.id] for u in rec.of(ContainersChanged)
        ),
        timeout=30,
    )
    assert w.containers[c.id].status != "stale"
