"""dockui: a keyboard-driven terminal UI for Docker."""

# The one place the version lives (pyproject.toml reads it from here): a literal, because
# importlib.metadata cost ~13 ms of every start-up.
__version__ = "0.1.0"

__all__ = ["__version__"]
