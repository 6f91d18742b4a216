"""Scrolling widgets whose content size never moves the screen's layout.

Textual declares `virtual_size` a layout reactive: a DataTable that gains or loses a row,
or a log view that grows, re-arranges and re-paints the whole screen (the other panes,
the key bar) on every change. A widget in a fixed box (the panes are `1fr`) only needs
its scrollbars updated and itself repainted; its scrollbars appearing or going still ask
for a layout (they are layout reactives themselves). A widget sized by its content
(`height: auto`) keeps asking for one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.geometry import Size
from textual.reactive import Reactive

if TYPE_CHECKING:
    from textual.widget import Widget

    _Base = Widget
else:
    _Base = object  # a plain mixin: a Widget base would shadow DataTable's CSS and classes


class FixedBox(_Base):
    """Mix in before the scrolling widget class: `class T(FixedBox, DataTable)`."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        height = self.styles.height
        if height is not None and height.is_auto:
            self.refresh(layout=True)
        else:
            self._scroll_update(size)
