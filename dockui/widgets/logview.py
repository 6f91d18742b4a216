"""A line-based log view: a ring buffer rendered only where the screen looks.

Rendering cost depends on the height of the pane, never on the size of the log: each
visible row is built on demand (and cached) from the buffer. Lines are already cleaned
by the engine layer; SGR colours are rendered, nothing else from the container reaches
the terminal. Wrap, timestamps, search highlights and a filter (only matching lines)
are display modes over the same buffer.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate, count

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dockui.engine.models import LogLine
from dockui.engine.text import strip_sgr
from dockui.widgets.fixedbox import FixedBox

SOURCE_COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan",
                  "bright_magenta"]  # fmt: skip
TS_WIDTH = 18  # "11-25 12:20:59.179"
MATCH_STYLE = Style(bgcolor="yellow", color="black", bold=True)
NOTE_STYLE = Style(dim=True, italic=True)
_serials = count()


@dataclass(slots=True, eq=False)
class Row:
    line: LogLine
    source: str = ""  # container name, in a merged view
    colour: int = 0
    note: bool = False  # a marker written by dockui, not the container
    plain: str = field(default="", init=False)
    match: bool = field(default=False, init=False)
    # Identifies the row in the strip cache. Not id(row): a pruned row's id can be reused
    # by a new one, and a stale strip would be shown for it.
    serial: int = field(default_factory=_serials.__next__, init=False)

    def __post_init__(self) -> None:
        self.plain = strip_sgr(self.line.text)


class LogView(FixedBox, ScrollView, can_focus=True):
    """The buffer and its rendering. The pane around it owns keys and the status text."""

    BINDINGS = [
        Binding("j,down", "line_down", "Down", show=False),
        Binding("k,up", "line_up", "Up", show=False),
        Binding("pageup", "page_up_log", "Page up", show=False),
        Binding("pagedown", "page_down_log", "Page down", show=False),
        Binding("g,home", "top", "Top", show=False),
        Binding("G,end", "follow", "Follow", show=False),
    ]

    class FollowChanged(Message):
        def __init__(self, view: LogView, following: bool) -> None:
            super().__init__()
            self.view = view
            self.following = following

    class NeedHistory(Message):
        """The user is at the top and wants more: the app may prepend older lines."""

        def __init__(self, view: LogView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, max_lines: int = 10_000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.rows: list[Row] = []
        self.following = True
        self.wrap = True
        self.show_timestamps = False
        self.filter_mode = False
        self.pattern: re.Pattern[str] | None = None
        self.match_count = 0
        self.dropped = 0  # lines pushed out of the ring buffer
        self._view: list[Row] | None = None  # rows shown when filtering
        self._offsets: list[int] | None = None  # wrap: first screen row of each shown row
        # ... minus _offset_base: rows pruned from the front only move the base, so a full
        # ring buffer does not rewrite 10,000 offsets on every batch of new lines.
        self._offset_base = 0
        # Finished strips by (row serial, wrapped sub-row, generation, x, width, style).
        # Rows never change once added, so new lines only add entries: a frame re-renders
        # only the rows it has not shown before, however far the view scrolled.
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._generation = 0  # bumps when display options change (invalidates the cache)
        self._cursor_row: Row | None = None  # the current search hit (n / N)

    # -- feeding --------------------------------------------------------------------------
    def add_lines(
        self, lines: list[LogLine], source: str = "", colour: int = 0, *, ordered: bool = False
    ) -> None:
        """Append lines (or, with `ordered`, insert each by timestamp: merged views)."""
        if not lines:
            return
        if len(lines) > self.max_lines:
            self.dropped += len(lines) - self.max_lines
            lines = lines[-self.max_lines :]
        new = [Row(line, source, colour) for line in lines]
        if self.pattern is not None:
            for row in new:
                row.match = bool(self.pattern.search(row.plain))
                self.match_count += row.match
        if any(row.line.overwrite for row in new):
            new = self._apply_overwrites(new)
        overwrote = len(new) != len(lines)
        inserted = False
        if ordered and self.rows:
            for row in new:
                ts = row.line.ts
                if ts is None or self.rows[-1].line.ts is None or ts >= self.rows[-1].line.ts:
                    self.rows.append(row)
                else:
                    keys = [r.line.ts or 0.0 for r in self.rows]
                    self.rows.insert(bisect_right(keys, ts), row)
                    inserted = True
        else:
            self.rows.extend(new)
        # The common case — lines appended at the end — updates the layout incrementally:
        # the cost follows the lines that arrived, not the size of the buffer.
        self._after_change(prune=True, appended=None if (inserted or overwrote) else new)

    def _apply_overwrites(self, new: list[Row]) -> list[Row]:
        """A line that followed a bare \r redraws the one before it (same stream)."""
        kept: list[Row] = []
        for row in new:
            if row.line.overwrite:
                before = kept[-1] if kept else (self.rows[-1] if self.rows else None)
                if (
                    before is not None
                    and not before.note
                    and before.source == row.source
                    and before.line.stream == row.line.stream
                ):
                    if kept:
                        kept.pop()
                    else:
                        gone = self.rows.pop()
                        self.match_count -= gone.match
            kept.append(row)
        return kept

    def add_note(self, text: str) -> None:
        self.rows.append(Row(LogLine(text, ts=time.time()), note=True))
        self._after_change(prune=True)

    def prepend_lines(self, lines: list[LogLine], source: str = "", colour: int = 0) -> int:
        """Older history in front; keeps the view steady. Returns how many were added."""
        room = self.max_lines - len(self.rows)
        if room <= 0 or not lines:
            return 0
        lines = lines[-room:]
        old_height = self.virtual_size.height
        new = [Row(line, source, colour) for line in lines]
        if self.pattern is not None:
            for row in new:
                row.match = bool(self.pattern.search(row.plain))
                self.match_count += row.match
        self.rows[:0] = new
        self._after_change(prune=False)
        self.scroll_to(y=self.scroll_y + self.virtual_size.height - old_height, animate=False)
        return len(new)

    def clear(self) -> None:
        self.rows.clear()
        self.match_count = 0
        self.dropped = 0
        self._cursor_row = None
        self._after_change(prune=False)

    @property
    def first_timestamp(self) -> float | None:
        return next((r.line.ts for r in self.rows if r.line.ts and not r.note), None)

    def _after_change(self, *, prune: bool, appended: list[Row] | None = None) -> None:
        before_height = self.virtual_size.height
        pruned_height = 0
        gone: list[Row] = []
        if prune and len(self.rows) > self.max_lines:
            cut = len(self.rows) - self.max_lines
            gone = self.rows[:cut]
            del self.rows[:cut]
            self.dropped += cut
            if self.pattern is not None:
                self.match_count -= sum(r.match for r in gone)
            if not self.following:
                pruned_height = self._height_of(gone)
        if appended is not None:
            self._extend_layout(appended, gone)
        else:
            self._rebuild_view()
        self.virtual_size = Size(self.virtual_size.width, self._total_height())
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            # The new height may only count after the next layout: follow again then.
            self.call_after_refresh(self._follow_end)
        elif pruned_height:
            # What the user is reading moved up by what was pruned: keep it in place.
            self.scroll_to(y=max(0, self.scroll_y - pruned_height), animate=False)
        # Always repaint: with a full ring buffer the height stays the same while every row
        # under the viewport changed (rows in, rows out), and no scroll happens to repaint.
        del before_height
        self.refresh()

    # -- display modes -------------------------------------------------------------------
    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._redisplay()

    def set_timestamps(self, show: bool) -> None:
        self.show_timestamps = show
        self._redisplay()

    def set_search(self, query: str) -> str | None:
        """Regex search (case-insensitive unless the query has capitals). Returns an error."""
        error = None
        if not query:
            self.pattern = None
        else:
            flags = 0 if any(c.isupper() for c in query) else re.IGNORECASE
            try:
                self.pattern = re.compile(query, flags)
            except re.error as exc:
                error = f"bad regex: {exc}"
                self.pattern = re.compile(re.escape(query), flags)
        self.match_count = 0
        for row in self.rows:
            row.match = bool(self.pattern and self.pattern.search(row.plain))
            self.match_count += row.match
        self._cursor_row = None
        self._redisplay()
        return error

    def set_filter_mode(self, on: bool) -> None:
        self.filter_mode = on
        self._redisplay()

    def _redisplay(self) -> None:
        self._generation += 1
        self._rebuild_view()
        self._cache.clear()
        self.virtual_size = Size(self.virtual_size.width, self._total_height())
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _extend_layout(self, appended: list[Row], gone: list[Row]) -> None:
        """Rows were appended (and maybe pruned from the front): update the filtered view
        and the wrap offsets for just those rows."""
        filtering = self.filter_mode and self.pattern is not None
        if filtering and self._view is None:
            self._rebuild_view()
            return
        shown_new = [r for r in appended if r.match or r.note] if filtering else appended
        front = 0
        if self._view is not None:
            gone_ids = {id(r) for r in gone}
            while front < len(self._view) and id(self._view[front]) in gone_ids:
                front += 1
            del self._view[:front]
            self._view.extend(shown_new)
        else:
            front = len(gone)
        offsets = self._offsets
        if not self.wrap or offsets is None:
            return
        if front:
            self._offset_base = offsets[front]
            del offsets[:front]
        width = self._text_width()
        last = offsets[-1]
        offsets.extend(accumulate((self._row_height(r, width) for r in shown_new), initial=last))
        del offsets[len(offsets) - len(shown_new) - 1]  # `initial` repeated the old end
        self._offsets = offsets

    def _rebuild_view(self) -> None:
        if self.filter_mode and self.pattern is not None:
            self._view = [r for r in self.rows if r.match or r.note]
        else:
            self._view = None
        self._offsets = None

    @property
    def shown(self) -> list[Row]:
        return self.rows if self._view is None else self._view

    # -- geometry ------------------------------------------------------------------------
    def _text_width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _prefix_len(self, row: Row) -> int:
        n = 0
        if self.show_timestamps:
            n += TS_WIDTH + 1
        if row.source:
            n += len(row.source) + 3
        return n

    def _indent(self, row: Row, width: int) -> int:
        """Wrapped rows start under the message, not under the timestamp/source."""
        indent = self._prefix_len(row)
        return indent if width - indent >= 20 else 0

    def _row_height(self, row: Row, width: int) -> int:
        if not self.wrap:
            return 1
        length = self._prefix_len(row) + (
            len(row.plain) if row.plain.isascii() else cell_len(row.plain)
        )
        if row.line.cut:
            length += len(f" … [{row.line.cut:,} more characters]")
        if row.note:
            length += 6
        if length <= width:
            return 1
        rest = width - self._indent(row, width)
        return 1 + -(-(length - width) // rest)

    def _height_of(self, rows: list[Row]) -> int:
        if not self.wrap:
            return len(rows)
        width = self._text_width()
        return sum(self._row_height(r, width) for r in rows)

    def _total_height(self) -> int:
        shown = self.shown
        if not self.wrap:
            return len(shown)
        offsets = self._wrap_offsets()
        return offsets[-1] - self._offset_base if offsets else 0

    def _wrap_offsets(self) -> list[int]:
        """Offsets plus `_offset_base` (subtract it to get screen rows)."""
        if self._offsets is None:
            width = self._text_width()
            self._offsets = [0, *accumulate(self._row_height(r, width) for r in self.shown)]
            self._offset_base = 0
        return self._offsets

    def on_resize(self) -> None:
        self._offsets = None
        self._cache.clear()
        self.virtual_size = Size(self.virtual_size.width, self._total_height())
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _locate(self, y: int) -> tuple[int, int]:
        """Screen row y (in the virtual space) → (index in shown rows, wrapped sub-row)."""
        if not self.wrap:
            return y, 0
        offsets = self._wrap_offsets()
        y += self._offset_base
        index = bisect_right(offsets, y) - 1
        return index, y - offsets[index] if index >= 0 else 0

    def _first_y_of(self, index: int) -> int:
        return self._wrap_offsets()[index] - self._offset_base if self.wrap else index

    # -- rendering -----------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self.rich_style
        index, sub = self._locate(scroll_y + y)
        shown = self.shown
        if index < 0 or index >= len(shown):
            return Strip.blank(width, style)
        row = shown[index]
        # Wrapped rows depend on the text width too (a scrollbar can take a column).
        x = 0 if self.wrap else scroll_x
        wrap_width = self._text_width() if self.wrap else 0
        key = (row.serial, sub, self._generation, x, width, wrap_width, style)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(row, sub).crop_extend(x, x + width, style)
            self._cache[key] = strip
        return strip

    def _row_text(self, row: Row) -> Text:
        text = Text(no_wrap=True, end="")
        if self.show_timestamps:
            ts = row.line.ts
            stamp = time.strftime("%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""
            if ts:
                stamp += f".{int((ts % 1) * 1000):03d}"
            text.append(f"{stamp:<{TS_WIDTH}} ", style="dim")
        if row.source:
            text.append(f"{row.source} │ ", style=SOURCE_COLOURS[row.colour % len(SOURCE_COLOURS)])
        start = len(text)
        if row.note:
            text.append(f"── {row.plain} ──", style=NOTE_STYLE)
            return text
        body = Text.from_ansi(row.line.text) if "\x1b" in row.line.text else Text(row.line.text)
        if row.line.stderr:
            body.stylize("red", 0, len(body))
        text.append_text(body)
        if row.line.cut:
            text.append(f" … [{row.line.cut:,} more characters]", style="dim italic")
        if row is self._cursor_row:
            text.stylize("on grey23")
        if self.pattern is not None and row.match:
            for match in self.pattern.finditer(row.plain):
                if match.end() > match.start():
                    text.stylize(MATCH_STYLE, start + match.start(), start + match.end())
        return text

    def _render_row(self, row: Row, sub: int) -> Strip:
        text = self._row_text(row)
        segments = [s for s in text.render(self.app.console) if s.text and s.text != "\n"]
        if not self.wrap:
            return Strip(segments, text.cell_len)
        width = self._text_width()
        indent = self._indent(row, width)
        # Hard-wrap by cells, matching _row_height's arithmetic: the first row is `width`
        # wide, the others `width - indent` behind an indent.
        chunk: list[Segment] = [Segment(" " * indent)] if sub and indent else []
        room_of_row = width
        used = 0
        current = 0
        for seg in segments:
            text_part, seg_style = seg.text, seg.style
            while text_part:
                room = room_of_row - used
                if cell_len(text_part) <= room:
                    piece = text_part
                else:
                    piece = chop_cells(text_part, room)[0] if room > 0 else ""
                    if cell_len(piece) > room:
                        piece = ""
                if piece:
                    if current == sub:
                        chunk.append(Segment(piece, seg_style))
                    used += cell_len(piece)
                    text_part = text_part[len(piece) :]
                if text_part and (used >= room_of_row or not piece):
                    current += 1
                    if current > sub:
                        return Strip(chunk)
                    used = 0
                    room_of_row = width - indent
        return Strip(chunk)

    # -- scrolling & following -------------------------------------------------------------
    def _set_following(self, following: bool) -> None:
        if following != self.following:
            self.following = following
            self.post_message(self.FollowChanged(self, following))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        at_end = new >= self.max_scroll_y
        if new < old and not at_end:
            self._set_following(False)
        elif at_end and not self.following and new > old:
            self._set_following(True)

    def action_line_down(self) -> None:
        self.scroll_to(y=self.scroll_y + 1, animate=False)

    def action_line_up(self) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.NeedHistory(self))
        self._set_following(False)
        self.scroll_to(y=self.scroll_y - 1, animate=False)

    def action_page_up_log(self) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.NeedHistory(self))
        self._set_following(False)
        self.scroll_to(y=self.scroll_y - max(1, self.size.height - 1), animate=False)

    def action_page_down_log(self) -> None:
        self.scroll_to(y=self.scroll_y + max(1, self.size.height - 1), animate=False)

    def action_top(self) -> None:
        self._set_following(False)
        if self.scroll_y <= 0:
            self.post_message(self.NeedHistory(self))
        self.scroll_to(y=0, animate=False)

    def _follow_end(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_follow(self) -> None:
        self._set_following(True)
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_mouse_scroll_up(self) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.NeedHistory(self))

    # -- search navigation ---------------------------------------------------------------
    def jump_match(self, forward: bool = True) -> bool:
        """Move to the next (or previous) matching line; False when there is none."""
        shown = self.shown
        if self.pattern is None or not self.match_count or not shown:
            return False
        current = self._cursor_row
        try:
            start = shown.index(current) if current is not None else None
        except ValueError:
            start = None
        if start is None:
            top_index, _ = self._locate(int(self.scroll_y))
            start = top_index - 1 if forward else top_index + self.size.height
        n = len(shown)
        step = 1 if forward else -1
        i = start
        for _ in range(n):
            i = (i + step) % n
            if shown[i].match:
                self._cursor_row = shown[i]
                self._set_following(False)
                y = self._first_y_of(i)
                self.scroll_to(y=max(0, y - self.size.height // 2), animate=False)
                self._generation += 1
                self._cache.clear()
                self.refresh()
                return True
        return False

    @property
    def match_position(self) -> int | None:
        """1-based position of the current hit among all hits, for 'match 3 of 12'."""
        if self._cursor_row is None:
            return None
        count = 0
        for row in self.shown:
            count += row.match
            if row is self._cursor_row:
                return count
        return None

    def plain_lines(self) -> list[str]:
        return [row.plain for row in self.shown]
