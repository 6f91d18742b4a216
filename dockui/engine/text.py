"""Neutralise untrusted text from the engine before it can reach a terminal.

Container names, image tags, labels and log lines are written by whoever built the
image or runs the container. A raw ESC can move the cursor, clear the screen, set
the window title (OSC 0/2), write the clipboard (OSC 52) or talk to the terminal
(DCS). Everything below is removed; printable text is kept as it is.
"""

from __future__ import annotations

import re

# ESC-introduced sequences, longest forms first:
#   OSC  ESC ] ... (BEL | ESC \)      DCS/SOS/PM/APC  ESC [P X ^ _] ... ESC \
#   CSI  ESC [ params intermediates final       other  ESC + one char
_ESCAPES = re.compile(
    r"""
      \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?        # OSC, terminated or cut off
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?             # DCS, SOS, PM, APC
    | \x1b\[[0-?]*[ -/]*[@-~]?                  # CSI
    | \x1b[ -/]*[0-~]?                          # two-char escapes (and a lone ESC)
    | \x9b[0-?]*[ -/]*[@-~]?                    # 8-bit CSI
    | \x9d[^\x07\x9c]*(?:\x07|\x9c)?            # 8-bit OSC
    | [\x90\x98\x9e\x9f][^\x9c]*\x9c?           # 8-bit DCS, SOS, PM, APC
    """,
    re.VERBOSE,
)
# Remaining C0 (but tab/newline) and C1 controls, and DEL.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# SGR (colours, bold, ...): ESC [ digits/semicolons/colons m. Nothing else is kept.
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def clean_line(text: str, keep_sgr: bool = False) -> str:
    """Strip every escape sequence and control character except tab, then expand tabs.

    With `keep_sgr`, colour sequences (SGR) survive, so a log's colours can be rendered;
    every other sequence (cursor moves, clears, OSC titles/clipboard, DCS) is still removed.
    """
    if not _ANY_CONTROL.search(text):
        return text
    if keep_sgr and "\x1b[" in text:
        kept: list[str] = []

        def stash(match: re.Match[str]) -> str:
            kept.append(match.group(0))
            return f"\x00{len(kept) - 1}\x00"

        text = _SGR.sub(stash, text.replace("\x00", ""))
        text = _ESCAPES.sub("", text)
        text = _CONTROLS.sub(lambda m: "\x00" if m.group(0) == "\x00" else "", text)
        text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)
        text = text.replace("\x00", "")
        return text.replace("\n", " ").expandtabs(4)
    text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub("", text.replace("\n", " "))
    return text.expandtabs(4)


def clean_field(text: str | None) -> str:
    """A one-line field (name, tag, label value): no controls at all, newlines become spaces."""
    if not text:
        return ""
    if not _ANY_CONTROL.search(text):
        return text
    text = _ESCAPES.sub("", text)
    return _ANY_CONTROL.sub(" ", text).strip()


def strip_sgr(text: str) -> str:
    """Plain text of a line cleaned with keep_sgr (for saving to a file, searching)."""
    return _SGR.sub("", text) if "\x1b" in text else text
