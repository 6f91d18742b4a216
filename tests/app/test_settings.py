"""Keys can be remapped in the settings file; a bad file is refused with its line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockui.app import DockuiApp
from tests.app.test_app import until

pytestmark = pytest.mark.engine


async def test_keymap_override_works():
    app = DockuiApp(keymap={"logs.search": "ctrl+f", "list.sort": "ctrl+o"})
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        app.logs_pane.focus()
        await pilot.press("ctrl+f")
        assert app.logs_pane.search_input.display
        await pilot.press("escape")
        app.containers_pane.focus()
        await pilot.press("ctrl+o")
        assert "by name" in str(app.containers_pane.border_subtitle)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[keys]\n"logs.search" = "ctrl+f"\n"containers.stop" = 5\n', "line 3"),
        ('[keys]\n"no.such.binding" = "x"\n', "line 2"),
        ("[logs\ntail = 3\n", "line 1"),
        ("[logs]\ntail = -4\n", "line 2"),
    ],
)
def test_bad_settings_file_names_the_line(tmp_path, text, words):
    path = tmp_path / "config.toml"
    path.write_text(text)
    out = subprocess.run(
        [sys.executable, "-m", "dockui", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert str(path) in out.stderr and words in out.stderr
    assert "Traceback" not in out.stderr
