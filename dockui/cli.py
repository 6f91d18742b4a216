"""Command line: `dockui` opens the TUI; `dockui --version` prints the version."""

from __future__ import annotations

import argparse
import sys

from dockui import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockui",
        description="A keyboard-driven terminal UI for Docker.",
        epilog="The engine is found like the docker CLI finds it: --host, else DOCKER_HOST, "
        "else unix:///var/run/docker.sock.",
    )
    parser.add_argument("--version", action="version", version=f"dockui {__version__}")
    parser.add_argument(
        "-H", "--host", help="engine address, e.g. unix:///var/run/docker.sock or tcp://HOST:2376"
    )
    parser.add_argument(
        "--tail", type=int, default=500, metavar="N", help="log lines to show first (default 500)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.tail < 0:
        print("dockui: --tail must be 0 or more", file=sys.stderr)
        return 2
    from dockui.app import DockuiApp  # import Textual only when the TUI runs

    DockuiApp(host=args.host, log_tail=args.tail).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
