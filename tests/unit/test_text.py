from dockui.engine.text import clean_field, clean_line

HOSTILE = (
    "start"
    "\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07"  # OSC 52: write the clipboard
    "\x1b]0;pwned title\x1b\\"  # OSC 0: window title, ST-terminated
    "\x1b[2J\x1b[H"  # clear screen, cursor home
    "\x1bP+q544e\x1b\\"  # DCS: query the terminal
    "\x9b31m"  # 8-bit CSI
    "\x1b[31mred\x1b[0m"  # SGR
    "\x07\x08\x7f"  # bell, backspace, DEL
    "end"
)


def test_hostile_sequences_are_removed() -> None:
    out = clean_line(HOSTILE)
    assert out == "startredend"
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out


def test_unterminated_osc_cannot_swallow_the_terminal() -> None:
    assert clean_line("a\x1b]0;no terminator") == "a"


def test_plain_and_unicode_text_is_untouched() -> None:
    text = "héllo wörld — 日本語 ✓ [red]not markup[/red]"
    assert clean_line(text) is text or clean_line(text) == text
    assert clean_field(text) == text


def test_tabs_expand_and_fields_lose_newlines() -> None:
    assert clean_line("a\tb") == "a   b"
    assert clean_field("evil\nname\r\x1b[1A") == "evil name"
    assert clean_field(None) == ""
