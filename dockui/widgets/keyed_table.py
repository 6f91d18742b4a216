"""A DataTable that is updated in place, keyed by object id.

Rows are never rebuilt wholesale: a change updates the cells that differ, a new
object adds a row, a gone object removes one, and the order is restored with one
sort. The cursor stays on the same object across updates; when that object goes,
the cursor keeps its place on the row that took it.

The work of an update is proportional to what changed, not to the table: sort keys
and column content widths are kept per row, the order is recomputed only when a
sort key changed or a row came, and many rows leave in one pass (DataTable's own
`remove_row` renumbers every row, which made a 500-container removal quadratic).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, Generic, TypeVar

from rich.console import Console, ConsoleOptions
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region, Size, Spacing
from textual.renderables.styled import Styled
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, CellKey, ColumnKey, Row, RowKey

from dockui.widgets.fixedbox import FixedBox

T = TypeVar("T")
CELL_CACHE_SIZE = 1024  # rendered cells kept: a screenful of rows, with cursor variants
LINE_CACHE_SIZE = 256  # assembled lines kept: a tall screenful, with cursor variants
META_CACHE_SIZE = 20_000  # styles with click metadata kept: (style, row, column) slots
USEFUL_WIDTH = 8  # an optional column squeezed below this is dropped instead


class KeyText(Text):
    """A cell that remembers its row key, so `sort` can order rows by our own rank."""

    row_key: Hashable = None


@dataclass(frozen=True)
class Column:
    """A column that sizes itself to its content within [min_width, max_width].

    When the pane is too narrow, columns give up width in `shrink` order (lowest
    first) down to their `min_width`; a column with min_width 0 may vanish.
    """

    key: str
    label: str
    min_width: int = 4
    max_width: int = 40
    shrink: int = 0
    # Take max_width as soon as any row shows something: for figures that change every
    # few seconds (CPU, memory), whose column would otherwise jitter and re-lay the table.
    steady: bool = False


def _plain(cells: tuple[Text, ...]) -> tuple[str, ...]:
    return tuple(t.plain for t in cells)


def _looks(cell: Text) -> tuple[Any, ...]:
    """A cell's styling (its text aside): what else makes an update visible."""
    return (cell.style, *cell.spans)


