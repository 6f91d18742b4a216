"""Opening the TUI must not load what only the subcommands need (start-up time)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockui import cli


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], None),
        (["--read-only"], None),
        (["lint"], "lint"),
        (["--tail", "5", "layers", "img"], "layers"),
        (["-H", "layers"], None),  # the host is called "layers"
        (["--config=x.toml", "audit", "img"], "audit"),
        (["--", "lint"], None),
        (["nonsense"], None),
    ],
)
def test_command_in(argv: list[str], command: str | None) -> None:
    assert cli.command_in(argv) == command


def test_the_tui_path_does_not_import_the_subcommands() -> None:
    code = (
        "import sys\n"
        "from dockui import cli\n"
        "args = cli.build_parser(cli.command_in(['--read-only'])).parse_args(['--read-only'])\n"
        "assert args.read_only and not args.command\n"
        "from dockui import app\n"
        "heavy = ['dockui.lint_cli', 'dockui.engine.lint', 'dockui.engine.dockerfile',\n"
        "         'dockui.layers_cli', 'dockui.audit_cli', 'dockui.engine.audit']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_still_lists_every_command() -> None:
    text = cli.build_parser(None).format_help()
    assert all(name in text for name in cli.COMMANDS)
    # and a subcommand gets its real parser when asked for
    args = cli.build_parser("lint").parse_args(["lint", "--json"])
    assert args.command == "lint" and args.json
