"""The engine layer against the real dockerd."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from dockui.engine.client import EngineUnavailable, connect
from dockui.engine.logs import LogFollower
from tests.conftest import docker_cli, wait_for

pytestmark = pytest.mark.engine


def test_connect_negotiates_the_engines_api_version(docker_client):
    engine = connect()
    try:
        server_api = docker_client.version()["ApiVersion"]
        assert engine.info.api_version == min(
            server_api, "1.44", key=lambda v: tuple(map(int, v.split(".")))
        )
        assert engine.info.server_version == docker_client.version()["Version"]
        assert engine.ping()
    finally:
        engine.close()


def test_bad_addresses_raise_a_sentence_not_a_traceback():
    for host in ("unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1", "gopher://x"):
        with pytest.raises(EngineUnavailable) as info:
            connect(host, timeout=3)
        assert info.value.reason and "Traceback" not in str(info.value)


def test_sparse_lists_match_docker_ps(docker_client, make_container):
    web = make_container("httpd -f -p 80", ports={"80/tcp": ("127.0.0.1", None)})
    stopped = make_container("true", start=False)
    engine = connect()
    try:
        by_id = {c.id: c for c in engine.list_containers()}
        listed = set(docker_cli("ps", "-a", "-q", "--no-trunc").split())
        assert set(by_id) == listed
        w = by_id[web.id]
        assert w.state == "running" and w.name == web.name
        assert w.state_since is not None and abs(w.state_since - time.time()) < 5
        port = docker_cli("port", web.id, "80/tcp").split()[0].rsplit(":", 1)[1]
        assert w.ports_text == f"127.0.0.1:{port}→80/tcp"
        assert by_id[stopped.id].state == "created"
        assert engine.list_containers(ids=[web.id])[0].id == web.id
    finally:
        engine.close()


def test_history_matches_docker_history(layered_image):
    engine = connect()
    try:
        layers = engine.history(layered_image)
    finally:
        engine.close()
    sizes = docker_cli(
        "history", "--no-trunc", "--human=false", "--format", "{{.Size}}", layered_image
    )
    expected = [int(s) for s in sizes.split()][::-1]  # docker prints newest first
    assert [layer.size for layer in layers] == expected
    assert layers[-1].cumulative == sum(expected)
    instructions = [layer.instruction for layer in layers]
    assert "ENV APP_HOME=/srv/app" in instructions
    assert "WORKDIR /srv/app" in instructions
    assert any(i.startswith("RUN dd if=/dev/zero") for i in instructions)
    assert any(i.startswith("COPY ") and "/srv/app/payload.txt" in i for i in instructions)
    assert 'CMD ["httpd" "-f" "-p" "80"]' in instructions
    assert "EXPOSE 80" in instructions or "EXPOSE 80/tcp" in instructions
    assert not any("#(nop)" in i or "/bin/sh -c" in i for i in instructions)


def test_log_follower_streams_stdout_and_stderr_and_ends_on_removal(make_container):
    script = (
        "echo out-1; echo err-1 >&2; printf 'no-newline'; sleep 0.3; echo; echo out-2; sleep 100000"
    )
    c = make_container(["sh", "-c", script])
    engine = connect()
    lines, ended = [], []
    follower = LogFollower(engine, c.id, lines.extend, ended.append, tail=100).start()
    try:
        wait_for(lambda: any(line.text == "out-2" for line in lines), timeout=10)
        texts = [(line.text, line.stderr) for line in lines]
        assert ("out-1", False) in texts and ("err-1", True) in texts
        assert ("no-newline", False) in texts
        c.remove(force=True)
        wait_for(lambda: ended, timeout=10)
    finally:
        follower.close()
        engine.close()


def test_log_stream_read_from_the_socket_equals_urllib3s_reading(make_container):
    """The engine's log stream is HTTP chunked: dockui reads the socket in blocks and
    undoes the chunking itself. Same lines, stamps and streams as the reading through
    urllib3 (the fallback), and many lines per read instead of one."""
    from dockui.engine import logs as logs_mod

    script = (
        "i=0; while [ $i -lt 3000 ]; do echo line-$i; [ $((i % 500)) = 0 ] && echo err-$i >&2;"
        " i=$((i+1)); done; printf 'tail-no-newline'"
    )
    c = make_container(["sh", "-c", script])
    wait_for(lambda: (c.reload() or c.status) == "exited", timeout=20)
    engine = connect()
    try:
        response, tty = logs_mod._open_logs(engine, c.id, {"follow": 0, "tail": "all"})
        assert logs_mod._chunked_socket(response.raw) is not None  # the fast path engages
        fast_batches = list(logs_mod._read_lines(response, tty, threading.Event()))
        response.close()
        real = logs_mod._chunked_socket
        logs_mod._chunked_socket = lambda raw: None
        try:
            response, tty = logs_mod._open_logs(engine, c.id, {"follow": 0, "tail": "all"})
            slow_batches = list(logs_mod._read_lines(response, tty, threading.Event()))
            response.close()
        finally:
            logs_mod._chunked_socket = real
        fast = [line for batch in fast_batches for line in batch]
        slow = [line for batch in slow_batches for line in batch]
        assert len(fast) == 3000 + 6 + 1
        assert fast == slow
        assert fast[-1].text == "tail-no-newline"
        assert [ln.text for ln in fast if ln.stderr] == [f"err-{i}" for i in range(0, 3000, 500)]
        assert all(ln.ts is not None and abs(ln.ts - time.time()) < 120 for ln in fast)
        assert len(fast_batches) < len(slow_batches) / 10  # blocks, not a read per line
        # the connection still answers afterwards (nothing half-read was reused)
        assert engine.api.ping()
    finally:
        engine.close()


def test_log_follower_close_releases_its_thread(make_container):
    import threading

    c = make_container(["sh", "-c", "while true; do echo tick; sleep 0.05; done"])
    engine = connect()
    try:
        before = threading.active_count()
        for _ in range(20):
            follower = LogFollower(engine, c.id, lambda lines: None).start()
            time.sleep(0.02)
            follower.close()
            follower.join(timeout=5)
        wait_for(lambda: threading.active_count() <= before, timeout=5)
    finally:
        engine.close()


def test_get_json_on_the_local_socket_agrees_with_docker_py_and_recovers(make_container):
    """The lean keep-alive path the stats poller uses: same answers as docker-py, errors
    with docker-py's status codes, and a connection the engine dropped is reopened."""
    from dockui.engine.client import EngineHTTPError
    from dockui.engine.models import api_path

    engine = connect()
    try:
        assert engine.info.host.startswith("unix://")
        assert engine.get_json("/version")["ApiVersion"] == engine.api.version()["ApiVersion"]
        box = make_container(command=["sleep", "60"])
        box.start()
        path = api_path("/containers/{}/json", box.id)
        assert engine.get_json(path)["Id"] == engine.api.inspect_container(box.id)["Id"]
        stats = engine.get_json(
            api_path("/containers/{}/stats", box.id), {"stream": "0", "one-shot": "1"}
        )
        assert stats["id"] == box.id and "memory_stats" in stats
        with pytest.raises(EngineHTTPError) as missing:
            engine.get_json(api_path("/containers/{}/json", "no/such container"))
        assert missing.value.status_code == 404
        assert "no such container" in str(missing.value).lower()
        engine._local.conn.sock.shutdown(socket.SHUT_RDWR)  # as if the engine had restarted
        assert engine.get_json(path)["Id"] == box.id
    finally:
        engine.close()


