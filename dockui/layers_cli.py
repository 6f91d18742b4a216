"""`dockui layers IMAGE`: the layer analysis without the TUI, for terminals and CI pipelines.

- Prints a summary: every layer's size and instruction, the efficiency score, the wasted
  bytes, the share of the user layers that is wasted and the files that waste the most.
- `--json FILE` (or `-`) writes dive's export format (`dive --json`): the same keys, nesting,
  types and order, so a pipeline that parses dive's file can switch. The numbers are
  dockui's (every file a whiteout hides counts as removed); `--dive-compatible` writes the
  numbers dive itself reports instead.
- `--ci` evaluates dive's three rules (lowestEfficiency, highestUserWastedPercent,
  highestWastedBytes) from flags, a `.dive-ci` file or the defaults, prints PASS/FAIL/SKIP
  per rule, and exits 1 when a rule fails. Unlike `dive --ci --json`, both work together.

Exit codes: 0 fine, 1 a CI rule failed, 2 an error (no engine, unknown image, bad rule or
config, unreadable export), 130 interrupted. Errors are one line on stderr, no traceback.

Only the engine layer talks to Docker; this module never imports Textual.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import posixpath
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dockui import format as fmt
from dockui.engine.text import clean_field

EXIT_OK = 0
EXIT_CI_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

DEFAULT_CI_CONFIG = ".dive-ci"
DISABLED = "disabled"
# dive's rules, its default values, and the order dive prints them in (sorted by name).
DEFAULT_RULES: dict[str, str] = {
    "highestUserWastedPercent": "0.1",
    "highestWastedBytes": DISABLED,
    "lowestEfficiency": "0.9",
}
RULE_FLAGS = {
    "lowestEfficiency": "lowest_efficiency",
    "highestUserWastedPercent": "highest_user_wasted_percent",
    "highestWastedBytes": "highest_wasted_bytes",
}


class LayersError(Exception):
    """Something the user must fix; the message is the one line printed."""


# ---------------------------------------------------------------------------------------------
# CI rules


def parse_bytes(text: str) -> int:
    """A size as dive reads `highestWastedBytes` (go-humanize's ParseBytes): `20MB` is
    20,000,000 bytes, `20MiB` 20,971,520, `1.5 GB`, `512k`, `1,000` and a bare number work."""
    raw = str(text).strip()
    match = re.fullmatch(r"([0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)", raw)
    if not match:
        raise ValueError(f"not a size: {raw!r}")
    number = float(match.group(1).replace(",", ""))
    unit = match.group(2).lower()
    si = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
    si["e"] = 10**18
    binary = {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50, "ei": 2**60}
    if unit in si:
        factor = si[unit]
    elif unit.endswith("b") and unit[:-1] in si:
        factor = si[unit[:-1]]
    elif unit in binary:
        factor = binary[unit]
    elif unit.endswith("b") and unit[:-1] in binary:
        factor = binary[unit[:-1]]
    else:
        raise ValueError(f"unknown size unit {match.group(2)!r} in {raw!r}")
    value = number * factor
    if not math.isfinite(value) or value >= 2**64:
        raise ValueError(f"size too large: {raw!r}")
    return int(value)


def _ratio(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LayersError(f"{name} must be a number between 0 and 1, not {text!r}") from None
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise LayersError(f"{name} must be between 0 and 1, not {text!r}")
    return value


def parse_ci_config(text: str, source: str = DEFAULT_CI_CONFIG) -> dict[str, str]:
    """The rules of a `.dive-ci` file: the small YAML subset dive's docs use.

        rules:
          # comment
          lowestEfficiency: 0.95
          highestWastedBytes: 20MB      # a comment after a value
          highestUserWastedPercent: "0.20"

    Also accepted: `rules.lowestEfficiency: 0.95` at the top level, `---`, blank lines.
    Other top-level keys are ignored (dive ignores them too); anything that is not
    `key: value` is an error that names the line.
    """
    rules: dict[str, str] = {}
    section: str | None = None
    section_indent = 0
    for number, line in enumerate(text.splitlines(), 1):
        body = _strip_comment(line).rstrip()
        if not body.strip() or body.strip() in ("---", "..."):
            continue
        indent = len(body) - len(body.lstrip(" \t"))
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+|\"[^\"]*\"|'[^']*')\s*:(?:\s+(.*))?", body)
        if not match:
            raise LayersError(f"{source}:{number}: expected 'key: value', got {line.strip()!r}")
        key = match.group(1).strip("\"'")
        value = _unquote((match.group(2) or "").strip())
        if indent == 0:
            section = key if not value else None
            section_indent = 0
            if key.startswith("rules.") and value:
                rules[key.removeprefix("rules.")] = value
            continue
        if section is None:
            continue
        if section_indent == 0:
            section_indent = indent
        if section == "rules" and indent == section_indent and value:
            rules[key] = value
    unknown = sorted(set(rules) - set(DEFAULT_RULES))
    if unknown:
        raise LayersError(
            f"{source}: unknown rule {unknown[0]!r} (known: {', '.join(sorted(DEFAULT_RULES))})"
        )
    return rules


def _strip_comment(line: str) -> str:
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


@dataclass(frozen=True)
class Rule:
    """A configured CI rule: its dive name, the value as given, and where it came from."""

    name: str
    value: str  # as written ("0.9", "20MB", "disabled")
    origin: str  # "default", "flag" or the config file's path

    @property
    def enabled(self) -> bool:
        return self.value.strip().lower() != DISABLED

    def threshold(self) -> float | int:
        """The parsed value; LayersError names the rule and its origin when it is invalid."""
        where = "" if self.origin in ("default", "flag") else f" (in {self.origin})"
        if self.name == "highestWastedBytes":
            try:
                return parse_bytes(self.value)
            except ValueError as exc:
                raise LayersError(f"highestWastedBytes{where}: {exc}") from None
        return _ratio(self.value, f"{self.name}{where}")


@dataclass(frozen=True)
class RuleResult:
    name: str
    status: str  # PASS, FAIL or SKIP
    message: str = ""


def resolve_rules(
    flags: dict[str, str | None], config_path: str | None, *, cwd: Path | None = None
) -> tuple[list[Rule], str | None]:
    """The rules to apply: a flag beats the config file, which beats dive's defaults.

    `config_path` None means `.dive-ci` in `cwd` if it exists. Returns the rules (validated)
    and the config file actually read, if any.
    """
    path: Path | None
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise LayersError(f"CI config {config_path} not found")
    else:
        path = (cwd or Path.cwd()) / DEFAULT_CI_CONFIG
        if not path.is_file():
            path = None
    from_file: dict[str, str] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LayersError(f"cannot read CI config {path}: {exc}") from None
        from_file = parse_ci_config(text, str(path))
    rules = []
    for name, default in DEFAULT_RULES.items():
        flag = flags.get(name)
        if flag is not None:
            rule = Rule(name, flag, "flag")
        elif name in from_file:
            rule = Rule(name, from_file[name], str(path))
        else:
            rule = Rule(name, default, "default")
        if rule.enabled:
            rule.threshold()  # validate now, before the image is read
        rules.append(rule)
    return rules, (str(path) if path is not None else None)


def evaluate_rules(rules: list[Rule], numbers: Any) -> list[RuleResult]:
    """dive's comparisons: efficiency below the lowest allowed fails; wasted bytes or the
    user-wasted fraction strictly above the highest allowed fails."""
    results = []
    for rule in rules:
        if not rule.enabled:
            results.append(RuleResult(rule.name, "SKIP", "rule disabled"))
            continue
        limit = rule.threshold()
        if rule.name == "lowestEfficiency" and limit > numbers.score:
            message = (
                f"image efficiency is too low (efficiency={numbers.score} < threshold={limit})"
            )
        elif rule.name == "highestWastedBytes" and numbers.wasted_bytes > limit:
            message = (
                f"too many bytes wasted (wasted-bytes={numbers.wasted_bytes} > threshold={limit})"
            )
        elif rule.name == "highestUserWastedPercent" and numbers.user_wasted_percent > limit:
            message = (
                "too many bytes wasted, relative to the user bytes added "
                f"(%-user-wasted-bytes={numbers.user_wasted_percent} > threshold={limit})"
            )
        else:
            results.append(RuleResult(rule.name, "PASS"))
            continue
        results.append(RuleResult(rule.name, "FAIL", message))
    return results


# ---------------------------------------------------------------------------------------------
# dive's JSON export

# Go's os.FileMode bits, as dive writes `fileMode` (tar header → FileInfo().Mode()).
_GO_MODE_DIR = 1 << 31
_GO_MODE_SYMLINK = 1 << 27
_GO_MODE_DEVICE = 1 << 26
_GO_MODE_NAMED_PIPE = 1 << 25
_GO_MODE_SOCKET = 1 << 24
_GO_MODE_SETUID = 1 << 23
_GO_MODE_SETGID = 1 << 22
_GO_MODE_CHAR_DEVICE = 1 << 21
_GO_MODE_STICKY = 1 << 20
_S_IFMT = 0o170000


def _type_flag(entry: Any) -> int:
    """The tar typeflag byte dive reports (Go's reader turns '\\0' into '0' or '5')."""
    from dockui.engine import layers as L

    kind = entry.kind
    if kind == L.DIR:
        return ord("5")
    if kind == L.SYMLINK:
        return ord("2")
    if kind == L.HARDLINK:
        return ord("1")
    if kind == L.OTHER:  # the header's mode carries the type bits on Docker's exports
        return {0o020000: ord("3"), 0o060000: ord("4"), 0o010000: ord("6")}.get(
            entry.mode & _S_IFMT, ord("3")
        )
    return ord("0")  # regular files and whiteouts (Docker writes `.wh.*` as empty files)


def _go_file_mode(entry: Any, type_flag: int) -> int:
    """archive/tar's headerFileInfo.Mode(): permission bits, setuid/setgid/sticky, and the
    type from the mode's S_IFMT bits and from the typeflag."""
    raw = entry.mode
    mode = raw & 0o777
    if raw & 0o4000:
        mode |= _GO_MODE_SETUID
    if raw & 0o2000:
        mode |= _GO_MODE_SETGID
    if raw & 0o1000:
        mode |= _GO_MODE_STICKY
    mode |= {
        0o040000: _GO_MODE_DIR,
        0o010000: _GO_MODE_NAMED_PIPE,
        0o120000: _GO_MODE_SYMLINK,
        0o060000: _GO_MODE_DEVICE,
        0o020000: _GO_MODE_DEVICE | _GO_MODE_CHAR_DEVICE,
        0o140000: _GO_MODE_SOCKET,
    }.get(raw & ~0o7777, 0)
    mode |= {
        ord("2"): _GO_MODE_SYMLINK,
        ord("3"): _GO_MODE_DEVICE | _GO_MODE_CHAR_DEVICE,
        ord("4"): _GO_MODE_DEVICE,
        ord("5"): _GO_MODE_DIR,
        ord("6"): _GO_MODE_NAMED_PIPE,
    }.get(type_flag, 0)
    return mode


def _tar_name(entry: Any) -> str | None:
    """The path as it was in the layer tar, cleaned like Go's path.Clean (no leading slash);
    None for an opaque marker, which dive never puts in its tree."""
    from dockui.engine import layers as L

    if entry.kind == L.OPAQUE:
        return None
    path = entry.path
    if entry.kind == L.WHITEOUT:
        parent, base = posixpath.split(path)
        path = posixpath.join(parent, L.WHITEOUT_PREFIX + base)
    return path.lstrip("/")


def _file_info(entry: Any, name: str) -> dict[str, Any]:
    from dockui.engine import layers as L

    flag = _type_flag(entry)
    link = entry.link
    if entry.kind == L.HARDLINK:
        link = link.lstrip("/")  # the engine keeps it absolute; tars write it relative
    mode = _go_file_mode(entry, flag)
    return {
        "path": name,
        "typeFlag": flag,
        "linkName": link,
        "size": entry.size,
        "fileMode": mode,
        "uid": entry.uid,
        "gid": entry.gid,
        "isDir": bool(mode & _GO_MODE_DIR),
    }


_IMPLIED = {
    "path": "",
    "typeFlag": 0,
    "linkName": "",
    "size": 0,
    "fileMode": 0,
    "uid": 0,
    "gid": 0,
    "isDir": False,
}


def _layer_tree(entries: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """A layer's own tree as dive builds it (AddPath for every tar entry): tar names
    without a leading slash → entry, or None for a parent the tar never listed; plus the
    children of each path ("" is the root). Whiteouts keep their `.wh.` names; an opaque
    marker is not a node, but the directories above it are."""
    nodes: dict[str, Any] = {}
    children: dict[str, set[str]] = {"": set()}

    def ensure(path: str) -> None:
        while path and path not in nodes:
            nodes[path] = None
            parent = posixpath.dirname(path)
            children.setdefault(parent, set()).add(path)
            path = parent

    for entry in entries:
        name = _tar_name(entry)
        if name is None:  # `.wh..wh..opq`: dive creates its parents, then skips it
            ensure(entry.path.lstrip("/"))
            continue
        ensure(posixpath.dirname(name))
        if name not in nodes:
            children.setdefault(posixpath.dirname(name), set()).add(name)
        nodes[name] = entry
    return nodes, children


def _walk_tree(
    nodes: dict[str, Any], children: dict[str, set[str]]
) -> Iterator[tuple[str, Any, bool]]:
    """dive's VisitDepthChildFirst: children before their parent, names in byte order.
    Yields (tar name, entry or None, is it a leaf)."""

    def key(path: str) -> bytes:
        return posixpath.basename(path).encode("utf-8", "surrogateescape")

    def walk(path: str) -> Iterator[tuple[str, Any, bool]]:
        below = children.get(path)
        if below:
            for child in sorted(below, key=key):
                yield from walk(child)
        if path:
            yield path, nodes[path], not below

    yield from walk("")


def dive_file_list(entries: tuple[Any, ...]) -> Iterator[dict[str, Any]]:
    """A layer's `fileList` as dive writes it: the layer's own tree (its tar entries plus
    the parents they imply, which carry an empty FileInfo), visited children first, names
    in byte order. Whiteouts appear under their `.wh.` names; opaque markers do not."""
    for name, entry, _leaf in _walk_tree(*_layer_tree(entries)):
        yield dict(_IMPLIED) if entry is None else _file_info(entry, name)


def _dive_leaf_path(name: str) -> str:
    """dive's FileNode.Path() of a leaf: absolute, the leaf's `.wh.` prefix dropped."""
    from dockui.engine.layers import WHITEOUT_PREFIX

    parent, base = posixpath.split(name)
    return "/" + posixpath.join(parent, base.removeprefix(WHITEOUT_PREFIX))


class _DiveTouches:
    """The order in which dive finds its inefficient paths: a path joins the list the
    moment a second layer touches it (layers in order, each layer's leaves in tree order,
    as dive's Efficiency() visits them)."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.counts: dict[str, int] = {}
        self.discovered: dict[str, int] = {}

    def touch(self, name: str) -> None:
        path = _dive_leaf_path(name)
        count = self.counts.get(path, 0) + 1
        self.counts[path] = count
        if count == 2 and path in self.wanted:
            self.discovered[path] = len(self.discovered)

    def order(self, files: tuple[Any, ...]) -> list[Any]:
        """`files` as dive lists them in `fileReference`: in discovery order, sorted with
        Go's unstable sort.Sort by cumulative size, reversed. Paths dive never sees twice
        (files hidden by a directory or opaque whiteout: dockui's numbers only) follow the
        ones it does, by the layer that hid them, then by path, before the sort."""
        found = self.discovered
        known = sorted((f for f in files if f.path in found), key=lambda f: found[f.path])
        extra = sorted(
            (f for f in files if f.path not in found),
            key=lambda f: (f.layers[1] if len(f.layers) > 1 else f.layers[0], f.path),
        )
        ordered = known + extra
        go_sort(ordered, lambda a, b: a.size < b.size)
        ordered.reverse()
        return ordered


def ordered_wasted_files(analysis: Any, files: tuple[Any, ...]) -> list[Any]:
    """`files` (an Efficiency's) in the order dive writes them in `fileReference`."""
    touches = _DiveTouches({f.path for f in files})
    for layer in analysis.layers:
        for name, _entry, leaf in _walk_tree(*_layer_tree(layer.entries)):
            if leaf:
                touches.touch(name)
    return touches.order(files)


# ---------------------------------------------------------------------------------------------
# Go's sort.Sort, for the order of equal elements


_M64 = (1 << 64) - 1


def go_sort(data: list[Any], less: Any) -> None:
    """Go's sort.Sort (pattern-defeating quicksort, Go 1.19 and later; dive 0.13.1 is
    built with Go 1.24), ported statement by statement so that elements comparing equal
    end up exactly where Go leaves them. Sorts `data` in place, ascending by `less`."""
    _GoSorter(data, less).sort()


class _GoSorter:
    def __init__(self, data: list[Any], less: Any) -> None:
        self.data = data
        self.lt = less

    def less(self, i: int, j: int) -> bool:
        return bool(self.lt(self.data[i], self.data[j]))

    def swap(self, i: int, j: int) -> None:
        data = self.data
        data[i], data[j] = data[j], data[i]

    def sort(self) -> None:
        n = len(self.data)
        if n > 1:
            self.pdqsort(0, n, n.bit_length())

    def insertion_sort(self, a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and self.less(j, j - 1):
                self.swap(j, j - 1)
                j -= 1

    def sift_down(self, lo: int, hi: int, first: int) -> None:
        root = lo
        while True:
            child = 2 * root + 1
            if child >= hi:
                return
            if child + 1 < hi and self.less(first + child, first + child + 1):
                child += 1
            if not self.less(first + root, first + child):
                return
            self.swap(first + root, first + child)
            root = child

    def heap_sort(self, a: int, b: int) -> None:
        first, lo, hi = a, 0, b - a
        for i in range((hi - 1) // 2, -1, -1):
            self.sift_down(i, hi, first)
        for i in range(hi - 1, -1, -1):
            self.swap(first, first + i)
            self.sift_down(lo, i, first)

    def pdqsort(self, a: int, b: int, limit: int) -> None:
        was_balanced = was_partitioned = True
        while True:
            length = b - a
            if length <= 12:
                self.insertion_sort(a, b)
                return
            if limit == 0:
                self.heap_sort(a, b)
                return
            if not was_balanced:
                self.break_patterns(a, b)
                limit -= 1
            pivot, hint = self.choose_pivot(a, b)
            if hint == "decreasing":
                self.reverse_range(a, b)
                pivot = (b - 1) - (pivot - a)
                hint = "increasing"
            if (
                was_balanced
                and was_partitioned
                and hint == "increasing"
                and self.partial_insertion_sort(a, b)
            ):
                return
            if a > 0 and not self.less(a - 1, pivot):
                a = self.partition_equal(a, b, pivot)
                continue
            mid, was_partitioned = self.partition(a, b, pivot)
            left, right = mid - a, b - mid
            threshold = length // 8
            if left < right:
                was_balanced = left >= threshold
                self.pdqsort(a, mid, limit)
                a = mid + 1
            else:
                was_balanced = right >= threshold
                self.pdqsort(mid + 1, b, limit)
                b = mid

    def partition(self, a: int, b: int, pivot: int) -> tuple[int, bool]:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while i <= j and self.less(i, a):
            i += 1
        while i <= j and not self.less(j, a):
            j -= 1
        if i > j:
            self.swap(j, a)
            return j, True
        self.swap(i, j)
        i, j = i + 1, j - 1
        while True:
            while i <= j and self.less(i, a):
                i += 1
            while i <= j and not self.less(j, a):
                j -= 1
            if i > j:
                break
            self.swap(i, j)
            i, j = i + 1, j - 1
        self.swap(j, a)
        return j, False

    def partition_equal(self, a: int, b: int, pivot: int) -> int:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while True:
            while i <= j and not self.less(a, i):
                i += 1
            while i <= j and self.less(a, j):
                j -= 1
            if i > j:
                return i
            self.swap(i, j)
            i, j = i + 1, j - 1

    def partial_insertion_sort(self, a: int, b: int) -> bool:
        i = a + 1
        for _ in range(5):  # maxSteps
            while i < b and not self.less(i, i - 1):
                i += 1
            if i == b:
                return True
            if b - a < 50:  # shortestShifting
                return False
            self.swap(i, i - 1)
            if i - a >= 2:
                for j in range(i - 1, 0, -1):  # Go's loop runs down to 1, not to a+1
                    if not self.less(j, j - 1):
                        break
                    self.swap(j, j - 1)
            if b - i >= 2:
                for j in range(i + 1, b):
                    if not self.less(j, j - 1):
                        break
                    self.swap(j, j - 1)
        return False

    def break_patterns(self, a: int, b: int) -> None:
        length = b - a
        if length < 8:
            return
        random = length
        modulus = 1 << length.bit_length()
        middle = a + (length // 4) * 2
        for idx in range(middle - 1, middle + 2):
            random ^= (random << 13) & _M64
            random ^= random >> 7
            random ^= (random << 17) & _M64
            other = random & (modulus - 1)
            if other >= length:
                other -= length
            self.swap(idx, a + other)

    def choose_pivot(self, a: int, b: int) -> tuple[int, str]:
        length = b - a
        swaps = [0]
        i, j, k = a + length // 4 * 1, a + length // 4 * 2, a + length // 4 * 3
        if length >= 8:
            if length >= 50:  # Tukey's ninther
                i = self.median(i - 1, i, i + 1, swaps)
                j = self.median(j - 1, j, j + 1, swaps)
                k = self.median(k - 1, k, k + 1, swaps)
            j = self.median(i, j, k, swaps)
        if swaps[0] == 0:
            return j, "increasing"
        if swaps[0] == 12:
            return j, "decreasing"
        return j, "unknown"

    def order2(self, a: int, b: int, swaps: list[int]) -> tuple[int, int]:
        if self.less(b, a):
            swaps[0] += 1
            return b, a
        return a, b

    def median(self, a: int, b: int, c: int, swaps: list[int]) -> int:
        a, b = self.order2(a, b, swaps)
        b, c = self.order2(b, c, swaps)
        a, b = self.order2(a, b, swaps)
        return b

    def reverse_range(self, a: int, b: int) -> None:
        i, j = a, b - 1
        while i < j:
            self.swap(i, j)
            i, j = i + 1, j - 1


def _layer_id(layer: Any) -> str:
    """dive's layer id: the first path component of the layer tar in the export (the
    legacy layer directory). For an OCI blob (`blobs/sha256/HEX`) dive would say `blobs`;
    the blob's hex digest is what identifies it, so that is written instead."""
    source = layer.source
    if source.startswith("blobs/"):
        return source.rsplit("/", 1)[-1]
    return source.split("/", 1)[0]


def _command(layer: Any) -> str:
    """dive's command: the history entry's created_by minus a leading `/bin/sh -c `."""
    if layer.history is None:
        return "(missing)"
    return layer.created_by.removeprefix("/bin/sh -c ")


_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_GO_ESCAPED = re.compile("[<>&\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')


def _go_json(value: Any) -> str:
    """One JSON scalar written the way Go's encoding/json writes it: UTF-8 as is, `<`, `>`,
    `&`, U+2028 and U+2029 escaped, an undecodable byte as U+FFFD. Byte for byte what dive
    writes, so even a checksum of the file does not change."""
    if isinstance(value, str):
        if not _NEEDS_ESCAPE.search(value):  # the common case, 20x faster than json.dumps
            return f'"{value}"'
        if _SURROGATE.search(value):  # bytes that were not UTF-8 (tarfile's surrogateescape)
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        text = json.dumps(value, ensure_ascii=False)
        return _GO_ESCAPED.sub(lambda m: _GO_ESCAPES[m.group()], text)
    if isinstance(value, float):
        return json.dumps(_go_float(value))
    return json.dumps(value)


def _go_float(value: float) -> float | int:
    """Go's encoding/json writes 1.0 as `1`; keep the bytes the same."""
    return int(value) if value.is_integer() else value


_FILE_INFO_JSON = (
    "{}        {{\n"
    '          "path": {},\n'
    '          "typeFlag": {},\n'
    '          "linkName": {},\n'
    '          "size": {},\n'
    '          "fileMode": {},\n'
    '          "uid": {},\n'
    '          "gid": {},\n'
    '          "isDir": {}\n'
    "        }}"
)


def write_dive_json(analysis: Any, numbers: Any, out: IO[str]) -> None:
    """Write dive's export document for `analysis` with `numbers` (an Efficiency), layer by
    layer, so a layer's file list is the largest thing held at once."""
    touches = _DiveTouches({f.path for f in numbers.files})
    out.write('{\n  "layer": [')
    for i, layer in enumerate(analysis.layers):
        head = {
            "index": layer.index,
            "id": _layer_id(layer),
            "digestId": layer.diff_id,
            "sizeBytes": layer.size,
            "command": _command(layer),
        }
        out.write(",\n    {" if i else "\n    {")
        for key, value in head.items():
            out.write(f"\n      {_go_json(key)}: {_go_json(value)},")
        out.write('\n      "fileList": [')
        first = True
        for name, entry, leaf in _walk_tree(*_layer_tree(layer.entries)):
            if leaf:  # one walk serves the file list and dive's fileReference order
                touches.touch(name)
            info = _IMPLIED if entry is None else _file_info(entry, name)
            out.write(
                _FILE_INFO_JSON.format(
                    "\n" if first else ",\n",
                    _go_json(info["path"]),
                    info["typeFlag"],
                    _go_json(info["linkName"]),
                    info["size"],
                    info["fileMode"],
                    info["uid"],
                    info["gid"],
                    "true" if info["isDir"] else "false",
                )
            )
            first = False
        out.write("\n      ]\n    }" if not first else "]\n    }")
    out.write("\n  ]," if analysis.layers else "],")
    image = {
        "sizeBytes": analysis.size,
        "inefficientBytes": numbers.wasted_bytes,
        "efficiencyScore": numbers.score,
    }
    out.write('\n  "image": {')
    for key, value in image.items():
        out.write(f"\n    {_go_json(key)}: {_go_json(value)},")
    out.write('\n    "fileReference": [')
    for i, wasted in enumerate(touches.order(numbers.files)):
        ref = {"count": wasted.count, "sizeBytes": wasted.size, "file": wasted.path}
        body = ",".join(f"\n        {_go_json(k)}: {_go_json(v)}" for k, v in ref.items())
        out.write(("," if i else "") + "\n      {" + body + "\n      }")
    out.write("\n    ]\n  }\n}" if numbers.files else "]\n  }\n}")


def dive_document(analysis: Any, numbers: Any) -> dict[str, Any]:
    """The same document as a dict (for tests and callers that want it in memory)."""
    buffer = io.StringIO()
    write_dive_json(analysis, numbers, buffer)
    return json.loads(buffer.getvalue())


def _write_json_file(path: str, analysis: Any, numbers: Any) -> None:
    """Replace `path` with the document: written beside it, then renamed over it, so a
    reader never sees half a file and an older, longer file leaves no tail behind."""
    target = Path(path)
    if target.exists() and not target.is_file():  # /dev/stdout, a fifo: write through
        with open(target, "w", encoding="utf-8") as out:
            write_dive_json(analysis, numbers, out)
        return
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            write_dive_json(analysis, numbers, out)
        with contextlib.suppress(OSError):
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_json_stdout(analysis: Any, numbers: Any) -> None:
    """UTF-8 whatever the locale says, as dive writes it."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a replaced sys.stdout (tests): it takes str
        write_dive_json(analysis, numbers, sys.stdout)
        sys.stdout.write("\n")
        sys.stdout.flush()
        return
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n")
    try:
        write_dive_json(analysis, numbers, out)
        out.write("\n")
        out.flush()
    finally:
        out.detach()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------
# The human report


def _percent(value: float) -> str:
    return f"{value * 100:.4f} %"  # dive's precision


def render_report(
    analysis: Any,
    image: str,
    image_id: str,
    numbers: Any,
    *,
    dive_mode: bool,
    top: int,
    width: int | None,
) -> list[str]:
    """The summary table: layers, then the image's efficiency and its worst files."""
    lines = []
    short_id = image_id.removeprefix("sha256:")[:12]
    lines.append(
        f"{clean_field(image)}  {short_id}  {len(analysis.layers)} layers  "
        f"{fmt.size(analysis.size)}"
    )
    lines.append("")
    sizes = [fmt.size(layer.size) for layer in analysis.layers]
    size_w = max([4, *map(len, sizes)])
    index_w = max(1, len(str(len(analysis.layers) - 1)))
    lines.append(f"{'#':>{index_w}}  {'size':>{size_w}}  instruction")
    for layer, size in zip(analysis.layers, sizes, strict=True):
        text = clean_field(layer.instruction) or "(no history)"
        prefix = f"{layer.index:>{index_w}}  {size:>{size_w}}  "
        lines.append(prefix + _fit(text, width, len(prefix)))
    lines.append("")
    label = "dive-compatible numbers" if dive_mode else "efficiency"
    lines.append(f"{label}:")
    lines.append(f"  efficiency score     {_percent(numbers.score)}")
    lines.append(
        f"  wasted bytes         {fmt.size(numbers.wasted_bytes)} ({numbers.wasted_bytes:,} bytes)"
    )
    lines.append(
        f"  user wasted percent  {_percent(numbers.user_wasted_percent)} "
        f"(of {fmt.size(analysis.user_size)} added above the base layer)"
    )
    other = analysis.efficiency if dive_mode else analysis.dive
    if (other.score, other.wasted_bytes) != (numbers.score, numbers.wasted_bytes):
        who = "dockui" if dive_mode else "dive"
        why = (
            "dive ignores files hidden by directory and opaque whiteouts"
            if not dive_mode
            else "dockui counts files hidden by directory and opaque whiteouts"
        )
        lines.append(
            f"  ({who} reports {_percent(other.score)}, {fmt.size(other.wasted_bytes)} wasted: "
            f"{why})"
        )
    lines.append("")
    files = numbers.files
    if not files:
        lines.append("wasted files: none")
        return lines
    shown = files[:top] if top > 0 else files
    lines.append(f"top wasted files ({len(shown)} of {len(files)}):")
    sizes = [fmt.size(f.size) for f in shown]
    size_w = max([6, *map(len, sizes)])
    layer_texts = [",".join(map(str, f.layers)) for f in shown]
    layers_w = max([6, *map(len, layer_texts)])
    lines.append(f"  {'count':>5}  {'wasted':>{size_w}}  {'layers':<{layers_w}}  path")
    for wasted, size, layer_text in zip(shown, sizes, layer_texts, strict=True):
        prefix = f"  {wasted.count:>5}  {size:>{size_w}}  {layer_text:<{layers_w}}  "
        lines.append(prefix + _fit(clean_field(wasted.path), width, len(prefix)))
    return lines


def _fit(text: str, width: int | None, used: int) -> str:
    if width is None:
        return text
    room = max(20, width - used)
    return text if len(text) <= room else text[: room - 1] + "…"


def render_ci(results: list[RuleResult], config: str | None) -> list[str]:
    source = f"CI config: {config}" if config else "CI config: defaults and flags"
    lines = [source]
    for result in results:
        tail = f": {result.message}" if result.message else ""
        lines.append(f"  {result.status}: {result.name}{tail}")
    counts = {s: sum(r.status == s for r in results) for s in ("PASS", "FAIL", "SKIP")}
    verdict = "FAIL" if counts["FAIL"] else "PASS"
    lines.append(
        f"Result:{verdict} [Total:{len(results)}] [Passed:{counts['PASS']}] "
        f"[Failed:{counts['FAIL']}] [Skipped:{counts['SKIP']}]"
    )
    return lines


# ---------------------------------------------------------------------------------------------
# Progress on a terminal


class Progress:
    """`reading image  312 MB / 1.05 GB  30 %` on stderr, redrawn at most 10 times a second.

    The export is slightly larger than the image's inspected size (tar headers, configs),
    so the percentage stops at 99 until the end."""

    def __init__(self, stream: IO[str], total: int, label: str) -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        if self.total > 0:
            pct = min(99, int(done * 100 / self.total))
            text = f"reading {self.label}  {fmt.size(done)} / {fmt.size(self.total)}  {pct} %"
        else:
            text = f"reading {self.label}  {fmt.size(done)}"
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


# ---------------------------------------------------------------------------------------------
# Reading ahead

PREFETCH_CHUNK = 1 << 20
PREFETCH_DEPTH = 24  # chunks: at most ~24 MB read ahead of the parser


class Prefetch:
    """Read the export on a thread, up to PREFETCH_DEPTH chunks ahead of the parser.

    Without it the engine writes only while the parser asks for bytes: the socket buffer
    (a few hundred KB) fills while a header-heavy layer is parsed, the engine's tar writer
    stalls, and the two run one after the other instead of side by side. Socket reads
    release the GIL, so the thread costs the parser almost nothing. Errors on the reading
    side are raised in the consumer; leaving the `with` block stops the reader.
    """

    _DONE = object()

    def __init__(self, chunks: Any, depth: int = PREFETCH_DEPTH) -> None:
        import queue
        import threading

        self._source = chunks
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="export-reader", daemon=True)

    def __enter__(self) -> Iterator[bytes]:
        self._thread.start()
        return self._iterate()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        deadline = time.monotonic() + 1.0
        while self._thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # unblock a reader waiting on a full queue
                self._queue.get_nowait()
            self._thread.join(0.05)
        # A reader still blocked in recv() (an engine that stopped sending) is a daemon
        # thread: it ends with the process, or when the next bytes arrive and it sees _stop.
        if not self._thread.is_alive():
            close = getattr(self._source, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    def _put(self, item: Any) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for chunk in self._source:
                if not self._put(chunk):
                    return
            self._put(self._DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def _iterate(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


# ---------------------------------------------------------------------------------------------
# The command


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "layers",
        help="analyse an image's layers (sizes, efficiency, wasted files); --json, --ci",
        description="Analyse an image's layers without the TUI: per-layer size and "
        "instruction, efficiency score, wasted bytes and the files that waste them. "
        "Reads the image through the engine's export stream; nothing is written to disk.",
        epilog="Exit codes: 0 ok, 1 a --ci rule failed, 2 error (no engine, unknown image, "
        "bad rule or config), 130 interrupted.",
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
        help="write dive's JSON export format to FILE ('-' for stdout; the report then "
        "goes to stderr). FILE is replaced, never appended to",
    )
    parser.add_argument(
        "--dive-compatible",
        action="store_true",
        help="report dive's numbers (which ignore files hidden by directory and opaque "
        "whiteouts) instead of dockui's, in the report, the JSON and the CI rules",
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="evaluate the CI rules and exit 1 if one fails",
    )
    parser.add_argument(
        "--ci-config",
        metavar="PATH",
        help=f"dive's rules file (default: {DEFAULT_CI_CONFIG} in the current directory, "
        "if present)",
    )
    parser.add_argument(
        "--lowest-efficiency",
        "--lowestEfficiency",
        dest="lowest_efficiency",
        metavar="RATIO",
        help="fail if the efficiency score is below RATIO (0-1; default 0.9, or 'disabled')",
    )
    parser.add_argument(
        "--highest-user-wasted-percent",
        "--highestUserWastedPercent",
        dest="highest_user_wasted_percent",
        metavar="RATIO",
        help="fail if wasted bytes exceed RATIO of the bytes above the base layer "
        "(0-1; default 0.1, or 'disabled')",
    )
    parser.add_argument(
        "--highest-wasted-bytes",
        "--highestWastedBytes",
        dest="highest_wasted_bytes",
        metavar="SIZE",
        help="fail if more than SIZE bytes are wasted, e.g. 20MB, 1.5GiB (default disabled)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=10,
        metavar="N",
        help="wasted files to list in the report (default 10, 0 for all)",
    )
    # Not for users: fingerprint file contents too (only the TUI's change marks use them;
    # the numbers never do). The benchmark measures what it costs.
    parser.add_argument("--hash-contents", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """The `dockui layers` command. Returns the exit code."""
    stderr = sys.stderr
    report_out = stderr if args.json == "-" else sys.stdout
    progress: Progress | None = None
    try:
        rules: list[Rule] = []
        config_used: str | None = None
        if args.ci or args.ci_config is not None or _any_rule_flag(args):
            flags = {name: getattr(args, attr) for name, attr in RULE_FLAGS.items()}
            rules, config_used = resolve_rules(flags, args.ci_config)
        if args.top < 0:
            raise LayersError("--top must be 0 or more")
        analysis, image_id, progress = _analyse(args, stderr)
        numbers = analysis.dive if args.dive_compatible else analysis.efficiency
        if args.json == "-":
            _write_json_stdout(analysis, numbers)
        elif args.json:
            try:
                _write_json_file(args.json, analysis, numbers)
            except OSError as exc:
                raise LayersError(f"cannot write {args.json}: {exc.strerror or exc}") from None
        width = _terminal_width(report_out)
        lines = render_report(
            analysis,
            args.image,
            image_id,
            numbers,
            dive_mode=args.dive_compatible,
            top=args.top,
            width=width,
        )
        code = EXIT_OK
        if args.ci:
            results = evaluate_rules(rules, numbers)
            lines += ["", *render_ci(results, config_used)]
            if any(r.status == "FAIL" for r in results):
                code = EXIT_CI_FAILED
        report_out.write("\n".join(lines) + "\n")
        report_out.flush()
        return code
    except LayersError as exc:
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


def _any_rule_flag(args: argparse.Namespace) -> bool:
    return any(getattr(args, attr) is not None for attr in RULE_FLAGS.values())


def _terminal_width(stream: IO[str]) -> int | None:
    try:
        if not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None


def _analyse(args: argparse.Namespace, stderr: IO[str]) -> tuple[Any, str, Progress | None]:
    """Connect, find the image, stream its export through the analysis."""
    from dockui.engine.layers import analyze_image_stream

    def consume(chunks: Any, image_id: str, progress: Progress | None) -> Any:
        return analyze_image_stream(
            chunks, progress=progress, hash_contents=bool(args.hash_contents)
        )

    analysis, image_id, progress, _env = read_export(
        args.image, getattr(args, "host", None), stderr, consume, "analyse", LayersError
    )
    return analysis, image_id, progress


def read_export(
    image: str,
    host: str | None,
    stderr: IO[str],
    consume: Any,
    verb: str,
    error: type[Exception],
) -> tuple[Any, str, Progress | None, dict[str, str]]:
    """Connect, find `image`, stream its export (`docker save`) into
    `consume(chunks, image_id, progress)`: shared by `dockui layers` and `dockui audit`.
    Every failure becomes `error(sentence)`; returns (result, image id, progress, the
    docker CLI's environment for this engine)."""
    import docker.errors

    from dockui.engine.client import EngineUnavailable, connect
    from dockui.engine.layers import LayerAnalysisError

    try:
        engine = connect(host)
    except EngineUnavailable as exc:
        raise error(str(exc)) from None
    progress: Progress | None = None
    try:
        try:
            info = engine.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            raise error(f"no such image: {clean_field(image)}") from None
        except docker.errors.APIError as exc:
            raise error(_api_message(exc, image)) from None
        image_id = str(info.get("Id") or "")
        if _isatty(stderr):
            progress = Progress(stderr, int(info.get("Size") or 0), clean_field(image))
        # An export can pause for a while between layers on a busy engine; the connect
        # timeout (a few seconds) is for answering at all, not for streaming gigabytes.
        engine.api.timeout = 600
        failed = "reading the image export failed: "
        try:
            with Prefetch(engine.api.get_image(image, chunk_size=PREFETCH_CHUNK)) as chunks:
                result = consume(chunks, image_id, progress)
        except docker.errors.NotFound:
            raise error(f"no such image: {clean_field(image)}") from None
        except docker.errors.APIError as exc:
            raise error(_api_message(exc, image)) from None
        except LayerAnalysisError as exc:
            raise error(f"cannot {verb} {clean_field(image)}: {exc}") from None
        except (OSError, docker.errors.DockerException) as exc:
            raise error(failed + (_first_line(str(exc)) or type(exc).__name__)) from None
        except Exception as exc:  # requests/urllib3 stream errors are not all OSError
            if type(exc).__module__.split(".")[0] not in ("requests", "urllib3"):
                raise
            raise error(failed + (_first_line(str(exc)) or type(exc).__name__)) from None
        if progress is not None:
            progress.clear()
        return result, image_id, progress, engine.cli_env()
    finally:
        engine.close()


def _api_message(exc: Any, image: str) -> str:
    explanation = getattr(exc, "explanation", None) or str(exc)
    return f"the engine refused {clean_field(image)}: {_first_line(clean_field(str(explanation)))}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
