"""The real `dockui` process in a real terminal (tmux), read off the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import unique

pytestmark = pytest.mark.engine

TMUX = shutil.which("tmux")


SOCKET = f"dockui-tests-{uuid.uuid4().hex[:8]}"  # a tmux server of our own, never the user's


def tmux(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], **kwargs)


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session, capture_output=True, text=True).stdout


def wait_screen(session: str, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture(session)
        if needle in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared on screen:\n{screen}")


def highlight(session: str, name: str) -> None:
    """Move the Containers cursor to `name` by keys (g, then j), as a user would."""
    tmux("send-keys", "-t", session, "g")
    for _ in range(15):
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if f"Logs — {name}" in capture(session):
                return
            time.sleep(0.1)
        tmux("send-keys", "-t", session, "j")
    raise AssertionError(f"could not highlight {name}:\n{capture(session)}")


@pytest.fixture
def tmux_session():
    assert TMUX, "tmux is needed for the terminal test (apt-get install tmux)"
    name = f"dockui-test-{uuid.uuid4().hex[:6]}"
    yield name
    tmux("kill-server", capture_output=True)
    # The server unlinks its socket as it exits; a next test's new-session that reaches
    # the socket of a server still shutting down fails ("server exited unexpectedly").
    sock = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / SOCKET
    deadline = time.monotonic() + 5
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("size", "term", "flags"),
    [
        ((120, 40), "xterm-256color", ""),
        ((80, 24), "screen", "--no-mouse"),  # a plain SSH session in screen, no truecolor
        ((100, 30), "xterm", ""),
    ],
)
def test_real_process_shows_live_panes_and_quits(tmux_session, make_container, size, term, flags):
    c = make_container(
        name=unique("tty"), command="httpd -f -p 80", ports={"80/tcp": 4080 + size[1]}
    )
    cols, rows = size
    cmd = (
        f"env -u COLUMNS -u LINES -u COLORTERM TERM={term} {sys.executable} -m dockui {flags};"
        " echo EXITED-$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", tmux_session, "-x", str(cols), "-y", str(rows), cmd, check=True)
    # (A new tmux server may start the window at 80x24 and resize it: wait for the layout.)
    screen = wait_screen(tmux_session, f"{4080 + rows}→80/tcp")
    assert c.name in screen
    for title in ("Containers", "Images", "Logs", "Layers"):
        assert title in screen
    assert "connected" in screen
    assert f"{4080 + rows}→80/tcp" in screen
    assert "Traceback" not in screen
    # Live: a container started now appears without a key press.
    other = make_container(name=unique("u"))
    wait_screen(tmux_session, other.name, timeout=3)
    tmux("send-keys", "-t", tmux_session, "q", check=True)
    screen = wait_screen(tmux_session, "EXITED-0")
    assert "Traceback" not in screen


def test_real_process_with_a_bad_docker_host(tmux_session):
    cmd = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color DOCKER_HOST=tcp://127.0.0.1:1 {sys.executable}"
        " -m dockui;"
        " echo EXITED-$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", tmux_session, "-x", "100", "-y", "30", cmd, check=True)
    screen = wait_screen(tmux_session, "Cannot reach the Docker engine")
    assert "connection refused" in screen and "Retrying" in screen
    assert "Traceback" not in screen
    tmux("send-keys", "-t", tmux_session, "q", check=True)
    wait_screen(tmux_session, "EXITED-0")


def test_hostile_log_cannot_touch_the_real_terminal(tmux_session, make_container):
    """A container writes a window title (OSC 0), a clipboard write (OSC 52) and a screen
    clear into its log; the real terminal running dockui must see none of them."""
    hostile = (
        r"printf 'before\n\033]0;pwned-title\007\033]52;c;ZXZpbA==\007\033[2J\033[H"
        r"\033[31mred-line\033[0m\n'; sleep 100000"
    )
    c = make_container(["sh", "-c", hostile], name=unique("h"))
    cmd = f"env -u COLUMNS -u LINES TERM=xterm-256color {sys.executable} -m dockui"
    tmux("new-session", "-d", "-s", tmux_session, "-x", "120", "-y", "40", cmd, check=True)
    tmux("set-option", "-t", tmux_session, "set-titles", "on")
    tmux("set-option", "-t", tmux_session, "allow-rename", "on")
    wait_screen(tmux_session, c.name)
    highlight(tmux_session, c.name)  # the Logs pane follows it
    screen = wait_screen(tmux_session, "red-line")
    assert "before" in screen and "Containers" in screen  # nothing cleared the screen
    title = tmux(
        "display-message", "-p", "-t", tmux_session, "#{pane_title}",
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "pwned" not in title
    buffers = tmux("list-buffers", capture_output=True, text=True).stdout
    assert "ZXZpbA" not in buffers and "evil" not in buffers


@pytest.mark.parametrize("sig", ["HUP", "TERM"])
def test_signals_end_the_app_cleanly(tmux_session, sig, tmp_path):
    pidfile = tmp_path / "pid"
    cmd = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color {sys.executable} -m dockui"
        f" & echo $! > {pidfile}; wait $!; echo EXITED-$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", tmux_session, "-x", "100", "-y", "30", cmd, check=True)
    wait_screen(tmux_session, "Containers")
    pid = int(pidfile.read_text())
    threads = len(list((Path("/proc") / str(pid) / "task").iterdir()))
    assert threads >= 2  # the watcher is running
    subprocess.run(["kill", f"-{sig}", str(pid)], check=True)
    screen = wait_screen(tmux_session, "EXITED-0")
    assert "Traceback" not in screen
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0


def test_exec_shell_suspends_the_tui_and_comes_back(tmux_session, make_container):
    c = make_container(name=unique("sh"))
    cmd = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color {sys.executable} -m dockui;"
        " echo EXITED-$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", tmux_session, "-x", "120", "-y", "40", cmd, check=True)
    wait_screen(tmux_session, c.name)
    highlight(tmux_session, c.name)
    tmux("send-keys", "-t", tmux_session, "e")
    wait_screen(tmux_session, "(exit the shell")
    time.sleep(1.0)
    tmux("send-keys", "-t", tmux_session, "echo INSIDE-$((20+22)) $(hostname)", "Enter")
    screen = wait_screen(tmux_session, "INSIDE-42")
    assert c.short_id in screen  # the container's hostname: we were really inside
    tmux("send-keys", "-t", tmux_session, "exit", "Enter")
    screen = wait_screen(tmux_session, "Containers")
    assert f"Logs — {c.name}" in wait_screen(tmux_session, f"Logs — {c.name}")
    # Keys reach dockui again after the shell (its input is read again on resume; the
    # shell had the terminal's input to itself: INSIDE-42 above).
    tmux("send-keys", "-t", tmux_session, "?")
    wait_screen(tmux_session, "Keys — Esc to close")
    tmux("send-keys", "-t", tmux_session, "Escape")  # (a lone Escape: not with the q)
    deadline = time.monotonic() + 10
    while "Keys — Esc to close" in capture(tmux_session):
        assert time.monotonic() < deadline, "Escape did not close the help"
        time.sleep(0.1)
    tmux("send-keys", "-t", tmux_session, "q")
    screen = wait_screen(tmux_session, "EXITED-0")
    assert "Traceback" not in screen
