"""One sentence for an engine error, without importing docker (duck-typed)."""

from __future__ import annotations

from dockui.engine.text import clean_line


def describe_error(exc: BaseException) -> str:
    """The engine's own sentence for an API error (docker-py puts it in `.explanation`),
    else the first line of the exception; cleaned, since the engine's text is untrusted."""
    explanation = getattr(exc, "explanation", None)
    text = str(explanation) if explanation else str(exc)
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.strerror}: {exc.filename}"
    text = text.strip()
    return clean_line(text.splitlines()[0]) if text else type(exc).__name__
