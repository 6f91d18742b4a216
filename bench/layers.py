"""Layer-analysis benchmark: `dockui layers --json` vs `dive --ci --json` vs the floor
`docker save IMAGE > /dev/null`, on images built here, offline.

    python bench/layers.py                        # full run (~10 min): 1 GB and 250 MB images
    python bench/layers.py --keep                 # leave the images for the next run
    python bench/layers.py --sizes 250 --runs 1   # quick smoke run
    python bench/layers.py --profile              # also py-spy / cProfile the 1 GB run

The images (FROM dockui-test/busybox, labelled dockui.bench=1, removed at the end unless
--keep) are:

- ten layers of SIZE/10 MB of random bytes each (`head -c N /dev/urandom > /data/fN`), so
  gzip cannot shrink them and every byte must cross the socket;
- one layer with 20,000 small files (200 directories of 100 files);
- one last layer that wastes space the three common ways: `rm /data/f9` (a file
  whiteout), `rm -rf /small/d000` (a directory whiteout: dive does not count it) and
  `chmod 600 /small/d001/*` (metadata-only copies).

For each tool, --runs runs (default 3), interleaved (floor, dockui, dockui with content
hashing, dive, then again), so a slow minute hits all of them alike. Wall time is measured
around the process; peak RSS is the child's ru_maxrss from wait4() (the process and the
children it waited for). dive's OUT file is deleted before each of its runs (dive does not
truncate it). After timing, dockui's `--dive-compatible` JSON is compared with dive's,
byte for byte, and dockui's own numbers are reported next to dive's.

Writes a Markdown report (--write, default bench/results/layers.md) and raw JSON under
bench/_work/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK_OUT = HERE / "_work"
BASE_IMAGE = "dockui-test/busybox:latest"
LABEL = "dockui.bench=1"
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "")
ENV = {**os.environ, "DOCKER_API_VERSION": "1.41"}
ENV.pop("CI", None)  # dive treats CI=true as --ci
NOTES_MARKER = "<!-- notes: written by hand, kept when bench/layers.py rewrites this file -->"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run([DOCKER, *args], capture_output=True, text=True, env=ENV)
    if check and done.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def dockerfile(total_mb: int, files: int) -> str:
    per_layer = total_mb * 1024 * 1024 // 10
    dirs = max(1, files // 100)
    lines = [f"FROM {BASE_IMAGE}"]
    lines += [
        f"RUN mkdir -p /data && head -c {per_layer} /dev/urandom > /data/f{i}" for i in range(10)
    ]
    lines.append(
        "RUN mkdir /small && cd /small && d=0; "
        f"while [ $d -lt {dirs} ]; do dir=$(printf 'd%03d' $d); mkdir $dir; f=0; "
        "while [ $f -lt 100 ]; do echo $dir/$f > $dir/f$f; f=$((f+1)); done; d=$((d+1)); done"
    )
    lines.append("RUN rm /data/f9 && rm -rf /small/d000 && chmod 600 /small/d001/*")
    return "\n".join(lines) + "\n"


def build(tag: str, total_mb: int, files: int, keep: bool) -> None:
    if keep and docker("images", "-q", tag).strip():
        log(f"reusing {tag}")
        return
    log(f"building {tag} ({total_mb} MB + {files} small files)")
    with tempfile.TemporaryDirectory() as ctx:
        Path(ctx, "Dockerfile").write_text(dockerfile(total_mb, files))
        started = time.monotonic()
        docker("build", "-q", "--label", LABEL, "-t", tag, ctx)
        log(f"built {tag} in {time.monotonic() - started:.0f} s")


def measure(cmd: list[str]) -> dict[str, Any]:
    """Run `cmd` with stdout to /dev/null: wall seconds, peak RSS (MB), CPU seconds, rc."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    assert proc.stderr is not None
    # wait4 reaps the child and gives *its* rusage; drain stderr first (small) to not block.
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rc": proc.returncode,
        "stderr": err.decode(errors="replace")[-400:],
    }


def tool_commands(tag: str, out: Path) -> dict[str, list[str]]:
    exe = Path(sys.executable).with_name("dockui")
    dockui = str(exe) if exe.exists() else (shutil.which("dockui") or "dockui")
    dive = shutil.which("dive") or "dive"
    return {
        "docker save > /dev/null (floor)": [DOCKER, "save", tag],
        "dockui layers --json": [dockui, "layers", tag, "--json", str(out)],
        "dockui layers --json (hash contents)": [
            dockui,
            "layers",
            tag,
            "--json",
            str(out),
            "--hash-contents",
        ],
        "dive --ci --json": [dive, "--ci", "--json", str(out), tag],
    }


