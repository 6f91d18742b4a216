"""Command line: `dockui` opens the TUI; `dockui --version` prints the version;
`dockui layers IMAGE` analyses an image's layers without the TUI (dockui/layers_cli.py);
`dockui lint [Dockerfile]` gives Dockerfile advice (dockui/lint_cli.py);
`dockui audit IMAGE` audits an image offline (dockui/audit_cli.py)."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from dockui import __version__

GC_YOUNG_THRESHOLD = 10_000  # new container objects between two young collections (700)

# Subcommands: module, one-line help. Their modules (Dockerfile parser, lint rules, layer
# and audit readers) load only when their command runs: opening the TUI does not pay for them.
COMMANDS = {
    "layers": (
        "dockui.layers_cli",
        "analyse an image's layers (sizes, efficiency, wasted files); --json, --ci",
    ),
    "lint": ("dockui.lint_cli", "check a Dockerfile for best practices; --json, exit code for CI"),
    "audit": (
        "dockui.audit_cli",
        "audit an image offline: secrets, root, setuid, packages, scanner hand-off",
    ),
}
_TAKES_VALUE = {"-H", "--host", "-c", "--context", "--config", "--tail", "--log-lines"}


def command_in(argv: list[str]) -> str | None:
    """The subcommand `argv` asks for, if any (the first positional argument)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _TAKES_VALUE:
            skip = True
        elif arg == "--":
            return None
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | bool | None = True) -> argparse.ArgumentParser:
    """The whole parser (`True`), or one whose subcommands are named but not loaded
    except `command` (what `main` uses: `dockui --help` still lists them all)."""
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
    for name, (module, help_text) in COMMANDS.items():
        if command is True or command == name:
            importlib.import_module(module).add_parser(commands)
        else:
            commands.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(command_in(argv)).parse_args(argv)
    if getattr(args, "command", None):
        return int(args.func(args))
    from dockui import config

    def binding_ids() -> set[str]:
        from dockui.app import binding_ids

        return binding_ids()

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
    # The cyclic garbage collector's default (a young collection every 700 new objects,
    # each tenth promoting, a full walk of the heap every ~100) ran a full collection
    # every ~5 s while logs streamed, 30-110 ms each: the slowest key presses. Rarer young
    # collections keep the same bound on garbage with a tenth of the full walks; the app
    # also freezes its start-up heap (DockuiApp._freeze_heap).
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    # Connect, open the events stream and list while Python imports Textual: the engine's
    # answer time hides behind the import time (the app picks the updates up on mount).
    from dockui.engine.client import connect
    from dockui.engine.watch import Relay, Watcher

    relay = Relay()
    context = args.context
    watcher = Watcher(relay, args.host, connector=lambda a: connect(a, context=context))
    watcher.start()
    from dockui.app import DockuiApp  # import Textual only when the TUI runs

    app = DockuiApp(
        host=args.host,
        log_tail=tail,
        log_lines=log_lines,
        read_only=args.read_only,
        keymap=config.keymap(settings),
        context=args.context,
        settings=settings,
        prestarted=(watcher, relay),
    )
    try:
        app.run(mouse=not args.no_mouse)
    finally:
        watcher.stop(timeout=0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
