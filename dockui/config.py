"""User settings: a TOML file in the XDG config dir, validated with messages that name the line.

    # ~/.config/dockui/config.toml
    [keys]                       # binding id = key(s), comma-separated or a list
    "logs.search" = "ctrl+f"
    quit = ["q", "ctrl+q"]

    [logs]
    tail = 1000                  # lines loaded first when following a container
    max_lines = 10000            # lines kept per log view

    [ui]
    theme = "textual-dark"

    [stats]
    interval = 2.0               # seconds between stats samples

    [audit]                      # dockui audit / the `a` key on an image
    fail_on = "high"             # --ci fails on secrets and on findings at or above this
    ignore = ["posture.no-healthcheck"]   # rule ids left out of the report
    scanner = "auto"             # auto (trivy, else grype), trivy, grype or none
    scanner_timeout = 300.0      # seconds before the scanner is stopped

    [contexts.production]        # per docker context / host (for the hosts feature)
    read_only = true
    colour = "red"
    label = "PROD"

`load()` returns defaults when the file does not exist and raises `SettingsError` (with the
file, the line and the problem) for a file that is not valid TOML or has unknown keys or
wrong types. `keymap(settings)` is what `App.set_keymap()` takes.

No Textual import here at module level: the CLI and tests read settings without it.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

APP_NAME = "dockui"
CONFIG_ENV = "DOCKUI_CONFIG"  # an explicit settings file (tests, several setups)


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME))


def default_path() -> Path:
    """$DOCKUI_CONFIG, else `config.toml` in the XDG config dir (~/.config/dockui)."""
    explicit = os.environ.get(CONFIG_ENV)
    return Path(explicit).expanduser() if explicit else config_dir() / "config.toml"


# -- the model -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogSettings:
    tail: int = 1000
    max_lines: int = 10_000


@dataclass(frozen=True)
class UISettings:
    theme: str | None = None


@dataclass(frozen=True)
class StatsSettings:
    interval: float = 2.0


@dataclass(frozen=True)
class AuditSettings:
    fail_on: str = "high"
    ignore: tuple[str, ...] = ()
    scanner: str = "auto"
    scanner_timeout: float = 300.0


@dataclass(frozen=True)
class ContextSettings:
    read_only: bool = False
    colour: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class Settings:
    keys: Mapping[str, str] = field(default_factory=dict)  # binding id -> "k1,k2"
    logs: LogSettings = field(default_factory=LogSettings)
    ui: UISettings = field(default_factory=UISettings)
    stats: StatsSettings = field(default_factory=StatsSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    contexts: Mapping[str, ContextSettings] = field(default_factory=dict)
    path: Path | None = None  # the file these came from (None: defaults only)

    def context(self, name: str) -> ContextSettings:
        return self.contexts.get(name, ContextSettings())


class SettingsError(Exception):
    """A settings file dockui cannot use. `str()` is `FILE, line N: problem`."""

    def __init__(
        self, path: Path | str, problem: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f", line {self.line}"
            if self.column is not None:
                where += f", column {self.column}"
        return f"{where}: {self.problem}"


# -- validation rules ------------------------------------------------------------------------------
_SECTIONS = {"keys", "logs", "ui", "stats", "audit", "contexts"}
_MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
_KEY_NAME = re.compile(r"[a-z][a-z0-9_]*")
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})|[a-z][a-z0-9_ -]*")


def _known_key_names() -> set[str] | None:
    try:
        from textual.keys import Keys
    except Exception:  # pragma: no cover - Textual is a dependency
        return None
    return {k.value for k in Keys}


def check_key(key: str) -> str | None:
    """None if `key` is one key Textual understands ("ctrl+f", "question_mark", "?", "f5"),
    else why not."""
    if not key:
        return "an empty key (for the ',' key write comma)"
    if key.strip() != key or " " in key:
        return f"{key!r} contains a space"
    *mods, name = key.split("+") if len(key) > 1 else [key]
    if not name:
        return f"{key!r} ends with '+' but names no key (for the '+' key write plus_sign)"
    for mod in mods:
        if mod not in _MODIFIERS:
            return f"unknown modifier {mod!r} in {key!r} (use ctrl, shift, alt, meta, super)"
    if len(name) == 1:
        return None
    if not _KEY_NAME.fullmatch(name):
        return f"{name!r} is not a key name (use e.g. f, ctrl+f, f5, enter, question_mark)"
    known = _known_key_names()
    if known is not None and name not in known and not _is_character_name(name):
        return f"{name!r} is not a key Textual knows (e.g. enter, escape, f5, pageup, space)"
    return None


def _is_character_name(name: str) -> bool:
    """Textual names printable keys after their Unicode name: question_mark, full_stop."""
    import unicodedata

    try:
        unicodedata.lookup(name.replace("_", " "))
    except KeyError:
        return False
    return True


KnownBindings = Collection[str] | Callable[[], Collection[str]] | None


# -- loading ---------------------------------------------------------------------------------
def load(path: Path | str | None = None, *, known_bindings: KnownBindings = None) -> Settings:
    """Read and validate the settings file (default: `default_path()`). A missing file gives
    the defaults. `known_bindings` (the app's binding ids), when given, makes an unknown id
    in `[keys]` an error instead of a silently ignored line."""
    file = Path(path).expanduser() if path is not None else default_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except IsADirectoryError:
        raise SettingsError(file, "is a directory, not a settings file") from None
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise SettingsError(file, "is not UTF-8 text", line) from None
    except OSError as exc:
        raise SettingsError(file, f"cannot be read: {exc.strerror or exc}") from None
    return loads(text, file, known_bindings=known_bindings)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def loads(
    text: str, path: Path | str = "<settings>", *, known_bindings: KnownBindings = None
) -> Settings:
    """Validate settings from TOML text; `path` is only used in error messages."""
    file = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = column = None
        match = _TOML_POSITION.search(message)
        if match:
            line, column = int(match.group(1)), int(match.group(2))
            message = message[: match.start()]
        elif _TOML_END.search(message):
            line = text.count("\n") + (0 if text.endswith("\n") else 1)
            message = _TOML_END.sub("", message) + " (at the end of the file)"
        raise SettingsError(file, f"not valid TOML: {message}", line, column) from None
    return _Validator(text, file, known_bindings).settings(data)


class _Validator:
    def __init__(self, text: str, path: Path, known_bindings: KnownBindings) -> None:
        self.text = text
        self.path = path
        # A callable is asked only when the file remaps keys: knowing every binding id
        # imports every screen, which a plain start should not pay for (~0.1 s).
        self._known = known_bindings
        self._known_set: set[str] | None = None

    @property
    def known_bindings(self) -> set[str] | None:
        if self._known is None:
            return None
        if self._known_set is None:
            known = self._known() if callable(self._known) else self._known
            self._known_set = set(known)
        return self._known_set

    def fail(self, where: tuple[str, ...], problem: str) -> SettingsError:
        return SettingsError(self.path, problem, find_line(self.text, where))

    def unknown(self, where: tuple[str, ...], choices: Collection[str], what: str) -> SettingsError:
        name = where[-1]
        close = difflib.get_close_matches(name, list(choices), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listing = ", ".join(sorted(choices))
        return self.fail(where, f"unknown {what} {name!r}{hint}; known: {listing}")

    def settings(self, data: dict[str, Any]) -> Settings:
        for name in data:
            if name not in _SECTIONS:
                raise self.unknown((name,), _SECTIONS, "section")
        for name in _SECTIONS:
            if name in data and not isinstance(data[name], dict):
                raise self.fail((name,), f"[{name}] must be a table, not {_type(data[name])}")
        return Settings(
            keys=self.keys(data.get("keys", {})),
            logs=self.section(("logs",), data.get("logs", {}), LogSettings),
            ui=self.section(("ui",), data.get("ui", {}), UISettings),
            stats=self.section(("stats",), data.get("stats", {}), StatsSettings),
            audit=self.section(("audit",), data.get("audit", {}), AuditSettings),
            contexts=self.contexts(data.get("contexts", {})),
            path=self.path,
        )

    def keys(self, table: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for binding, value in table.items():
            where = ("keys", binding)
            if self.known_bindings is not None and binding not in self.known_bindings:
                raise self.unknown(where, self.known_bindings, "binding id")
            if isinstance(value, str):
                keys = [k.strip() for k in value.split(",")]
            elif isinstance(value, list) and all(isinstance(k, str) for k in value):
                keys = [k.strip() for k in value]
            else:
                raise self.fail(
                    where,
                    f'keys.{_quote(binding)} must be a key string like "ctrl+f" or a list '
                    f"of them, not {_type(value)}",
                )
            if not keys:
                raise self.fail(where, f"keys.{_quote(binding)} names no key")
            for key in keys:
                problem = check_key(key)
                if problem:
                    raise self.fail(where, f"keys.{_quote(binding)}: {problem}")
            out[binding] = ",".join(keys)
        return out

    def section(
        self,
        where: tuple[str, ...],
        table: dict[str, Any],
        model: type,
        aliases: Mapping[str, str] | None = None,
    ) -> Any:
        names = {f.name: f for f in fields(model)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            here = (*where, key)
            name = (aliases or {}).get(key, key)
            if name not in names:
                raise self.unknown(here, names, f"setting in [{'.'.join(where)}]")
            if name in values:
                raise self.fail(here, f"{key} repeats {name}")
            values[name] = self.value(here, value, model.__name__, name)
        return model(**values)

    def value(self, where: tuple[str, ...], value: Any, model: str, key: str) -> Any:
        dotted = ".".join(_quote(w) for w in where)
        rule = _RULES[(model, key)]
        kind, check = rule
        if kind is bool and not isinstance(value, bool):
            raise self.fail(where, f"{dotted} must be true or false, not {_type(value)}")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(where, f"{dotted} must be a whole number, not {_type(value)}")
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(where, f"{dotted} must be a number, not {_type(value)}")
            value = float(value)
        if kind is str and not isinstance(value, str):
            raise self.fail(where, f"{dotted} must be a string, not {_type(value)}")
        if kind is tuple:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail(where, f"{dotted} must be a list of strings, not {_type(value)}")
            value = tuple(value)
        problem = check(value) if check else None
        if problem:
            raise self.fail(where, f"{dotted} {problem}")
        return value

    def contexts(self, table: dict[str, Any]) -> dict[str, ContextSettings]:
        out = {}
        for name, value in table.items():
            where = ("contexts", name)
            if not isinstance(value, dict):
                raise self.fail(
                    where, f"contexts.{_quote(name)} must be a table, not {_type(value)}"
                )
            out[name] = self.section(where, value, ContextSettings, aliases={"color": "colour"})
        return out


def _at_least(low: float) -> Any:
    return lambda v: None if v >= low else f"must be at least {low:g}, not {v:g}"


def _colour(value: str) -> str | None:
    if _COLOUR.fullmatch(value):
        return None
    return f'must be a colour name or #rrggbb, not "{value}"'


def _one_of(value: str, choices: tuple[str, ...]) -> str | None:
    return None if value in choices else f'must be one of {", ".join(choices)}, not "{value}"'


def _audit_rules(value: tuple[str, ...]) -> str | None:
    from dockui.engine.audit import RULES  # no Textual there

    for rule in value:
        if rule not in RULES:
            close = difflib.get_close_matches(rule, list(RULES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f'names an unknown rule "{rule}"{hint}; known: {", ".join(RULES)}'
    return None


def _not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


_RULES: dict[tuple[str, str], tuple[type, Any]] = {
    ("LogSettings", "tail"): (int, _at_least(0)),
    ("LogSettings", "max_lines"): (int, _at_least(100)),
    ("UISettings", "theme"): (str, _not_empty),
    ("StatsSettings", "interval"): (float, _at_least(0.5)),
    ("AuditSettings", "fail_on"): (str, lambda v: _one_of(v, ("high", "medium", "low"))),
    ("AuditSettings", "ignore"): (tuple, lambda v: _audit_rules(v)),
    ("AuditSettings", "scanner"): (str, lambda v: _one_of(v, ("auto", "trivy", "grype", "none"))),
    ("AuditSettings", "scanner_timeout"): (float, _at_least(1)),
    ("ContextSettings", "read_only"): (bool, None),
    ("ContextSettings", "colour"): (str, _colour),
    ("ContextSettings", "label"): (str, None),
}


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _quote(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


# -- finding a key's line -----------------------------------------------------------------------
_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_PART = re.compile(r"\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[A-Za-z0-9_-]+)\s*")


def _split_key(text: str) -> tuple[list[str], int] | None:
    """The parts of a (dotted, maybe quoted) TOML key at the start of `text`, and where it ends."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(text, pos)
        if not match:
            return None
        token = match.group(1)
        if token[0] in "\"'":
            token = token[1:-1]
            if match.group(1)[0] == '"':
                token = token.encode("utf-8").decode("unicode_escape", errors="ignore")
        parts.append(token)
        pos = match.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return parts, pos


def find_line(text: str, where: tuple[str, ...]) -> int | None:
    """1-based line of the key `where` (a path like ("logs", "tail")) in TOML `text`: the line
    that sets it, else the line that sets a table containing it, else its table header."""
    table: list[str] = []
    exact = prefix = header = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _HEADER.match(line)
        if match and stripped.startswith("["):
            parsed = _split_key(match.group(1))
            table = parsed[0] if parsed else []
            if tuple(table) == where and exact is None:
                exact = number
            elif tuple(table) == where[: len(table)] and header is None and table:
                header = number
            continue
        parsed = _split_key(line)
        if not parsed or not line[parsed[1] :].lstrip().startswith("="):
            continue
        full = (*table, *parsed[0])
        if full == where and exact is None:
            exact = number
        elif full == where[: len(full)] and prefix is None:
            prefix = number
    return exact or prefix or header


def keymap(settings: Settings) -> dict[str, str]:
    """Binding id -> keys, as `App.set_keymap()` takes it."""
    return dict(settings.keys)


def write_default(path: Path | str | None = None) -> Path:
    """Write a commented example settings file (never over an existing one); returns its path."""
    file = Path(path) if path is not None else default_path()
    if file.exists():
        return file
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(EXAMPLE, encoding="utf-8")
    return file


EXAMPLE = """\
# dockui settings. Every setting is optional; delete a line to get the default back.

[keys]
# binding id = key, or several: "ctrl+f,f3" or ["ctrl+f", "f3"]
# "logs.search" = "ctrl+f"

[logs]
# tail = 1000         # lines loaded first when following a container
# max_lines = 10000   # lines kept per log view (oldest dropped first)

[ui]
# theme = "textual-dark"

[stats]
# interval = 2.0      # seconds between stats samples

[audit]
# fail_on = "high"    # `dockui audit --ci` fails on secrets and on findings at/above this
# ignore = ["posture.no-healthcheck"]   # rule ids left out (see `dockui audit --help`)
# scanner = "auto"    # auto (trivy, else grype), trivy, grype or none
# scanner_timeout = 300.0

# [contexts.production]
# read_only = true
# colour = "red"
# label = "PROD"
"""
