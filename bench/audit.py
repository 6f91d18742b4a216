"""Image-audit benchmark: `dockui audit --no-scanner --json` vs the floor `docker save IMAGE >
/dev/null` (and `dockui layers --json`, the same reader on its headers-only path), offline.

    python bench/audit.py                 # builds the images, 3 runs each, writes the report
    python bench/audit.py --runs 1 --keep

Images (FROM dockui-test/busybox, labelled dockui.bench=1, removed at the end unless --keep):

- audit-small: the integration test's planted image (a key, tokens in a deleted file, an
  ENV secret, a build-arg secret, a setuid binary, a dpkg status file, a dist-info): ~4 MB.
- audit-mixed: 250 MB of random bytes in five 50 MB files (read past, never scanned), then
  30,000 small text files of 2 KB (60 MB: every one is read and scanned for tokens, the
  worst case for the audit), then a layer that deletes one big file.

Runs are interleaved (floor, dockui audit, dockui layers, then again); wall time around the
process, peak RSS from wait4(). Writes bench/results/audit.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCKER = "/usr/bin/docker"
LABEL = {"dockui.bench": "1", "dockui.test": "1"}

MIXED = """\
FROM dockui-test/busybox
RUN mkdir /data && for i in 0 1 2 3 4; do head -c 50000000 /dev/urandom > /data/big$i; done
RUN t=$(head -c 1500 /dev/urandom | base64 | tr -d '\\n'); i=0; \
    while [ $i -lt 300 ]; do mkdir -p /small/d$i; j=0; \
      while [ $j -lt 100 ]; do echo "line $j: $t" > /small/d$i/f$j.txt; j=$((j+1)); done; \
      i=$((i+1)); done
RUN rm /data/big4
"""


def env() -> dict[str, str]:
    out = dict(os.environ)
    out.setdefault("DOCKER_API_VERSION", "1.41")
    out["DOCKUI_CONFIG"] = "/nonexistent/bench.toml"
    return out


def build(client, dockerfile: str, files: dict[str, bytes], tag: str, **kwargs) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **files}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    client.images.build(
        fileobj=buf, custom_context=True, tag=tag, labels=LABEL, rm=True, forcerm=True, **kwargs
    )


def timed(cmd: list[str] | str, shell: bool = False) -> tuple[float, float, float]:
    """(wall s, peak RSS MB, CPU s) of one run."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, shell=shell, env=env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--write", default=str(ROOT / "bench" / "results" / "audit.md"))
    args = parser.parse_args()

    import docker

    from tests.integration import test_audit_cli as T

    client = docker.from_env(version="auto", timeout=600)
    images = {"dockui-bench/audit-small:1": None, "dockui-bench/audit-mixed:1": None}
    for tag in images:
        try:
            client.images.get(tag)
            continue
        except docker.errors.ImageNotFound:
            pass
        print(f"building {tag} …", file=sys.stderr)
        if "small" in tag:
            files = {
                "id_rsa": T.PRIVATE_KEY.encode(),
                "tokens.txt": f"github={T.GITHUB}\naws_access_key_id={T.AWS}\n".encode(),
                "status": T.DPKG_STATUS.encode(),
                "METADATA": T.METADATA.encode(),
            }
            build(client, T.PLANTED, files, tag, buildargs={"DEPLOY_PASSWORD": T.ARG_SECRET})
        else:
            build(client, MIXED, {}, tag)
    py = sys.executable
    rows = []
    for tag in images:
        info = client.api.inspect_image(tag)
        commands = {
            "docker save > /dev/null (floor)": (f"{DOCKER} save {tag} > /dev/null", True),
            "dockui audit --no-scanner --json": (
                [py, "-m", "dockui", "audit", tag, "--no-scanner", "--json", "/dev/null"],
                False,
            ),
            "dockui layers --json": (
                [py, "-m", "dockui", "layers", tag, "--json", "/dev/null"],
                False,
            ),
        }
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (cmd, shell) in commands.items():
                results[name].append(timed(cmd, shell))
        report = subprocess.run(
            [py, "-m", "dockui", "audit", tag, "--no-scanner", "--json", "-"],
            env=env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        doc = json.loads(report.stdout)
        rows.append((tag, int(info["Size"]), len(info["RootFS"]["Layers"]), results, doc))
    engine = client.version()
    load = os.getloadavg()
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Image audit benchmark",
        "",
        "`python bench/audit.py` — see its docstring for the images and the method.",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} CPUs, Linux {platform.release()}",
        f"- engine: Docker {engine.get('Version')} (API {engine.get('ApiVersion')})",
        f"- dockui: `{rev}`, Python {platform.python_version()}",
        f"- runs: {args.runs} per command, interleaved; median wall time (min-max), median "
        "peak RSS; load average at the end {:.2f} (1-minute)".format(load[0]),
        "",
    ]
    for tag, size, layers, results, doc in rows:
        scanned = doc["scanned"]
        lines += [
            f"## {tag} — {size / 1e6:,.0f} MB in {layers} layers",
            "",
            "| command | wall (s) | range (s) | x floor | peak RSS (MB) | CPU (s) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        floor = statistics.median(r[0] for r in results["docker save > /dev/null (floor)"])
        for name, runs in results.items():
            walls = [r[0] for r in runs]
            wall = statistics.median(walls)
            lines.append(
                f"| `{name}` | {wall:.2f} | {min(walls):.2f}-{max(walls):.2f} | "
                f"{wall / floor:.2f} | {statistics.median(r[1] for r in runs):.0f} | "
                f"{statistics.median(r[2] for r in runs):.2f} |"
            )
        counts = doc["summary"]["counts"]
        lines += [
            "",
            f"- audit read {scanned['headers']:,} tar headers and the contents of "
            f"{scanned['files_read']:,} files ({scanned['bytes_read'] / 1e6:,.1f} MB) of a "
            f"{scanned['export_bytes'] / 1e6:,.0f} MB export; findings: "
            + ", ".join(f"{n} {level}" for level, n in counts.items())
            + f"; {doc['summary']['packages']} packages",
            "",
        ]
    Path(args.write).write_text("\n".join(lines))
    print("\n".join(lines))
    if not args.keep:
        for tag in images:
            try:
                client.images.remove(tag, force=True)
            except Exception:
                pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
