"""The local-socket stats client against a fake engine on a unix socket that answers a
round's requests one after another, the way a real engine's collection tick does."""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockui.engine import stats
from dockui.engine.stats import LocalStats

ANSWER_GAP = 0.02  # the engine answers one request every 20 ms


class TrickleEngine:
    """Answers each stats request ANSWER_GAP after the previous answer; never those in `mute`."""

    def __init__(self, path: str, mute: frozenset[str] = frozenset()) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(64)
        self.mute = mute
        self.lock = threading.Lock()
        self.next_answer = 0.0
        self.threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    cid = head.split(b" ")[1].split(b"/")[3].decode()
                    if cid in self.mute:
                        continue
                    with self.lock:
                        at = max(time.monotonic(), self.next_answer) + ANSWER_GAP
                        self.next_answer = at
                    time.sleep(max(0.0, at - time.monotonic()))
                    body = json.dumps({"id": cid, "read": "2026-12-03T18:00:00Z"}).encode()
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def sock_path(tmp_path: Path) -> str:
    return str(tmp_path / "docker.sock")


@pytest.fixture
def selects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times the client asked its selector for ready sockets."""
    calls: list[int] = []

    class Counting(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
        def select(self, timeout: float | None = None):  # type: ignore[no-untyped-def]
            calls.append(1)
            return super().select(timeout)

    monkeypatch.setattr(stats.selectors, "DefaultSelector", Counting)
    yield calls


@pytest.mark.parametrize("settle", [0.1, 0.0])
def test_a_trickling_round_is_read_in_a_few_wakeups(
    sock_path: str, selects: list[int], settle: float
) -> None:
    engine = TrickleEngine(sock_path)
    client = LocalStats(sock_path, "1.41", timeout=5.0, settle=settle)
    ids = [f"c{i:02d}" for i in range(16)]
    try:
        began = time.monotonic()
        answers = client.fetch(ids)
        took = time.monotonic() - began
    finally:
        client.close()
        engine.close()
    assert sorted(answers) == ids
    assert all(json.loads(a[1])["id"] == cid for cid, a in answers.items())  # type: ignore[index]
    # 16 answers over ~0.32 s: one wakeup per answer without settling, a handful with it,
    # for at most one settle more of waiting.
    if settle:
        assert len(selects) <= 6, selects
    else:
        assert len(selects) >= 10, selects
    assert took < 16 * ANSWER_GAP + settle + 0.5


def test_settling_never_outlasts_the_timeout(sock_path: str) -> None:
    """The pause after a wakeup ends at the round's deadline, however long `settle` is."""
    engine = TrickleEngine(sock_path, mute=frozenset({"b"}))
    client = LocalStats(sock_path, "1.41", timeout=0.3, settle=5.0)
    try:
        began = time.monotonic()
        answers = client.fetch(["a", "b"])
        took = time.monotonic() - began
    finally:
        client.close()
        engine.close()
    assert answers["a"][0] == 200  # type: ignore[index]
    assert isinstance(answers["b"], TimeoutError)
    assert 0.25 < took < 1.0
