"""Settings file: defaults, validation with messages naming the file and line, keymap."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from dockui import config
from dockui.config import (
    ContextSettings,
    Settings,
    SettingsError,
    check_key,
    find_line,
    keymap,
    load,
    loads,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error(tmp_path: Path, text: str, **kwargs) -> SettingsError:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load(path, **kwargs)
    assert str(info.value).startswith(f"{path}, line ") or info.value.line is None
    return info.value


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    s = load(tmp_path / "nope.toml")
    assert s == Settings()
    assert (s.logs.tail, s.logs.max_lines, s.ui.theme, s.stats.interval) == (
        1000,
        10_000,
        None,
        2.0,
    )
    assert keymap(s) == {}
    assert s.context("prod") == ContextSettings()


def test_the_default_path_is_in_the_xdg_config_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DOCKUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config.default_path() == tmp_path / "xdg" / "dockui" / "config.toml"
    monkeypatch.setenv("DOCKUI_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert config.default_path() == tmp_path / "elsewhere.toml"


def test_load_reads_the_default_path(monkeypatch, tmp_path: Path) -> None:
    path = write(tmp_path, "[logs]\ntail = 5\n")
    monkeypatch.setenv("DOCKUI_CONFIG", str(path))
    assert load().logs.tail == 5
    assert load().path == path


def test_a_full_valid_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # my settings
        [keys]
        "logs.search" = "ctrl+f"
        quit = ["q", "ctrl+q"]
        help = "question_mark,f1"
        "layers.filter" = "?"

        [logs]
        tail = 200
        max_lines = 50000

        [ui]
        theme = "nord"

        [stats]
        interval = 5

        [contexts.production]
        read_only = true
        colour = "red"
        label = "PROD"

        [contexts."staging-eu"]
        color = "#ffaa00"
        """,
    )
    s = load(path)
    assert keymap(s) == {
        "logs.search": "ctrl+f",
        "quit": "q,ctrl+q",
        "help": "question_mark,f1",
        "layers.filter": "?",
    }
    assert (s.logs.tail, s.logs.max_lines, s.ui.theme) == (200, 50000, "nord")
    assert s.stats.interval == 5.0 and isinstance(s.stats.interval, float)
    assert s.contexts["production"] == ContextSettings(read_only=True, colour="red", label="PROD")
    assert s.context("staging-eu").colour == "#ffaa00"
    assert s.path == path


def test_toml_syntax_errors_name_the_line_and_column(tmp_path: Path) -> None:
    e = error(tmp_path, "[logs]\ntail = 10\nmax_lines 300\n")
    assert (e.line, e.column) == (3, 11)
    assert "not valid TOML" in e.problem
    assert str(e) == f"{e.path}, line 3, column 11: {e.problem}"


def test_an_unterminated_string_at_the_end(tmp_path: Path) -> None:
    e = error(tmp_path, '[ui]\ntheme = "nord\n')
    assert e.line == 2


def test_an_unknown_section_names_its_line(tmp_path: Path) -> None:
    e = error(tmp_path, "[logs]\ntail = 1\n\n[colours]\nx = 1\n")
    assert e.line == 4
    assert "unknown section 'colours'" in e.problem


def test_an_unknown_setting_names_its_line_and_suggests(tmp_path: Path) -> None:
    e = error(tmp_path, "[ui]\ntheme = 'nord'\n\n[logs]\ntail = 10\nmax_line = 500\n")
    assert e.line == 6
    assert "unknown setting in [logs] 'max_line' (did you mean 'max_lines'?)" in e.problem


def test_a_wrong_type_names_its_line(tmp_path: Path) -> None:
    e = error(tmp_path, '[logs]\n# how many\ntail = "lots"\n')
    assert e.line == 3
    assert e.problem == 'logs.tail must be a whole number, not the string "lots"'


def test_booleans_are_not_numbers_and_numbers_not_booleans(tmp_path: Path) -> None:
    assert error(tmp_path, "[logs]\ntail = true\n").problem == (
        "logs.tail must be a whole number, not the boolean true"
    )
    e = error(tmp_path, "[contexts.prod]\nlabel = 'P'\nread_only = 1\n")
    assert e.line == 3 and "must be true or false" in e.problem


def test_values_out_of_range(tmp_path: Path) -> None:
    e = error(tmp_path, "[logs]\nmax_lines = 10\n")
    assert e.line == 2 and e.problem == "logs.max_lines must be at least 100, not 10"
    assert "at least 0.5" in error(tmp_path, "[stats]\ninterval = 0.1\n").problem
    assert "must not be empty" in error(tmp_path, "[ui]\ntheme = ''\n").problem