def test_the_raw_ping_keeps_its_socket_and_recovers_from_a_drop():
    """The watcher's ping every second goes over one raw keep-alive socket per thread: the
    same socket ping after ping, a socket the engine dropped replaced without an error,
    and all of them closed with the engine."""
    engine = connect()
    try:
        assert engine.ping(timeout=2) and engine.ping(timeout=2)
        kept = engine._local.raw
        assert engine.ping(timeout=2) and engine._local.raw is kept
        kept.shutdown(socket.SHUT_RDWR)  # as if the engine had restarted
        assert engine.ping(timeout=2)
        assert engine._local.raw is not kept and kept.fileno() < 0
        fresh = engine._local.raw
    finally:
        engine.close()
    assert fresh.fileno() < 0


def test_a_local_engine_is_connected_listed_and_watched_without_docker_py():
    """The start-up path (version, lists, events, pings, history) on a local socket never
    loads docker-py or requests: ~150 ms of imports before the first list."""
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "from dockui.engine.client import connect\n"
        "import dockui.app, dockui.engine.watch, dockui.engine.stats\n"
        "engine = connect()\n"
        "assert engine.info.host.startswith('unix://')\n"
        "engine.list_containers(); images = engine.list_images(); engine.ping(timeout=2)\n"
        "engine.history(images[0].id) if images else None\n"
        "stream = engine.events(filters={'type': ['container']})\n"
        "reader = threading.Thread(target=lambda: list(stream)); reader.start()\n"
        "stream.close(); reader.join(5); assert not reader.is_alive()\n"
        "print(sorted(m for m in ('docker', 'requests', 'urllib3') if m in sys.modules))\n"
        "engine.api  # the docker-py client is still there when something asks for it\n"
        "print('docker' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split("\n")[:2] == ["[]", "True"]


