"""How numbers and times look on screen (humanize does the wording)."""

from __future__ import annotations

import time

import humanize


def size(n: int | None) -> str:
    """Decimal units with three significant digits, the figures `docker` prints: 1.98 MB."""
    if n is None:
        return "?"
    if n == 0:
        return "0 B"
    return humanize.naturalsize(n, format="%.3g").replace("Bytes", "B").replace("Byte", "B")


def cpu(percent: float | None) -> str:
    """A CPU share as `docker stats` counts it (100 % per core), in at most 6 characters:
    one decimal below 100 %, none above (a busy 16-core container reads "1532%")."""
    if percent is None:
        return ""
    return f"{percent:.1f}%" if percent < 99.95 else f"{percent:.0f}%"


def ago(ts: float | None, now: float | None = None) -> str:
    """`3 minutes ago`, `2 days ago`."""
    if not ts:
        return "?"
    now = time.time() if now is None else now
    return humanize.naturaltime(max(0.0, now - ts))


def duration(seconds: float | None) -> str:
    """`5 minutes`, `an hour`, `3 days`."""
    if seconds is None:
        return "?"
    return humanize.naturaldelta(max(0.0, seconds))


def short_duration(seconds: float | None) -> str:
    """Compact duration for narrow columns: 45s, 5m, 3h, 2d, 5w, 3mo, 2y."""
    if seconds is None:
        return ""
    s = max(0, int(seconds))
    for unit, span in (("y", 365 * 86400), ("mo", 30 * 86400), ("w", 7 * 86400),
                       ("d", 86400), ("h", 3600), ("m", 60)):  # fmt: skip
        if s >= span * (2 if unit in ("y", "mo", "w") else 1):
            return f"{s // span}{unit}"
    return f"{s}s"
