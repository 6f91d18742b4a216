"""The key bar at the bottom: one line of text, not a widget per key.

Textual's Footer re-composes a widget per binding whenever the focus moves (Tab between
panes): ~20 widgets mounted and styled, and a full-screen repaint, on every press — the
slowest part of a key press in dockui (profiled: most of a Tab's time). This bar renders
the same keys as one line of text and repaints only itself, only when the text changes.
Clicking a key still presses it.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()
        self._keys: list[tuple[int, int, str]] = []  # (start, end, key) for clicks
        self._styles_for: str | None = None
        self._style_cache = (Style(), Style(), Style())

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._rebuild()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self._rebuild()

    def _styles(self) -> tuple[Style, Style, Style]:
        theme = self.app.theme
        if self._styles_for != theme:  # the theme's colours, worked out once per theme
            variables = self.app.get_css_variables()
            key = Style.parse(f"bold {variables.get('footer-key-foreground', 'yellow')}")
            text = Style.parse(variables.get("footer-description-foreground", "default"))
            self._style_cache = (key, text, Style(dim=True))
            self._styles_for = theme
        return self._style_cache

    def _rebuild(self) -> None:
        active = self.screen.active_bindings
        key_style, text_style, dim = self._styles()
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        spans: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tip in active.values():
            if not binding.show or binding.action in seen:
                continue  # one entry per action, as Textual's footer shows them
            seen.add(binding.action)
            start = len(out)
            out.append(" " + self.app.get_key_display(binding) + " ", key_style)
            out.append(binding.description + " ", text_style if enabled else dim)
            spans.append((start, len(out), binding.key))
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if self.app.ENABLE_COMMAND_PALETTE and palette is not None:
            tail = Text.assemble(
                (" " + self.app.get_key_display(palette.binding) + " ", key_style),
                (palette.binding.description + " ", text_style),
            )
            width = self.size.width or 80
            gap = width - len(out) - len(tail)
            if gap > 0:
                out.append(" " * gap)
                start = len(out)
                out.append_text(tail)
                spans.append((start, len(out), palette.binding.key))
        self._keys = spans
        if out.plain != self._text.plain or out.spans != self._text.spans:
            self._text = out
            self.refresh()

    def on_resize(self) -> None:
        self._rebuild()

    def render(self) -> Text:
        return self._text

    @property
    def plain(self) -> str:
        return self._text.plain

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._keys:
            if start <= event.x < end:
                self.app.simulate_key(key)  # like Textual's footer keys
                return