def test_the_lean_event_stream_carries_what_docker_py_decodes(docker_client, make_container):
    """Same events (type, action, actor, labels) as docker-py's stream, and close() from
    another thread ends a reader blocked on a quiet stream."""
    engine = connect()
    lean = engine.events(filters={"type": ["container"], "label": ["dockui.test=1"]})
    reference = docker_client.api.events(
        decode=True, filters={"type": ["container"], "label": ["dockui.test=1"]}
    )
    seen: dict[str, list[dict]] = {"lean": [], "docker-py": []}

    def read(name, stream):
        try:
            for event in stream:
                seen[name].append(event)
        except Exception:  # the reference stream raises when closed
            pass

    readers = [
        threading.Thread(target=read, args=("lean", lean), daemon=True),
        threading.Thread(target=read, args=("docker-py", reference), daemon=True),
    ]
    try:
        for reader in readers:
            reader.start()
        box = make_container("true", start=False)
        box.remove()
        wait_for(
            lambda: all(
                any(e.get("Action") == "destroy" and e["Actor"]["ID"] == box.id for e in got)
                for got in seen.values()
            ),
            timeout=10,
        )
        assert seen["lean"] == seen["docker-py"]
        assert [e["Action"] for e in seen["lean"]] == ["create", "destroy"]
        assert seen["lean"][0]["Actor"]["Attributes"]["dockui.test"] == "1"
        started = time.monotonic()
        lean.close()
        readers[0].join(5)
        assert not readers[0].is_alive() and time.monotonic() - started < 2
    finally:
        lean.close()
        reference.close()
        engine.close()


def test_a_lingering_event_stream_reads_a_burst_in_a_few_blocks(docker_client, make_container):
    """With `linger` (the watcher's), a burst of events comes in a few reads instead of one
    per event, every event arrives once and in order, and close() ends a lingering reader
    at once."""
    engine = connect()
    stream = engine.events(filters={"type": ["container"], "label": ["dockui.test=1"]}, linger=0.3)
    seen: list[dict] = []
    reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
    try:
        reader.start()
        boxes = [make_container("true", start=False) for _ in range(12)]
        for box in boxes:
            box.remove()
        ids = [b.id for b in boxes]
        expected = [("create", i) for i in ids] + [("destroy", i) for i in ids]
        wait_for(lambda: len(seen) >= 24, timeout=20)
        got = [(e["Action"], e["Actor"]["ID"]) for e in seen]
        assert sorted(got) == sorted(expected) and len(got) == 24
        assert [i for a, i in got if a == "destroy"] == ids  # in the engine's order
        # Without lingering a read took one event (the engine sends each as its own chunk
        # as it happens); here 24 events came in far fewer reads.
        assert stream.reads <= 12, stream.reads
        time.sleep(0.05)
        box = make_container("true", start=False)  # a read, then the reader lingers
        wait_for(lambda: any(e["Actor"]["ID"] == box.id for e in seen), timeout=10)
        started = time.monotonic()
        stream.close()
        reader.join(5)
        assert not reader.is_alive() and time.monotonic() - started < 0.25
    finally:
        stream.close()
        engine.close()