def run_variant(tag: str, runs: int, work: Path) -> dict[str, Any]:
    out = work / "out.json"
    commands = tool_commands(tag, out)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    load_start = f"{os.getloadavg()[0]:.2f}"
    for run in range(runs):
        for name, cmd in commands.items():
            out.unlink(missing_ok=True)
            sample = measure(cmd)
            ok_codes = (0, 1) if name.startswith("dive") else (0,)
            if sample["rc"] not in ok_codes:
                raise SystemExit(f"{name} failed (rc={sample['rc']}): {sample['stderr']}")
            samples[name].append(sample)
            log(
                f"{tag} run {run + 1}/{runs} {name}: {sample['wall']:.2f} s, "
                f"{sample['rss_mb']:.0f} MB"
            )
    summary = {}
    for name, got in samples.items():
        summary[name] = {
            "wall": statistics.median(s["wall"] for s in got),
            "wall_min": min(s["wall"] for s in got),
            "wall_max": max(s["wall"] for s in got),
            "rss_mb": statistics.median(s["rss_mb"] for s in got),
            "cpu": statistics.median(s["cpu"] for s in got),
        }
    load = f"{load_start} at the start, {os.getloadavg()[0]:.2f} at the end (1-minute)"
    return {
        "samples": samples,
        "summary": summary,
        "numbers": compare_numbers(tag, work),
        "timeline": timeline(tag, work),
        "load": load,
    }


def compare_numbers(tag: str, work: Path) -> dict[str, Any]:
    """dockui --dive-compatible vs dive, byte for byte; and dockui's own numbers."""
    dive_out, compat_out, ours_out = work / "dive.json", work / "compat.json", work / "ours.json"
    dive_out.unlink(missing_ok=True)
    dive = shutil.which("dive") or "dive"
    subprocess.run([dive, "--json", str(dive_out), tag], capture_output=True, env=ENV, check=True)
    exe = Path(sys.executable).with_name("dockui")
    dockui = str(exe) if exe.exists() else "dockui"
    for out, extra in ((compat_out, ["--dive-compatible"]), (ours_out, [])):
        subprocess.run(
            [dockui, "layers", tag, "--json", str(out), *extra],
            capture_output=True,
            env=ENV,
            check=True,
        )
    theirs = json.loads(dive_out.read_bytes())
    compat = json.loads(compat_out.read_bytes())
    ours = json.loads(ours_out.read_bytes())

    def image(doc: dict[str, Any]) -> dict[str, Any]:
        img = doc["image"]
        return {
            "sizeBytes": img["sizeBytes"],
            "inefficientBytes": img["inefficientBytes"],
            "efficiencyScore": img["efficiencyScore"],
            "wastedFiles": len(img["fileReference"]),
        }

    differences = []
    for mine, dives in zip(compat["layer"], theirs["layer"], strict=False):
        for key in ("index", "id", "digestId", "sizeBytes", "command"):
            if mine[key] != dives[key]:
                differences.append(f"layer {dives['index']} {key}: {mine[key]!r} vs {dives[key]!r}")
        for a, b in zip(mine["fileList"], dives["fileList"], strict=False):
            for key in a:
                if a[key] != b[key]:
                    differences.append(
                        f"layer {dives['index']} fileList {b['path']!r} {key}: "
                        f"{a[key]!r} vs dive's {b[key]!r}"
                    )
        if len(mine["fileList"]) != len(dives["fileList"]):
            differences.append(f"layer {dives['index']} fileList length")
    if len(compat["layer"]) != len(theirs["layer"]):
        differences.append("layer count")
    if compat["image"] != theirs["image"]:
        differences.append("image section")
    return {
        "byte_identical": dive_out.read_bytes() == compat_out.read_bytes(),
        "doc_equal": theirs == compat,
        "image_equal": theirs["image"] == compat["image"],
        "differences": differences,
        "layers": [(la["sizeBytes"], la["digestId"][:19]) for la in theirs["layer"]],
        "dive": image(theirs),
        "dockui_compatible": image(compat),
        "dockui": image(ours),
        "json_bytes": len(dive_out.read_bytes()),
    }


