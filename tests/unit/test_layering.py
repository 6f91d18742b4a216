"""The architecture rules: the engine layer never imports Textual, widgets and screens
never import docker. Checked twice: statically (every import statement) and at run time
(what importing the modules actually pulls in)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "dockui"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: str, forbidden: str) -> list[str]:
    bad = []
    for path in sorted((PKG / folder).rglob("*.py")):
        for name in imported_modules(path):
            if name == forbidden or name.startswith(forbidden + "."):
                bad.append(f"{path.relative_to(PKG.parent)} imports {name}")
    return bad


def test_engine_never_imports_textual() -> None:
    assert offenders("engine", "textual") == []
    assert offenders("engine", "rich") == []


def test_widgets_and_screens_never_import_docker() -> None:
    assert offenders("widgets", "docker") == []
    assert offenders("screens", "docker") == []


def _loaded_after(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def _package_modules(folder: str) -> list[str]:
    return [
        "dockui." + ".".join(p.relative_to(PKG).with_suffix("").parts)
        for p in sorted((PKG / folder).rglob("*.py"))
    ]


def test_engine_layer_loads_without_textual() -> None:
    loaded = _loaded_after(_package_modules("engine"))
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_widgets_and_screens_load_without_docker() -> None:
    loaded = _loaded_after(_package_modules("widgets") + _package_modules("screens"))
    assert not {m for m in loaded if m == "docker" or m.startswith("docker.")}
