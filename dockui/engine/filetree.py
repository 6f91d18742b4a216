"""A browsable file tree from a layer's marked paths (pure data, no Textual).

The layer screen shows either what one layer changed or the whole filesystem after it;
both come from `ImageAnalysis` as {path: TreeItem(entry, mark)}. This turns such a map
into nested nodes with directory sizes (the sum of the files below) and a directory mark
that says whether anything below changed, sorted by name or size, optionally filtered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockui.engine.layers import ADDED, DIR, MODIFIED, REMOVED, UNCHANGED, TreeItem

MARK_ORDER = {ADDED: 0, MODIFIED: 1, REMOVED: 2, UNCHANGED: 3}


@dataclass(eq=False)
class FileNode:
    name: str
    path: str
    kind: str = DIR
    size: int = 0  # a file's size, or a directory's total below it
    mark: str = UNCHANGED
    link: str = ""
    mode: int = 0
    uid: int = 0
    gid: int = 0
    children: dict[str, FileNode] = field(default_factory=dict)
    changed_below: int = 0  # files below that were added, modified or removed

    @property
    def is_dir(self) -> bool:
        return self.kind == DIR

    def sorted_children(self, by: str = "name") -> list[FileNode]:
        nodes = list(self.children.values())
        if by == "size":
            nodes.sort(key=lambda n: (-n.size, n.name))
        else:
            nodes.sort(key=lambda n: (not n.is_dir, n.name))
        return nodes

    def count(self) -> int:
        return 1 + sum(child.count() for child in self.children.values())


def build_tree(items: dict[str, TreeItem], pattern: str = "") -> tuple[FileNode, int]:
    """Nested nodes for `items`; with `pattern` (regex, case-insensitive; a bad regex is
    taken literally) only matching paths and their parents. Returns (root, matches)."""
    regex = None
    if pattern:
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error:
            regex = re.compile(re.escape(pattern), re.IGNORECASE)
    root = FileNode("/", "/")
    matches = 0
    for path in sorted(items):
        if path == "/":
            continue
        if regex is not None and not regex.search(path):
            continue
        matches += 1
        item = items[path]
        node = root
        parts = path.strip("/").split("/")
        for i, part in enumerate(parts):
            child = node.children.get(part)
            if child is None:
                child = FileNode(part, "/" + "/".join(parts[: i + 1]))
                node.children[part] = child
            node = child
        entry = item.entry
        node.kind = entry.kind if entry.kind != "whiteout" else "file"
        node.mark = item.mark
        node.link = entry.link
        node.mode, node.uid, node.gid = entry.mode, entry.uid, entry.gid
        if not entry.is_dir:
            node.size = entry.size
    _total(root)
    return root, matches


def _total(node: FileNode) -> tuple[int, int]:
    if not node.children:
        changed = 1 if node.mark in (ADDED, MODIFIED, REMOVED) and not node.is_dir else 0
        node.changed_below = changed
        return node.size, changed
    size = 0
    changed = 0
    for child in node.children.values():
        s, c = _total(child)
        size += s
        changed += c
    node.size = size
    node.changed_below = changed
    if node.mark == UNCHANGED and changed:
        node.mark = MODIFIED if node.mark == UNCHANGED else node.mark
    return size, changed


def mode_string(kind: str, mode: int) -> str:
    """`drwxr-xr-x` style."""
    first = {"dir": "d", "symlink": "l", "hardlink": "h"}.get(kind, "-")
    bits = "".join(ch if mode & (1 << (8 - i)) else "-" for i, ch in enumerate("rwxrwxrwx"))
    return first + bits
