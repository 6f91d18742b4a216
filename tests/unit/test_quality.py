"""ruff is part of the test suite: a lint error fails the build."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff_clean(args: list[str]) -> None:
    ruff = shutil.which("ruff")
    assert ruff, "ruff is a test dependency: pip install -e '.[test]'"
    out = subprocess.run([ruff, *args, "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_version_flag() -> None:
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "dockui", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("dockui ")