class NavTable(DataTable):
    """A DataTable that also moves with j/k and g/G."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]


_LINE_JUSTIFY = frozenset({"default", "left", "right", "center"})


def one_line_cell(
    console: Console,
    options: ConsoleOptions,
    cell: Text,
    width: int,
    padding: int,
    pre_style: Style,
    post_style: Style,
) -> list[list[Segment]] | None:
    """A one-line Text cell as `console.render_lines(Styled(Padding(cell, (0, padding)),
    pre_style, post_style), options)` renders it (the same characters in the same styles),
    without Rich's general pipeline: measuring, wrapping and splitting into lines took
    ~100 µs a cell, and a burst that scrolls new rows into view renders a screenful of
    them. None when the cell is not this simple case (several lines, tabs, "full"
    justification, too narrow): the caller renders it through Rich."""
    inner = width - 2 * padding
    plain = cell.plain
    justify = cell.justify or options.justify or "default"
    if (
        inner < 1
        or "\n" in plain
        or "\t" in plain
        or cell.end != "\n"
        or justify not in _LINE_JUSTIFY
    ):
        return None
    overflow = cell.overflow or options.overflow or "fold"
    lines = cell.wrap(console, inner, justify=justify, overflow=overflow, no_wrap=True)
    if len(lines) != 1:
        return None
    line = lines[0]
    null = Style.null()
    segments: list[Segment] = []
    if padding:
        segments.append(Segment(" " * padding, null))
    segments += Text("\n").join(lines).render(console)  # join: the line's style as a span
    if line.cell_len < inner:  # Padding fills what the text leaves (justify "default")
        segments.append(Segment(" " * (inner - line.cell_len), null))
    if padding:
        segments.append(Segment(" " * padding, null))
    return [list(Segment.apply_style(segments, style=pre_style, post_style=post_style))]


class KeyedTable(FixedBox, NavTable, Generic[T]):
    """(FixedBox: a row in or out repaints this table, not the screen.)"""

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """A body cell, rendered through Rich once per distinct content.

        DataTable keys its cell cache on a counter that every update bumps: one CPU
        figure changing (every second with stats shown), or one row leaving in a burst,
        re-rendered every visible cell through Rich. Here a rendering is kept by what the
        cell shows (text, styles, layout) and how (row style, width, cursor state): an
        unchanged cell is not rendered again, and the many cells that read the same
        (an image name, "● created", an empty CPU column, "3m") are rendered once for
        all rows, which is what a burst of rows scrolling into view needs. The row/column
        click metadata, which moves with the row's index, is added on the way out.
        """
        if row_index < 0 or column_index < 0:  # header and row labels: as DataTable does
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        row = self.rows.get(row_key) if row_key is not None else None
        cell = self._data.get(row_key, {}).get(column_key) if row is not None else None
        if row is None or row.height != 1 or not isinstance(cell, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        state = self._pass_state or self._cell_state()
        show_cursor, show_hover, pseudo, padding, fixed_rows, fixed_columns = state
        fixed = row_index < fixed_rows or column_index < fixed_columns
        key = (
            cell.plain,
            cell.style,
            tuple(cell.spans),
            cell.justify,
            cell.overflow,
            cell.no_wrap,
            base_style,
            cursor,
            hover,
            show_cursor,
            show_hover,
            pseudo,
            width,
            fixed,
            padding,
        )
        lines = self._cell_lines.get(key)
        if lines is None:
            component_style, post_style = self._get_styles_to_render_cell(
                False,
                False,
                fixed,
                hover,
                cursor,
                show_cursor,
                show_hover,
                self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css",
            )
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            pre_style = base_style + component_style
            lines = one_line_cell(
                self.app.console, options, cell, width, padding, pre_style, post_style
            )
            if lines is None:
                lines = self.app.console.render_lines(
                    Styled(
                        Padding(cell, (0, padding)),
                        pre_style=pre_style,
                        post_style=post_style,
                    ),
                    options,
                )
            self._cell_lines[key] = lines
        # Each style with this cell's click metadata, combined once per (style, row,
        # column): Rich's `Style.__add__` hashes and compares styles in Python, and was
        # most of re-assembling a screenful of lines when a removal shifted them.
        metas = self._meta_styles
        if len(metas) > META_CACHE_SIZE:
            metas.clear()
        meta: Style | None = None
        out: list[list[Segment]] = []
        for line in lines:
            segments = []
            for text, style, control in line:
                slot = (id(style), row_index, column_index)
                hit = metas.get(slot)
                if hit is None:  # (the entry holds the style, so its id stays unique)
                    if meta is None:
                        meta = Style.from_meta({"row": row_index, "column": column_index})
                    hit = metas[slot] = (style, style + meta if style else meta)
                segments.append(Segment(text, hit[1], control))
            out.append(segments)
        return out

    def _cell_state(self) -> tuple[bool, bool, Any, int, int, int]:
        """What every cell's look depends on besides its content and row: read once per
        repaint (reactives and the pseudo-class state are slow to read per cell)."""
        return (
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
            self.cell_padding,
            self.fixed_rows,
            self.fixed_columns,
        )

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A body line, assembled again only when its row changed.

        DataTable keys its line and row caches on the update counter and on the cursor's
        and hover's coordinates: a CPU figure changing in one row, or a key moving the
        cursor, re-assembled every visible line from its cells. Here a line is kept while
        its row holds the same cell objects at the same index (click metadata carries the
        index) and its cursor/hover state, crop, width and styles are unchanged.
        """
        width = self.size.width
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        if row_key is self._header_row_key and self._flat():
            return self._header_line(y, x1, x2, width, base_style)
        row_index = self._row_locations.get(row_key)
        data = self._data.get(row_key)
        if (
            row_index is None
            or data is None
            or self.cursor_type != "row"
            or self.fixed_columns
            or self._labelled_row_exists
        ):
            return super()._render_line(y, x1, x2, base_style)
        cells = tuple(data.values())
        key = (
            row_key,
            line_no,
            row_index,
            x1,
            x2,
            width,
            base_style,
            self.cursor_coordinate.row == row_index,
            self.hover_coordinate.row == row_index,
            self.show_cursor,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        hit = self._line_strips.get(key)
        if (
            hit is not None
            and len(hit[0]) == len(cells)
            and all(a is b for a, b in zip(hit[0], cells, strict=True))
        ):
            return hit[1]
        strip = self._assemble_line(row_index, x1, x2, width, base_style)
        if hit is not None:
            self._line_strips.discard(key)  # Textual's LRUCache.set keeps an old value
        self._line_strips[key] = (cells, strip)  # the cells held: their ids are not reused
        return strip

    def _header_line(self, y: int, x1: int, x2: int, width: int, base_style: Style) -> Strip:
        """The header, rendered again only when what it shows changed: DataTable keys it
        on the update counter, so each update re-rendered every label through Rich."""
        labels = tuple(
            (c.key, c.label.plain, c.label.style, tuple(c.label.spans), c.get_render_width(self))
            for c in self.ordered_columns
        )
        key = (
            y,
            x1,
            x2,
            width,
            base_style,
            labels,
            self.header_height,
            self.cursor_type,
            self.cursor_coordinate.column,
            self.hover_coordinate,
            self._pass_state or self._cell_state(),
        )
        hit = self._header_strip
        if hit is not None and hit[0] == key:
            return hit[1]
        strip = super()._render_line(y, x1, x2, base_style)
        self._header_strip = (key, strip)
        return strip

    def _assemble_line(
        self, row_index: int, x1: int, x2: int, width: int, base_style: Style
    ) -> Strip:
        """A one-line body row, as DataTable's `_render_line` builds it for a row cursor
        without fixed columns or row labels, without what it recomputes for every row:
        the header style and the DOM's background colours (two walks up the DOM each),
        the columns' order and widths. A burst that scrolls new rows into view
        assembles every line on screen each time."""
        cursor = self.cursor_coordinate.row == row_index
        hover = self.hover_coordinate.row == row_index
        row_style = self._get_row_style(row_index, base_style)
        render_cell = self._render_cell
        segments: list[Segment] = []
        table_width = self._row_label_column_width
        show_cursor, show_hover, *_ = self._pass_state or self._cell_state()
        for column_index, column in enumerate(self.ordered_columns):
            cell_width = column.get_render_width(self)
            table_width += cell_width
            cell = render_cell(row_index, column_index, row_style, cell_width, cursor, hover)
            segments += cell[0]
        extend_style, _ = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, show_cursor, show_hover, False, False
        )
        extend_style = row_style + extend_style
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * max(0, self.size.width - table_width), extend_style))
        strip = Strip(line_crop(segments, x1, x2, width))
        return strip.adjust_cell_length(width, base_style).simplify()

    def _clear_own_caches(self) -> None:
        for cache in (
            getattr(self, "_cell_lines", None),
            getattr(self, "_line_strips", None),
            getattr(self, "_meta_styles", None),
        ):
            if cache is not None:  # (DataTable may clear before __init__ made them)
                cache.clear()
        self._header_strip = None

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._clear_own_caches()

    def notify_style_update(self) -> None:
        super().notify_style_update()  # a theme or CSS change restyles every cell
        self._clear_own_caches()

    # -- sizes: our columns have set widths ----------------------------------------------
    # fit_columns sizes every column from the plain-text widths kept per row
    # (`_width_counts`), so DataTable's own measuring is wasted work here: on idle it
    # measures every cell of every new row through Rich (7,000 measurements for the first
    # 1,000 containers), and for every updated cell that got narrower it measures the
    # whole column again (every CPU figure that shrank, each stats tick).
    def _measures(self) -> bool:
        return self._labelled_row_exists or any(c.auto_width for c in self.columns.values())

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        if self._measures():
            super()._update_column_widths(updated_cells)
            return
        self._require_update_dimensions = True

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        if self._measures() or any(
            (row := self.rows.get(key)) is not None and (row.auto_height or row.label is not None)
            for key in new_rows
        ):
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + self._header_lines
        )

    # -- geometry: every row is one line high (rows are only added by _add_rows) -----
    # DataTable finds a line's row, a row's region and the fixed offset by walking
    # `ordered_rows`, a list it sorts again whenever its update counter moves, and every
    # cell update moves it: a 1,000-row sort for each CPU figure, age or key press.
    def _flat(self) -> bool:
        return not self.fixed_rows and not self._labelled_row_exists

    @property
    def _header_lines(self) -> int:
        return self.header_height if self.show_header else 0

    def _get_offsets(self, y: int) -> tuple[RowKey, int]:
        if not self._flat():
            return super()._get_offsets(y)
        header = self._header_lines
        if 0 <= y < header:
            return self._header_row_key, y
        row_key = self._row_locations.get_key(y - header)
        if row_key is None:
            raise LookupError(f"Y coord {y!r} is greater than total height")
        return row_key, 0

    @property
    def _total_row_height(self) -> int:
        return len(self.rows) if self._flat() else super()._total_row_height

    def _row_y(self, row_index: int) -> int:
        return row_index + self._header_lines

    def _get_row_region(self, row_index: int) -> Region:
        if not self._flat() or not self.is_valid_row_index(row_index):
            return super()._get_row_region(row_index)
        width = sum(c.get_render_width(self) for c in self.columns.values())
        width += self._row_label_column_width
        return Region(0, self._row_y(row_index), max(self.size.width, width), 1)

    def _get_cell_region(self, coordinate: Coordinate) -> Region:
        row_index, column_index = coordinate
        if not self._flat() or not self.is_valid_coordinate(coordinate):
            return super()._get_cell_region(coordinate)
        x = self._row_label_column_width + sum(
            c.get_render_width(self) for c in self.ordered_columns[:column_index]
        )
        column = self.columns[self._column_locations.get_key(column_index)]
        return Region(x, self._row_y(row_index), column.get_render_width(self), 1)

    def _get_fixed_offset(self) -> Spacing:
        if not self._flat() or self.fixed_columns:
            return super()._get_fixed_offset()
        return Spacing(self._header_lines, 0, 0, self._row_label_column_width)

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Any,
        *,
        update_width: bool = False,
    ) -> None:
        """As DataTable's, but only the cell's row is repainted, not the whole table: a
        CPU figure or an age that changed re-drew every visible line (through the styles
        cache, and the compositor) of a 40-line pane."""
        if update_width or not self._flat():
            super().update_cell(row_key, column_key, value, update_width=update_width)
            return
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        row_index = self._row_locations.get(row_key)
        if row_index is None or column_key not in self._column_locations:
            raise CellDoesNotExist(
                f"No cell exists for row_key={row_key!r}, column_key={column_key!r}."
            )
        self._data[row_key][column_key] = value
        self._update_count += 1
        self._refresh_region(self._get_row_region(row_index))

    # -- one base style per repaint ------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        # DataTable.render_line asks for `rich_style` (a walk up the DOM, blending the
        # ancestors' backgrounds) once per line; it cannot change within one repaint.
        self._pass_style = None
        self._pass_state = self._cell_state()
        try:
            return super().render_lines(crop)
        finally:
            self._pass_style = None
            self._pass_state = None

    def render_line(self, y: int) -> Strip:
        if not self._flat():
            return super().render_line(y)
        style = self._pass_style
        if style is None:
            style = self._pass_style = self.rich_style
        scroll_x, scroll_y = self.scroll_offset
        if y >= self._header_lines:
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + self.size.width, style)

    def __init__(
        self,
        columns: list[Column],
        render_row: Callable[[T], tuple[Text, ...]],
        key_of: Callable[[T], str],
        sort_key: Callable[[T], Any],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.columns_spec = columns
        self.render_row = render_row
        self.key_of = key_of
        self._sort_key = sort_key
        self.objects: dict[str, T] = {}
        self._pass_style: Style | None = None  # the base style of the repaint under way
        self._pass_state: tuple[bool, bool, Any, int, int, int] | None = None  # ... its state
        # (id(style), row, column) -> (style, style with that cell's click metadata)
        self._meta_styles: dict[tuple[int, int, int], tuple[Style | None, Style]] = {}
        self._header_strip: tuple[tuple[Any, ...], Strip] | None = None
        self._cell_lines: LRUCache[tuple[Any, ...], list[list[Segment]]] = LRUCache(CELL_CACHE_SIZE)
        self._line_strips: LRUCache[tuple[Any, ...], tuple[tuple[Any, ...], Strip]] = LRUCache(
            LINE_CACHE_SIZE
        )
        # The rendered cells of every shown row, all columns (not only those shown): what
        # an update is compared with, and what a change in the shown columns re-creates
        # the rows from without rendering 1,000 objects again.
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._ranks: dict[str, Any] = {}  # sort key of every shown row
        self._resort = False  # the sort key function changed: order again on the next sync
        # Per column: content width → how many shown rows have it (fit_columns reads the max).
        self._width_counts: list[dict[int, int]] = [{} for _ in columns]
        self._order: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        # The row the cursor was left on by the last update (not by a key press).
        self.synced_key: str | None = None
        # Rows to leave out whatever the filter says (e.g. a collapsed group's members).
        self.hidden: Callable[[T], bool] | None = None
        # Rows that keep their place while this says so, whatever their sort key now
        # (a container being removed: it leaves in a moment, and re-sorting it first
        # carried a cursor on it, and the view, to the far end of the list).
        self.keep_place: Callable[[T], bool] | None = None

    @property
    def sort_key(self) -> Callable[[T], Any]:
        return self._sort_key

    @sort_key.setter
    def sort_key(self, key: Callable[[T], Any]) -> None:
        self._sort_key = key
        self._ranks = {k: key(self.objects[k]) for k in self._cells}
        self._resort = True

    def on_mount(self) -> None:
        self._widths: tuple[int, ...] = ()
        self._shown: tuple[int, ...] = tuple(range(len(self.columns_spec)))
        for col in self.columns_spec:
            self.add_column(col.label, key=col.key, width=len(col.label))

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Give each column the width its content needs, shrinking to fit the pane.

        Columns that shrink to nothing are taken out of the table (their padding
        would still cost room); they come back when the pane is wide enough.
        """
        width = self.scrollable_content_region.width
        if not width:
            return
        specs = self.columns_spec
        desired = []
        for i, col in enumerate(specs):
            content = max(self._width_counts[i], default=0)
            if col.steady and content:
                content = col.max_width
            desired.append(max(col.min_width, min(col.max_width, max(content, len(col.label)))))
        shown = set(range(len(specs)))
        pad = 2 * self.cell_padding

        def deficit() -> int:
            return sum(desired[i] + pad for i in shown) - width

        for i in sorted(range(len(specs)), key=lambda i: specs[i].shrink):
            short = deficit()
            if short <= 0:
                break
            if specs[i].min_width == 0 and desired[i] - short < min(desired[i], USEFUL_WIDTH):
                shown.discard(i)  # a sliver helps nobody; dropping it frees its padding too
                continue
            give = min(short, desired[i] - max(specs[i].min_width, 1))
            desired[i] -= give
        shown_t = tuple(sorted(shown))
        widths = tuple(desired[i] for i in shown_t)
        if shown_t != self._shown:
            self._shown = shown_t
            self._widths = ()
            self._rebuild()
        if widths == self._widths:
            return
        self._widths = widths
        self._line_strips.clear()  # (cells are keyed by width already)
        for i, width_i in zip(shown_t, widths, strict=True):
            column = self.columns[ColumnKey(specs[i].key)]
            column.width = width_i
            column.auto_width = False
        self._require_update_dimensions = True
        self.refresh()

    def _row_cells(self, key: str, cells: tuple[Text, ...]) -> tuple[Text, ...]:
        first = KeyText.assemble(cells[self._shown[0]]) if self._shown else KeyText()
        first.row_key = key
        rest = tuple(cells[i] for i in self._shown[1:])
        return (first, *rest)

    def _rebuild(self) -> None:
        """Re-create the columns that are shown (the pane width crossed a step, or a column
        emptied or filled: CPU/Mem when the last running container goes in a burst). The
        rows keep the cells they were last rendered with: nothing is rendered again."""
        cursor_key = self.selected_key
        self.clear(columns=True)
        for i in self._shown:
            col = self.columns_spec[i]
            self.add_column(col.label, key=col.key, width=len(col.label))
        cells = self._cells
        self._add_rows([(key, self._row_cells(key, cells[key])) for key in self._order])
        if cursor_key is not None and cursor_key in self._cells:
            self.move_cursor(row=self.get_row_index(cursor_key), animate=False)

    # -- public -------------------------------------------------------------------------
    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key((self.cursor_row, 0))
        except Exception:
            return None
        return row_key.value

    @property
    def selected(self) -> T | None:
        key = self.selected_key
        return self.objects.get(key) if key else None

    def keys_between(self, start: int, stop: int) -> list[str]:
        """Keys of the rows at indexes start..stop-1 (those on screen, say), without
        DataTable's `ordered_rows`, which sorts every row again after any update."""
        get_key = self._row_locations.get_key
        keys = (get_key(i) for i in range(max(0, start), min(stop, self.row_count)))
        return [key.value for key in keys if key is not None]

    def visible_keys(self) -> list[str]:
        """Keys of the rows in the viewport now."""
        top = int(self.scroll_y)
        return self.keys_between(top, top + self.size.height)

    @property
    def visible_count(self) -> int:
        return len(self._order)

    def update_objects(
        self, upserts: Iterable[T], removed: Iterable[str] = (), full: bool = False
    ) -> None:
        """Apply a delta (or a full list when `full`) to the table."""
        upserts = list(upserts)
        if full:
            keep = {self.key_of(o) for o in upserts}
            removed = [k for k in self.objects if k not in keep]
        removed = list(removed)
        for key in removed:
            self.objects.pop(key, None)
        for obj in upserts:
            self.objects[self.key_of(obj)] = obj
        self._sync(changed={self.key_of(o) for o in upserts}, removed=removed)

    def rerender(self, keys: Iterable[str] | None = None) -> None:
        """Re-render rows (all, or `keys`), e.g. for times that tick; only differing cells
        are touched."""
        changed = set(self.objects) if keys is None else {k for k in keys if k in self.objects}
        if changed:
            self._sync(changed=changed)

    def stale(
        self,
        column: str,
        text_of: Callable[[T], str | None],
        keys: Iterable[str] | None = None,
    ) -> list[str]:
        """Keys of rows (all, or among `keys`) whose `column` no longer shows
        `text_of(obj)` (None: skip the row).

        For texts that change with time (an age): finding the few rows to re-render costs
        one string per row, where re-rendering all of them built a thousand rows of cells
        twice a minute (and each pass left the heap a little larger)."""
        index = next(i for i, c in enumerate(self.columns_spec) if c.key == column)
        out = []
        objects = self.objects
        for key in objects if keys is None else keys:
            cells = self._cells.get(key)
            obj = objects.get(key)
            if cells is None or obj is None:
                continue  # filtered out: rendered when it shows again
            text = text_of(obj)
            if text is not None and cells[index].plain != text:
                out.append(key)
        return out

    def set_filter(self, query: str) -> None:
        if not query:
            self._pattern = None
        else:
            try:
                self._pattern = re.compile(query, re.IGNORECASE)
            except re.error:
                self._pattern = re.compile(re.escape(query), re.IGNORECASE)
        self._sync(changed=set(self.objects))

    def select_key(self, key: str) -> bool:
        if key not in self._cells:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True

    # -- internals ----------------------------------------------------------------------
    def _visible(self, key: str, cells: tuple[str, ...]) -> bool:
        obj = self.objects.get(key)
        if obj is not None and self.hidden is not None and self.hidden(obj):
            return False
        return self._pattern is None or any(self._pattern.search(c) for c in cells)

    def _count_widths(self, plain: tuple[str, ...], step: int) -> None:
        for counts, text in zip(self._width_counts, plain, strict=False):
            n = len(text)
            left = counts.get(n, 0) + step
            if left:
                counts[n] = left
            else:
                del counts[n]

    def _drop_rows(self, keys: list[str]) -> None:
        """Remove rows in a single renumbering pass (DataTable's `remove_row` renumbers
        every row for each one, and lays out the whole screen)."""
        for key in keys:
            old = self._cells.pop(key)
            self._count_widths(_plain(old), -1)
            self._ranks.pop(key, None)
        gone = {RowKey(k) for k in keys}
        for row_key in gone:
            for column_key in self._data.get(row_key, {}):
                self._updated_cells.discard(CellKey(row_key, column_key))
            self.rows.pop(row_key, None)
            self._data.pop(row_key, None)
        kept = sorted(
            (index, row_key)
            for row_key, index in self._row_locations._forward.items()
            if row_key not in gone
        )
        self._row_locations = TwoWayDict({row_key: i for i, (_, row_key) in enumerate(kept)})
        self._require_update_dimensions = True
        self.check_idle()
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        # Not DataTable's refresh(layout=True): the new height reaches the scrollbars
        # through virtual_size (see FixedBox), and nothing else moves.
        self.refresh()

    def _add_rows(self, rows: list[tuple[str, tuple[Text, ...]]]) -> None:
        """Append rows in one pass: DataTable's `add_row` sets the cursor reactive (and runs
        its validators and watchers) and bumps the update counter for every row, which was
        most of the first list of 1,000 containers."""
        if not rows:
            return
        was_empty = not self.row_count
        ordered = self.ordered_columns
        locations, data, table_rows = self._row_locations, self._data, self.rows
        new = self._new_rows
        index = len(locations)
        for key, cells in rows:
            row_key = RowKey(key)
            locations[row_key] = index
            index += 1
            data[row_key] = {column.key: cell for column, cell in zip_longest(ordered, cells)}
            table_rows[row_key] = Row(row_key, 1)
            new.add(row_key)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # as add_row does for the first row
        self._update_count += 1
        self.check_idle()

    def _sync(self, changed: set[str], removed: Iterable[str] = ()) -> None:
        cursor_key = self.selected_key
        cursor_row = self.cursor_row
        rendered: dict[str, tuple[Text, ...]] = {}
        for key in changed:
            obj = self.objects.get(key)
            if obj is not None:
                rendered[key] = self.render_row(obj)
        plains = {key: _plain(cells) for key, cells in rendered.items()}
        # Rows to drop: gone objects, and rows the filter now hides.
        drop = [k for k in dict.fromkeys(removed) if k in self._cells and k not in self.objects]
        drop += [k for k in rendered if k in self._cells and not self._visible(k, plains[k])]
        if drop:
            self._drop_rows(drop)
            self._order = [k for k in self._order if k in self._cells]
        reorder, self._resort = self._resort, False
        sort_key, keep_place = self._sort_key, self.keep_place
        was_empty = not self._cells
        new_rows: list[tuple[str, tuple[Text, ...]]] = []
        for key, cells in rendered.items():
            plain = plains[key]
            if not self._visible(key, plain):
                continue
            obj = self.objects[key]
            if keep_place is not None and key in self._ranks and keep_place(obj):
                rank = self._ranks[key]
            else:
                rank = sort_key(obj)
            if key not in self._cells:
                new_rows.append((key, self._row_cells(key, cells)))
                self._count_widths(plain, +1)
            else:
                old = self._cells[key]
                old_plain = _plain(old)
                row = self._row_cells(key, cells)
                for value, i in zip(row, self._shown, strict=True):
                    if plain[i] != old_plain[i] or _looks(cells[i]) != _looks(old[i]):
                        self.update_cell(key, self.columns_spec[i].key, value)
                if old_plain != plain:
                    self._count_widths(old_plain, -1)
                    self._count_widths(plain, +1)
                reorder = reorder or rank != self._ranks.get(key)
            self._cells[key] = cells
            self._ranks[key] = rank
        added = bool(new_rows)
        if was_empty and added:
            # A first list goes in already in order: no sort of the table afterwards.
            new_rows.sort(key=lambda row: self._ranks[row[0]])
            self._add_rows(new_rows)
            self._order = [key for key, _ in new_rows]
            added = reorder = False
        else:
            self._add_rows(new_rows)
        # Restore the order with one sort, only when it may have changed.
        if added or reorder:
            order = sorted(self._cells, key=self._ranks.__getitem__)
            if added or order != self._order:
                position = {k: i for i, k in enumerate(order)}
                self.sort(key=lambda values: position[values[0].row_key])
                self._order = order
        self.fit_columns()
        if cursor_key is not None and cursor_key in self._cells:
            target = self.get_row_index(cursor_key)
        else:
            target = min(cursor_row, max(0, self.row_count - 1))
        if self.row_count and target != self.cursor_row:
            self.move_cursor(row=target, animate=False)
        self.synced_key = self.selected_key