TIMELINE = r"""
import json, sys, time
t0 = time.perf_counter()
from dockui import layers_cli as C
from dockui.engine import layers as L
from dockui.engine.client import connect
t_import = time.perf_counter()
engine = connect()
engine.api.timeout = 600
tag, out = sys.argv[1], sys.argv[2]
marks = {}
# 1. The raw export alone: when the engine sends its first byte, when the last.
t = time.perf_counter()
for i, chunk in enumerate(engine.api.get_image(tag, chunk_size=C.PREFETCH_CHUNK)):
    if i == 0:
        marks["raw_first_byte"] = time.perf_counter() - t
marks["raw_total"] = time.perf_counter() - t
# 2. dockui's phases, as `dockui layers --json` runs them.
t = time.perf_counter()
first = []
def watched(chunks):
    for chunk in chunks:
        if not first:
            first.append(time.perf_counter() - t)
        yield chunk
    marks["stream_end"] = time.perf_counter() - t
with C.Prefetch(engine.api.get_image(tag, chunk_size=C.PREFETCH_CHUNK)) as chunks:
    export = L.read_image_export(watched(chunks), hash_contents=False)
marks["first_byte"] = first[0]
marks["parse_end"] = time.perf_counter() - t
t2 = time.perf_counter()
analysis = L.analyze_export(export)
marks["analyze"] = time.perf_counter() - t2
t3 = time.perf_counter()
with open(out, "w", encoding="utf-8") as f:
    C.write_dive_json(analysis, analysis.efficiency, f)
marks["json"] = time.perf_counter() - t3
marks["imports"] = t_import - t0
print(json.dumps(marks))
"""


