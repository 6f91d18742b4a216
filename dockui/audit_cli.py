"""`dockui audit IMAGE`: the image audit without the TUI, for terminals and CI pipelines.

- Prints the findings by severity (secrets masked, each naming the file, the layer and the
  instruction that added it), the package inventory's size, what was read (and the caps),
  and the scanner hand-off (trivy or grype when installed; a sentence when not).
- `--json FILE` (or `-`) writes the whole report: findings, packages (type, name, version,
  layer), layers, what was scanned, the scanner's counts and top findings.
- `--ci` exits 1 when a secret (medium or above) or any finding at or above `--fail-on`
  (default: high, or `[audit] fail_on` in the settings) is hit, else 0.

Exit codes: 0 fine, 1 the --ci gate failed, 2 an error (no engine, unknown image, bad
settings, unreadable export), 130 interrupted. Errors are one line on stderr.

Settings (`[audit]` in config.toml): fail_on, ignore (rule ids), scanner, scanner_timeout.
This module never imports Textual.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from dockui import format as fmt
from dockui.layers_cli import (
    Progress,
    _isatty,
    _terminal_width,
    read_export,
)

EXIT_OK = 0
EXIT_CI_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
LEVELS = ("high", "medium", "low")


class AuditError(Exception):
    """Something the user must fix; the message is the one line printed."""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "audit",
        help="audit an image offline: secrets, root, setuid, packages, scanner hand-off",
        description="Audit an image from its config, history and layers, read through the "
        "engine's export stream (nothing written to disk, nothing fetched): secrets in any "
        "layer (deleted ones too), ENV, build args and labels; runtime posture (root, "
        "setuid, world-writable, privileged ports, shell-form entrypoint); an inventory of "
        "deb/apk/rpm/Python packages. Then trivy or grype, when installed, offline.",
        epilog="Exit codes: 0 ok, 1 --ci gate failed, 2 error (no engine, unknown image, "
        "bad settings), 130 interrupted.",
    )
    parser.add_argument("image", metavar="IMAGE", help="image name, name:tag or id")
    parser.add_argument(
        "-H",
        "--host",
        default=argparse.SUPPRESS,
        help="engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)",
    )
    parser.add_argument(
        "-j",
        "--json",
        metavar="FILE",
        help="write the report as JSON to FILE ('-' for stdout; the text report then goes "
        "to stderr)",
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="exit 1 when a secret or a finding at or above --fail-on is hit",
    )
    parser.add_argument(
        "--fail-on",
        choices=LEVELS,
        default=None,
        help="lowest severity that fails --ci (default high, or [audit] fail_on); "
        "secrets always fail",
    )
    parser.add_argument(
        "--no-scanner", action="store_true", help="do not run trivy/grype even if installed"
    )
    parser.add_argument(
        "--scanner",
        choices=("auto", "trivy", "grype"),
        default=None,
        help="which scanner to hand off to (default auto: trivy, else grype)",
    )
    parser.add_argument(
        "--scanner-timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds the scanner may take before it is stopped (default 300)",
    )
    parser.add_argument(
        "--packages",
        action="store_true",
        help="list every package in the text report (the JSON always has them)",
    )
    parser.set_defaults(func=run)
    return parser


def _settings(args: argparse.Namespace) -> Any:
    from dockui import config

    try:
        return config.load(getattr(args, "config", None)).audit
    except config.SettingsError as exc:
        raise AuditError(f"bad settings: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """The `dockui audit` command. Returns the exit code."""
    stderr = sys.stderr
    report_out = stderr if args.json == "-" else sys.stdout
    progress: Progress | None = None
    try:
        settings = _settings(args)
        fail_on = args.fail_on or settings.fail_on
        timeout = (
            args.scanner_timeout if args.scanner_timeout is not None else settings.scanner_timeout
        )
        if timeout <= 0:
            raise AuditError("--scanner-timeout must be more than 0 seconds")
        tool = args.scanner or settings.scanner
        report, engine_env, progress = _audit(args, stderr)
        if settings.ignore:
            report.findings = [f for f in report.findings if f.rule not in settings.ignore]
        if args.no_scanner or tool == "none":
            from dockui.engine.scanner import SKIPPED, ScanResult

            report.scanner = ScanResult("", SKIPPED, "scanner hand-off skipped (--no-scanner)")
        else:
            report.scanner = _scan(args.image, tool, timeout, engine_env, stderr)
        if args.json == "-":
            _write_json_stdout(report, fail_on)
        elif args.json:
            try:
                _write_json_file(args.json, report, fail_on)
            except OSError as exc:
                raise AuditError(f"cannot write {args.json}: {exc.strerror or exc}") from None
        lines = render_report(report, fail_on, packages=args.packages, ci=args.ci)
        width = _terminal_width(report_out)
        if width:
            lines = [line if len(line) <= width else line[: width - 1] + "…" for line in lines]
        code = EXIT_OK
        if args.ci and report.failed(fail_on):
            code = EXIT_CI_FAILED
        report_out.write("\n".join(lines) + "\n")
        report_out.flush()
        return code
    except AuditError as exc:
        if progress is not None:
            progress.clear()
        print(f"dockui: {exc}", file=stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        if progress is not None:
            progress.clear()
        print("dockui: interrupted", file=stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


def _audit(args: argparse.Namespace, stderr: IO[str]) -> tuple[Any, dict[str, str], Any]:
    """Connect, find the image, stream its export through the audit."""
    from dockui.engine.audit import audit_image_stream

    def consume(chunks: Any, image_id: str, progress: Progress | None) -> Any:
        return audit_image_stream(chunks, image=args.image, image_id=image_id, progress=progress)

    report, _id, progress, env = read_export(
        args.image, getattr(args, "host", None), stderr, consume, "audit", AuditError
    )
    return report, env, progress


def _scan(image: str, tool: str, timeout: float, env: dict[str, str], stderr: IO[str]) -> Any:
    from dockui.engine.scanner import run_scanner

    shown = [False]
    tty = _isatty(stderr)

    def progress(line: str) -> None:
        if tty:
            stderr.write("\r\x1b[K" + f"scanner: {line}"[:120])
            stderr.flush()
            shown[0] = True

    result = run_scanner(image, tool=tool, timeout=timeout, progress=progress, environ=env)
    if shown[0]:
        stderr.write("\r\x1b[K")
        stderr.flush()
    return result


# -- output -----------------------------------------------------------------------------------
def render_report(
    report: Any, fail_on: str, *, packages: bool = False, ci: bool = False
) -> list[str]:
    counts = report.counts()
    short = report.image_id.removeprefix("sha256:")[:12]
    scanned = report.scanned
    caps = scanned.caps()
    lines = [
        f"dockui audit {report.image}  ({short})  user: {report.user}",
        f"read {scanned.layers} layers, {scanned.headers:,} tar headers, {scanned.files_read:,} "
        f"files ({fmt.size(scanned.bytes_read)}) of a {fmt.size(scanned.export_bytes)} export "
        f"in {scanned.seconds:.2f} s; caps: text files {fmt.size(caps['text_file_bytes'])}, "
        f"package databases {fmt.size(caps['package_db_bytes'])}",
        "",
        "Findings: " + ", ".join(f"{counts[level]} {level}" for level in counts),
    ]
    if not report.findings:
        lines.append("  nothing found")
    for f in report.findings:
        lines.append(f"  {f.severity.upper():<7} {f.rule:<24} {f.title}")
        where = []
        if f.path:
            where.append(f.path)
        if f.layer is not None:
            where.append(f"layer {f.layer}" + (f" ({f.digest})" if f.digest else ""))
        if f.instruction:
            where.append(f.instruction[:100])
        if where:
            lines.append(f"{'':34}{' · '.join(where)}")
        if f.value:
            lines.append(f"{'':34}value: {f.value}")
        if f.fate:
            lines.append(f"{'':34}{f.fate}")
        if f.detail:
            lines.append(f"{'':34}{f.detail}")
    for note in report.notes:
        lines.append(f"  note: {note}")
    by_type: dict[str, int] = {}
    for p in report.packages:
        by_type[p.type] = by_type.get(p.type, 0) + 1
    lines += [
        "",
        f"Inventory: {len(report.packages)} packages"
        + (
            " (" + ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) + ")"
            if by_type
            else ""
        )
        + ("" if packages or not report.packages else "; --packages lists them, --json too"),
    ]
    if packages:
        for p in report.packages:
            lines.append(f"  {p.type:<5} {p.name:<32} {p.version:<24} layer {p.layer}")
    scanner = report.scanner
    if scanner is not None:
        lines += ["", _scanner_line(scanner)]
        if scanner.total:
            lines.append(
                "  " + ", ".join(f"{n} {level}" for level, n in scanner.counts.items() if n)
            )
            for v in scanner.findings[:10]:
                what = f"{v.package} {v.installed}".strip() or v.target
                fixed = f" → {v.fixed}" if v.fixed else ""
                lines.append(f"  {v.severity.upper():<9} {v.id:<20} {what}{fixed}  {v.title[:60]}")
    if ci:
        failed = report.failed(fail_on)
        verdict = "FAIL" if failed else "PASS"
        lines += [
            "",
            f"CI: {verdict} (fail on: secrets, and {fail_on} or above): {len(failed)} finding(s)",
        ]
    return lines


def _scanner_line(scanner: Any) -> str:
    name = scanner.tool or "scanner"
    version = f" {scanner.version}" if scanner.version else ""
    if scanner.status in ("ok", "partial"):
        text = f"Scanner: {name}{version}: {scanner.total} finding(s) in {scanner.seconds:.1f} s"
        if scanner.message:
            text += f" — {scanner.message}"
        return text
    return f"Scanner: {scanner.message}"


def document(report: Any, fail_on: str) -> dict[str, Any]:
    from dockui.engine.audit import to_json

    return to_json(report, fail_on)


def _write_json_stdout(report: Any, fail_on: str) -> None:
    sys.stdout.write(json.dumps(document(report, fail_on), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _write_json_file(path: str, report: Any, fail_on: str) -> None:
    text = json.dumps(document(report, fail_on), indent=2, ensure_ascii=False) + "\n"
    target = Path(path)
    if target.exists() and not target.is_file():
        target.write_text(text, encoding="utf-8")
        return
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
