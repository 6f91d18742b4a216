"""Border titles that repaint their border line, and only when their text changes.

Textual's `border_title`/`border_subtitle` repaint the whole widget on every assignment,
the same text included. For a pane that is the pane's whole area: the compositor then
re-renders every widget that overlaps it (its table, the neighbouring panes in the grid).
The panes set their subtitle on every list update (a count, once a second in a burst)
and the Layers pane sets both on every image the cursor rests on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.content import Content
from textual.geometry import Region

if TYPE_CHECKING:
    from textual.widget import Widget

    _Base = Widget
else:
    _Base = object  # a plain mixin, as FixedBox


class BorderText:
    """A border title (top line) or subtitle (bottom line) descriptor."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._internal_name = f"_{name}"  # where Textual's styles cache reads it
        self._raw_name = f"_{name}_raw"
        self._bottom = name == "border_subtitle"

    def __set__(self, obj: Widget, title: Text | str | Content | None) -> None:
        raw: Any = title.markup if isinstance(title, (Text, Content)) else title
        if getattr(obj, self._raw_name, _UNSET) == raw:
            return
        setattr(obj, self._raw_name, raw)
        if isinstance(title, Text):
            title = Content.from_rich_text(title)
        # As Textual's own descriptor stores it.
        new = None if title is None else obj.render_str(title).expand_tabs(4).split()[0]
        setattr(obj, self._internal_name, new)
        size = obj.outer_size
        styles = obj.styles
        edge = (styles.border_bottom if self._bottom else styles.border_top)[0]
        if not obj.is_mounted or not size or edge in ("", "none", "hidden"):
            obj.refresh()
            return
        x, y = obj.content_offset  # refresh regions are relative to the content area
        line = size.height - 1 if self._bottom else 0
        obj.refresh(Region(-x, line - y, size.width, 1))

    def __get__(self, obj: Widget | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        title: Content | None = getattr(obj, self._internal_name, None)
        return None if title is None else title.markup


_UNSET = object()


class QuietBorder(_Base):
    """Mix in before the widget class: `class Pane(QuietBorder, Vertical)`."""

    border_title = BorderText()  # type: ignore[assignment]
    border_subtitle = BorderText()  # type: ignore[assignment]
