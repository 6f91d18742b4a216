"""Command line: `dockui` opens the TUI; `dockui --version` prints the version;
`dockui layers IMAGE` analyses an image's layers without the TUI (dockui/layers_cli.py);
`dockui lint [Dockerfile]` gives Dockerfile advice (dockui/lint_cli.py);
`dockui audit IMAGE` audits an image offline (dockui/audit_cli.py)."""

from __future__ import annotations

import argparse
import sys

from dockui import __version__, audit_cli, layers_cli, lint_cli


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
        "-c", "--context", help="docker context to use (overrides DOCKER_HOST and DOCKER_CONTEXT)"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: $XDG_CONFIG_HOME/dockui/config.toml)",
    )
    parser.add_argument(
        "--tail",
        type=int,
        default=None,
        metavar="N",
        help="log lines to load first when following a container (default 1000, or [logs] tail)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="never change anything on the engine (viewing, logs and analysis still work)",
    )
    parser.add_argument(
        "--no-mouse", action="store_true", help="ignore the mouse (keyboard only; plain SSH)"
    )
    parser.add_argument(
        "--log-lines",
        type=int,
        default=None,
        metavar="N",
        help="log lines kept in memory per view, oldest dropped first (default 10000)",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands (without one, the TUI opens)"
    )
    layers_cli.add_parser(commands)
    lint_cli.add_parser(commands)
    audit_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None):
        return int(args.func(args))
    from dockui import config
    from dockui.app import DockuiApp, binding_ids  # import Textual only when the TUI runs

    try:
        settings = config.load(args.config, known_bindings=binding_ids)
    except config.SettingsError as exc:
        print(f"dockui: bad settings: {exc}", file=sys.stderr)
        return 2
    if args.context and args.host:
        print("dockui: give --context or --host, not both", file=sys.stderr)
        return 2
    tail = settings.logs.tail if args.tail is None else args.tail
    log_lines = settings.logs.max_lines if args.log_lines is None else args.log_lines
    if tail < 0:
        print("dockui: --tail must be 0 or more", file=sys.stderr)
        return 2
    if log_lines < 100:
        print("dockui: --log-lines must be at least 100", file=sys.stderr)
        return 2
    app = DockuiApp(
        host=args.host,
        log_tail=tail,
        log_lines=log_lines,
        read_only=args.read_only,
        keymap=config.keymap(settings),
        context=args.context,
        settings=settings,
    )
    app.run(mouse=not args.no_mouse)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