def timeline(tag: str, work: Path) -> dict[str, float]:
    """Where the time goes: the engine's first byte and last byte on a bare read of the
    export, then dockui's phases in one process (stream + parse overlapped, analysis,
    JSON), plus interpreter start and imports."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - started
    done = subprocess.run(
        [sys.executable, "-c", TIMELINE, tag, str(work / "timeline.json")],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    marks = json.loads(done.stdout)
    marks["python_start"] = bare
    return marks


def profile(tag: str, work: Path) -> dict[str, Any]:
    """Where dockui's time goes: cProfile's top functions by own time."""
    stats = work / "layers.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "dockui"]
    cmd += ["layers", tag, "--json", str(work / "prof.json")]
    subprocess.run(cmd, capture_output=True, env=ENV, check=True)
    import pstats

    data = pstats.Stats(str(stats))
    rows = []
    for (file, line, func), (_cc, calls, own, cumulative, _callers) in data.stats.items():  # type: ignore[attr-defined]
        rows.append((own, cumulative, calls, f"{Path(file).name}:{line} {func}"))
    rows.sort(reverse=True)
    total = data.total_tt  # type: ignore[attr-defined]
    svg = work / "layers-py-spy.svg"
    spy = shutil.which("py-spy")
    if spy:
        exe = Path(sys.executable).with_name("dockui")
        subprocess.run(
            [spy, "record", "-o", str(svg), "--", str(exe), "layers", tag, "--json", "/dev/null"],
            capture_output=True,
            env=ENV,
        )
    return {
        "total": total,
        "top": [
            {"own": own, "cumulative": cum, "calls": calls, "where": where}
            for own, cum, calls, where in rows[:12]
        ],
        "svg": str(svg) if svg.exists() else "",
    }


def machine() -> dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    version = json.loads(docker("version", "--format", "{{json .Server}}"))
    info = json.loads(docker("info", "--format", "{{json .}}"))
    dive = subprocess.run(
        [shutil.which("dive") or "dive", "--version"], capture_output=True, text=True
    )
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "dockui/"], capture_output=True, text=True, cwd=REPO
    )
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "engine": f"Docker {version.get('Version')} (API {version.get('ApiVersion')}), "
        f"storage driver {info.get('Driver')}",
        "commit": head.stdout.strip()
        + (" (+ uncommitted dockui/ changes)" if dirty.stdout else ""),
        "dive": dive.stdout.strip(),
        "python": platform.python_version(),
    }


def report(results: dict[str, Any], info: dict[str, str], runs: int) -> str:
    lines = [
        "# Layer analysis benchmark",
        "",
        "`python bench/layers.py` — see its docstring for what it builds and how it measures.",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
        f"Linux {info['kernel']}",
        f"- engine: {info['engine']}",
        f"- dockui: `{info['commit']}`, Python {info['python']}",
        f"- dive: {info['dive']}",
        f"- runs: {runs} per tool, interleaved; median wall time (min-max), median peak RSS",
        "",
    ]
    for tag, res in results.items():
        s = res["summary"]
        floor = s["docker save > /dev/null (floor)"]
        ours = s["dockui layers --json"]
        dive = s["dive --ci --json"]
        size = res["numbers"]["dive"]["sizeBytes"]
        lines += [
            f"## {tag} — {size / 1e9:.2f} GB in {len(res['numbers']['layers'])} layers",
            "",
            "| command | wall (s) | range (s) | x floor | peak RSS (MB) | CPU (s) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, row in s.items():
            lines.append(
                f"| `{name}` | {row['wall']:.2f} | {row['wall_min']:.2f}-{row['wall_max']:.2f} "
                f"| {row['wall'] / floor['wall']:.2f} | {row['rss_mb']:.0f} | {row['cpu']:.2f} |"
            )
        lines += [
            "",
            f"- dockui / floor: **{ours['wall'] / floor['wall']:.2f}x** (target ≤ 1.2x); "
            f"dockui / dive: **{ours['wall'] / dive['wall']:.2f}x**; "
            f"peak RSS dockui {ours['rss_mb']:.0f} MB vs dive {dive['rss_mb']:.0f} MB "
            "(target < 150 MB)",
        ]
        n = res["numbers"]
        same = "byte-identical" if n["byte_identical"] else "NOT byte-identical"
        lines.append(
            f"- numbers: `dockui --dive-compatible` JSON is **{same}** to dive's "
            f"({n['json_bytes']:,} bytes); `image` section (sizeBytes, inefficientBytes, "
            f"efficiencyScore, fileReference in dive's order) equal: **{n['image_equal']}**"
        )
        for diff in n["differences"][:5]:
            lines.append(f"  - differs: {diff}")
        lines += [
            f"- load average during the runs: {res['load']}",
            "",
            "| | sizeBytes | inefficientBytes | efficiencyScore | wasted files |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, key in (
            ("dive", "dive"),
            ("dockui --dive-compatible", "dockui_compatible"),
            ("dockui", "dockui"),
        ):
            img = n[key]
            lines.append(
                f"| {label} | {img['sizeBytes']:,} | {img['inefficientBytes']:,} "
                f"| {img['efficiencyScore']:.6f} | {img['wastedFiles']:,} |"
            )
        t = res["timeline"]
        lines += [
            "",
            "Where the time goes (one extra run of each, same image):",
            "",
            f"- the engine (Docker 20.10) prepares the whole export before it sends a byte: "
            f"first byte after **{t['raw_first_byte']:.2f} s**, last after "
            f"{t['raw_total']:.2f} s on a bare read (so streaming takes "
            f"{t['raw_total'] - t['raw_first_byte']:.2f} s); every tool waits for this",
            f"- dockui in one process: first byte {t['first_byte']:.2f} s, stream end "
            f"{t['stream_end']:.2f} s, parse end {t['parse_end']:.2f} s (parsing overlaps the "
            f"stream on a reader thread), then analysis {t['analyze']:.2f} s and JSON "
            f"{t['json']:.2f} s; before all that, interpreter start {t['python_start']:.2f} s "
            f"and imports {t['imports']:.2f} s",
            "",
        ]
        if "profile" in res:
            p = res["profile"]
            lines += [
                f"cProfile of one dockui run ({p['total']:.2f} s of Python time), top own time:",
                "",
                "| own (s) | cumulative (s) | calls | function |",
                "|---:|---:|---:|---|",
            ]
            for row in p["top"]:
                lines.append(
                    f"| {row['own']:.2f} | {row['cumulative']:.2f} | {row['calls']:,} "
                    f"| `{row['where']}` |"
                )
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,250", help="image sizes in MB (default 1000,250)")
    parser.add_argument("--files", type=int, default=20_000, help="small files (default 20000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the images")
    parser.add_argument("--profile", action="store_true", help="cProfile + py-spy the biggest")
    parser.add_argument("--write", default=str(HERE / "results" / "layers.md"))
    args = parser.parse_args(argv)
    if not DOCKER:
        raise SystemExit("no docker CLI found")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    usage = shutil.disk_usage("/var/lib/docker" if os.path.isdir("/var/lib/docker") else "/")
    need = sum(sizes) * 3 * 1024 * 1024  # the image, and dive's copy of its export
    if usage.free < need:
        raise SystemExit(f"need ~{need / 1e9:.1f} GB free disk, have {usage.free / 1e9:.1f}")
    WORK_OUT.mkdir(parents=True, exist_ok=True)
    tags = {size: f"dockui-bench/layers-{size}mb:latest" for size in sizes}
    results: dict[str, Any] = {}
    try:
        for size, tag in tags.items():
            build(tag, size, args.files, args.keep)
        info = machine()
        for size, tag in tags.items():
            with tempfile.TemporaryDirectory() as work:
                results[tag] = run_variant(tag, args.runs, Path(work))
                if args.profile and size == max(sizes):
                    results[tag]["profile"] = profile(tag, WORK_OUT)
    finally:
        if not args.keep:
            for tag in tags.values():
                docker("rmi", "-f", tag, check=False)
            log("images removed")
    text = report(results, info, args.runs)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (WORK_OUT / f"layers-{stamp}.json").write_text(json.dumps({"info": info, **results}, indent=1))
    if args.write:
        target = Path(args.write)
        target.parent.mkdir(parents=True, exist_ok=True)
        notes = ""
        if target.exists():  # hand-written analysis below the marker survives a re-run
            old = target.read_text()
            if NOTES_MARKER in old:
                notes = old[old.index(NOTES_MARKER) :]
        target.write_text(text + "\n" + (f"\n{notes}" if notes else ""))
        log(f"wrote {args.write}")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
