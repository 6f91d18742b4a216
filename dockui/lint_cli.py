"""`dockui lint [Dockerfile]`: Dockerfile advice without the TUI, for terminals and CI.

    dockui lint                      # ./Dockerfile
    dockui lint path/to/Dockerfile   # or a directory holding one, or - for stdin
    dockui lint --json               # a JSON list of findings on stdout
    dockui lint --ignore DUI010 --ignore DUI014,DUI007
    dockui lint --fail-on error      # only errors fail the run (default: warning)

Human output is one finding per line, `Dockerfile:12 DUI004 warning  message`, with the fix
indented below; colour only when stdout is a terminal (and NO_COLOR is unset).

Exit codes: 0 no finding at or above --fail-on, 1 there are, 2 an error (no Dockerfile,
unreadable file, unknown rule id). Errors are one line on stderr, never a traceback.
The rules live in dockui/engine/lint.py; `dockui lint --rules` lists them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from dockui.engine.dockerfile import parse
from dockui.engine.lint import RULES, SEVERITIES, SEVERITY_RANK, Finding, lint
from dockui.engine.text import clean_line

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
FAIL_ON_CHOICES = ("error", "warning", "info", "none")
_COLOURS = {"error": "\x1b[31;1m", "warning": "\x1b[33m", "info": "\x1b[36m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


class LintError(Exception):
    """Something the user must fix; the message is the one line printed."""


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `dockui lint`'s arguments to a parser (its own, or a `dockui` subcommand's)."""
    parser.add_argument(
        "dockerfile",
        nargs="?",
        default="Dockerfile",
        metavar="DOCKERFILE",
        help="the Dockerfile, a directory holding one, or - for stdin (default: ./Dockerfile)",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="ID",
        help="skip a rule (repeat, or comma-separate: --ignore DUI010,DUI014)",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default="warning",
        help="exit 1 when a finding is at least this severe (default: warning; none: never)",
    )
    parser.add_argument("--rules", action="store_true", help="list the rules and exit")
    return parser


def build_parser() -> argparse.ArgumentParser:
    return configure(
        argparse.ArgumentParser(
            prog="dockui lint",
            description="Check a Dockerfile against the practices that make images small, "
            "fast to rebuild and safe. Each finding has a rule id, the line, and a fix.",
            epilog="Exit codes: 0 clean, 1 findings at or above --fail-on, 2 error. "
            "Silence one instruction with a `# dockui ignore=DUI003` comment above it.",
        )
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `lint` on `dockui`'s subcommands; the handler is `args.func(args)`."""
    parser = subparsers.add_parser(
        "lint",
        help="check a Dockerfile for best practices; --json, exit code for CI",
        description=build_parser().description,
        epilog=build_parser().epilog,
    )
    configure(parser)
    parser.set_defaults(func=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """`dockui lint ...` with `argv` the arguments after `lint`."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse printed it
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    return run(args)


def run(args: argparse.Namespace, stdout: IO[str] | None = None) -> int:
    out = stdout if stdout is not None else sys.stdout
    try:
        if getattr(args, "rules", False):
            _print_rules(out, as_json=args.json)
            return EXIT_OK
        ignore = _rule_ids(args.ignore)
        label, text = _read(args.dockerfile)
        findings = lint(parse(text), ignore=ignore)
    except LintError as exc:
        print(f"dockui lint: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    if args.json:
        payload = [{"file": label, **finding.to_dict()} for finding in findings]
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        _print_human(out, label, findings)
    if args.fail_on == "none":
        return EXIT_OK
    threshold = SEVERITY_RANK[args.fail_on]
    failing = any(SEVERITY_RANK[finding.severity] >= threshold for finding in findings)
    return EXIT_FINDINGS if failing else EXIT_OK


def _rule_ids(values: list[str]) -> tuple[str, ...]:
    ids: list[str] = []
    for value in values:
        for part in value.replace(" ", ",").split(","):
            if not part:
                continue
            rule = part.strip().upper()
            if rule not in RULES:
                known = ", ".join(RULES)
                raise LintError(f"unknown rule id {part!r} for --ignore (known: {known})")
            ids.append(rule)
    return tuple(ids)


def _read(name: str) -> tuple[str, str]:
    """(label for output, text) of the Dockerfile the user named."""
    if name == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        return "-", text
    path = Path(name)
    if path.is_dir():
        path = path / "Dockerfile"
    shown = _shown(name, path)
    if not path.exists():
        if name == "Dockerfile" and Path("Containerfile").is_file():
            path, shown = Path("Containerfile"), "Containerfile"
        else:
            raise LintError(f"no Dockerfile at {shown}")
    if path.is_dir():
        raise LintError(f"{shown} is a directory, not a Dockerfile")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise LintError(f"cannot read {shown}: permission denied") from None
    except OSError as exc:
        raise LintError(f"cannot read {shown}: {exc.strerror or exc}") from None
    return shown, data.decode("utf-8", errors="replace")


def _shown(name: str, path: Path) -> str:
    if name == "Dockerfile" and not os.path.isabs(name):
        return "./Dockerfile"
    return str(path)


def _use_colour(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _print_human(out: IO[str], label: str, findings: list[Finding]) -> None:
    colour = _use_colour(out)
    label = clean_line(label)
    for finding in findings:
        severity = finding.severity
        # pad to the longest severity so messages line up
        padded = severity.ljust(max(len(s) for s in SEVERITIES))
        rule = finding.rule
        if colour:
            padded = f"{_COLOURS[severity]}{padded}{_RESET}"
            rule = f"{_BOLD}{rule}{_RESET}"
        out.write(f"{label}:{finding.line} {rule} {padded} {clean_line(finding.message)}\n")
        fix = f"    fix: {clean_line(finding.fix)}"
        out.write(f"{_DIM}{fix}{_RESET}\n" if colour else f"{fix}\n")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    if findings:
        parts = [f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items() if n]
        out.write(
            f"{label}: {len(findings)} finding{'s' if len(findings) != 1 else ''} "
            f"({', '.join(parts)})\n"
        )
    else:
        out.write(f"{label}: no findings\n")


def _print_rules(out: IO[str], as_json: bool) -> None:
    if as_json:
        rows = [
            {
                "id": rule.id,
                "severity": rule.severity,
                "title": rule.title,
                "rationale": rule.rationale,
                "hadolint": list(rule.hadolint),
            }
            for rule in RULES.values()
        ]
        out.write(json.dumps(rows, indent=2) + "\n")
        return
    for rule in RULES.values():
        same = f"  (hadolint {', '.join(rule.hadolint)})" if rule.hadolint else ""
        out.write(f"{rule.id} {rule.severity:<7} {rule.title}{same}\n")


if __name__ == "__main__":
    raise SystemExit(main())
