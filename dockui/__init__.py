"""dockui: a keyboard-driven terminal UI for Docker."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dockui")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