def test_dotted_and_inline_keys_are_found(tmp_path: Path) -> None:
    e = error(tmp_path, "ui.theme = 'x'\nlogs.tail = -1\n")
    assert e.line == 2 and "at least 0" in e.problem
    e = error(tmp_path, "[ui]\ntheme = 'x'\n[contexts]\nprod = { read_only = 'yes' }\n")
    assert e.line == 4 and e.problem.startswith("contexts.prod.read_only must be true or false")


def test_a_section_that_is_not_a_table(tmp_path: Path) -> None:
    e = error(tmp_path, "ui = 'dark'\n")
    assert e.line == 1 and e.problem == '[ui] must be a table, not the string "dark"'


def test_bad_keys_name_the_binding_and_line(tmp_path: Path) -> None:
    e = error(tmp_path, '[keys]\nquit = "q"\n"logs.search" = "ctl+f"\n')
    assert e.line == 3
    assert e.problem.startswith("keys.\"logs.search\": unknown modifier 'ctl'")
    e = error(tmp_path, '[keys]\nquit = "ctrl+nothing"\n')
    assert "not a key Textual knows" in e.problem
    e = error(tmp_path, '[keys]\nquit = "q,"\n')
    assert "for the ',' key write comma" in e.problem
    e = error(tmp_path, "[keys]\nquit = 5\n")
    assert e.line == 2 and "must be a key string" in e.problem


def test_unknown_binding_ids_when_the_app_says_which_exist(tmp_path: Path) -> None:
    known = {"quit", "help", "logs.search"}
    e = error(tmp_path, '[keys]\nquit = "q"\n"logs.serch" = "f"\n', known_bindings=known)
    assert e.line == 3
    assert "unknown binding id 'logs.serch' (did you mean 'logs.search'?)" in e.problem
    assert load(write(tmp_path, '[keys]\nquit = "x"\n'), known_bindings=known).keys == {"quit": "x"}


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="is a directory"):
        load(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"[ui]\ntheme = 'caf\xe9'\n")
    with pytest.raises(SettingsError) as info:
        load(bad)
    assert info.value.line == 2 and "not UTF-8" in str(info.value)


@pytest.mark.parametrize(
    "key",
    ["f", "F", "ctrl+f", "ctrl+shift+a", "alt+enter", "f5", "question_mark", "?", "space",
     "escape", "pageup", "ctrl+left", "plus_sign", "ctrl+plus_sign", "full_stop", "comma", "+"],
)  # fmt: skip
def test_keys_textual_understands(key: str) -> None:
    assert check_key(key) is None


@pytest.mark.parametrize(
    "key", ["", "ctl+f", "ctrl+", "ctrl++", "ctrl+Foo", "frobnicate", "ctrl f"]
)
def test_keys_it_does_not(key: str) -> None:
    assert check_key(key)


def test_find_line_prefers_the_setting_line() -> None:
    text = '[logs]\ntail = 1\n[contexts.prod]\nlabel = "x"\n[contexts."a.b"]\ncolour = "red"\n'
    assert find_line(text, ("logs", "tail")) == 2
    assert find_line(text, ("contexts", "prod", "label")) == 4
    assert find_line(text, ("contexts", "a.b", "colour")) == 6
    assert find_line(text, ("contexts", "prod", "colour")) == 3  # absent: its table
    assert find_line(text, ("nothing",)) is None


def test_write_default_is_valid_and_never_overwrites(tmp_path: Path) -> None:
    path = config.write_default(tmp_path / "d" / "config.toml")
    assert load(path) == Settings(path=path)
    path.write_text("[logs]\ntail = 3\n")
    config.write_default(path)
    assert load(path).logs.tail == 3


def test_loads_without_a_file() -> None:
    with pytest.raises(SettingsError) as info:
        loads("[logs]\ntail = 'x'\n")
    assert str(info.value).startswith("<settings>, line 2:")


# -- the keymap reaches Textual ----------------------------------------------------------------
class KeysApp(App[None]):
    BINDINGS = [
        Binding("s", "mark('search')", "Search", id="logs.search"),
        Binding("q", "mark('quit')", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("keys")

    def action_mark(self, what: str) -> None:
        self.marks.append(what)


async def test_keymap_overrides_textual_bindings(tmp_path: Path) -> None:
    settings = load(write(tmp_path, '[keys]\n"logs.search" = "ctrl+f,f3"\n'))
    app = KeysApp()
    async with app.run_test() as pilot:
        app.set_keymap(keymap(settings))
        await pilot.press("s")  # the old key no longer searches
        await pilot.press("ctrl+f", "f3", "q")
        await pilot.pause()
    assert app.marks == ["search", "search", "quit"]
