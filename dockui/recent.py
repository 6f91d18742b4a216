"""Recent builds, remembered across sessions in the XDG state dir (a small JSON file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs

from dockui.engine.build import BuildRequest

KEEP = 20


def default_path() -> Path:
    return Path(platformdirs.user_state_dir("dockui")) / "recent-builds.json"


class RecentBuilds:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def load(self) -> list[BuildRequest]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [BuildRequest.from_dict(item) for item in data if isinstance(item, dict)]
        except (OSError, ValueError, KeyError, TypeError):
            return []  # missing or damaged: start afresh rather than fail a build

    def remember(self, request: BuildRequest) -> None:
        items = [r for r in self.load() if not _same(r, request)]
        items.insert(0, request)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps([r.as_dict() for r in items[:KEEP]], indent=1))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only home must not break building

    def last(self, context_dir: str | None = None) -> BuildRequest | None:
        for request in self.load():
            if context_dir is None or request.context_path == os.path.abspath(context_dir):
                return request
        return None


def _same(a: BuildRequest, b: BuildRequest) -> bool:
    return (a.context_path, a.dockerfile_path, a.tags) == (
        b.context_path,
        b.dockerfile_path,
        b.tags,
    )
