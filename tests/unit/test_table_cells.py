"""The one-line cell path draws what Rich's general pipeline draws: the same characters in
the same styles, cell by cell, for every justification, overflow, width, padding and
style sandwich a table uses (wide characters and styled spans included)."""

from __future__ import annotations

import itertools

from rich.console import Console
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.renderables.styled import Styled

from dockui.widgets.keyed_table import one_line_cell

CONSOLE = Console(width=200, color_system="truecolor", force_terminal=True)


def through_rich(cell: Text, width: int, padding: int, pre: Style, post: Style):
    options = CONSOLE.options.update_dimensions(width, 1).update(no_wrap=True)
    styled = Styled(Padding(cell, (0, padding)), pre_style=pre, post_style=post)
    return CONSOLE.render_lines(styled, options)


def cells_of(lines: list[list[Segment]]) -> list[list[tuple[str, Style]]]:
    """What the terminal shows: one (character, style) per character."""
    return [[(ch, seg.style or Style.null()) for seg in line for ch in seg.text] for line in lines]


def samples() -> list[Text]:
    out = []
    plains = ["", "x", "dkscale-c0501", "● created", "日本語の名前", "a" * 30, "12.5%"]
    for plain, style, justify, overflow in itertools.product(
        plains,
        ["", "dim", "bold red"],
        [None, "left", "right", "center"],
        [None, "ellipsis", "crop", "fold"],
    ):
        text = Text(plain, style=style, justify=justify, overflow=overflow)
        if len(plain) > 3:
            text.stylize("underline", 1, 3)
        out.append(text)
    return out


def test_one_line_cells_draw_what_rich_draws() -> None:
    pres = [Style(), Style(color="white", bgcolor="blue", bold=True)]
    posts = [Style(), Style(reverse=True)]
    compared = 0
    for cell, width, padding, pre, post in itertools.product(
        samples(), [1, 3, 8, 13, 31], [0, 1], pres, posts
    ):
        options = CONSOLE.options.update_dimensions(width, 1).update(no_wrap=True)
        fast = one_line_cell(CONSOLE, options, cell, width, padding, pre, post)
        if fast is None:
            assert width - 2 * padding < 1  # only a cell too narrow for its padding
            continue
        compared += 1
        want = cells_of(through_rich(cell, width, padding, pre, post))
        assert cells_of(fast) == want, (cell, cell.justify, cell.overflow, width, padding)
    assert compared > 3000


def test_what_is_not_one_simple_line_goes_through_rich() -> None:
    options = CONSOLE.options.update_dimensions(10, 1).update(no_wrap=True)
    for cell in (Text("two\nlines"), Text("a\ttab"), Text("full", justify="full")):
        assert one_line_cell(CONSOLE, options, cell, 10, 1, Style(), Style()) is None
