"""Run an image: name, ports (prefilled from EXPOSE), env, volumes, restart policy and
command, with the equivalent `docker run …` line shown as you type. Syntax is checked
here; what needs the engine (a taken port, a used name) is checked by the app before
anything is created, and its problems come back to the field they belong to."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from dockui.engine.run import (
    RESTART_POLICIES,
    PortMapping,
    Problem,
    RunSpec,
    VolumeMount,
    docker_cli_line,
    parse_restart,
    validate,
)


class RunScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("ctrl+s", "run", "Run", id="run.start", priority=True),
        Binding("escape", "cancel", "Cancel", id="run.cancel"),
    ]

    class Submit(Message):
        def __init__(self, screen: RunScreen, spec: RunSpec) -> None:
            super().__init__()
            self.screen = screen
            self.spec = spec

    def __init__(self, image: str, ports: list[PortMapping], name: str = "") -> None:
        super().__init__(id="run-screen")
        self.image = image
        self.busy = False
        self.name_input = Input(name, placeholder="(the engine picks one)", id="run-name")
        self.ports_input = TextArea(
            "\n".join(p.text() for p in ports), id="run-ports", show_line_numbers=False
        )
        self.env_input = TextArea("", id="run-env", show_line_numbers=False)
        self.volumes_input = TextArea("", id="run-volumes", show_line_numbers=False)
        policies = [(p, p) for p in RESTART_POLICIES]
        self.restart_select: Select[str] = Select(
            policies, value="no", allow_blank=False, id="run-restart"
        )
        self.command_input = Input("", placeholder="(the image's CMD)", id="run-command")
        self.cli_line = Static("", id="run-cli")
        self.problems = Static("", id="run-problems")

    def compose(self) -> ComposeResult:
        with Vertical(id="run-box"):
            with VerticalScroll():
                yield self._row("Name", self.name_input)
                yield self._row("Ports", self.ports_input, "HOST:CONTAINER[/udp], one a line")
                yield self._row("Env", self.env_input, "KEY=VALUE, one a line")
                yield self._row("Volumes", self.volumes_input, "SOURCE:/path[:ro], one a line")
                yield self._row("Restart", self.restart_select)
                yield self._row("Command", self.command_input)
                yield self.problems
                yield self.cli_line
            with Horizontal(id="run-buttons"):
                yield Button("Run (Ctrl+S)", variant="primary", id="run-go")
                yield Button("Cancel (Esc)", id="run-cancel")

    @staticmethod
    def _row(label: str, widget: Input | TextArea | Select[str], hint: str = "") -> Horizontal:
        children: list = [Label(label, classes="run-label"), widget]
        if hint:
            children.append(Label(Text(hint), classes="run-hint"))
        return Horizontal(*children, classes="run-row")

    def on_mount(self) -> None:
        self.query_one("#run-box").border_title = f"Run {self.image}"
        self.name_input.focus()
        self._update()

    # -- the spec --------------------------------------------------------------------------
    def spec(self) -> tuple[RunSpec, list[Problem]]:
        problems: list[Problem] = []
        ports: list[PortMapping] = []
        for i, line in enumerate(_lines(self.ports_input.text)):
            try:
                ports.append(PortMapping.parse(line))
            except ValueError as exc:
                problems.append(Problem("ports", str(exc), i))
        volumes: list[VolumeMount] = []
        for i, line in enumerate(_lines(self.volumes_input.text)):
            try:
                volumes.append(VolumeMount.parse(line))
            except ValueError as exc:
                problems.append(Problem("volumes", str(exc), i))
        restart = str(self.restart_select.value)
        try:
            parse_restart(restart)
        except ValueError as exc:
            problems.append(Problem("restart", str(exc)))
        spec = RunSpec(
            image=self.image,
            name=self.name_input.value.strip(),
            ports=ports,
            env=_lines(self.env_input.text),
            volumes=volumes,
            restart=restart,
            command=self.command_input.value.strip(),
        )
        return spec, problems

    def _update(self) -> None:
        spec, problems = self.spec()
        if not problems:
            # What can be checked here (port ranges, duplicates, free host ports, names,
            # paths) is checked as you type; the app adds what only the engine knows.
            problems = validate(spec)
        line = Text("$ ", style="dim")
        try:
            line.append(docker_cli_line(spec), style="bold")
        except Exception as exc:  # half-typed input: say so rather than crash
            line.append(f"(incomplete: {exc})", style="dim")
        self.cli_line.update(line)
        self.show_problems(problems)

    def show_problems(self, problems: list[Problem]) -> None:
        text = Text()
        for problem in problems:
            where = problem.field + (
                f" line {problem.index + 1}" if problem.index is not None else ""
            )
            text.append(f"✗ {where}: ", style="bold red")
            text.append(problem.message + "\n")
        self.problems.update(text)

    def on_input_changed(self) -> None:
        self._update()

    def on_text_area_changed(self) -> None:
        self._update()

    def on_select_changed(self) -> None:
        self._update()

    # -- actions ---------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run-go":
            self.action_run()
        else:
            self.action_cancel()

    def action_run(self) -> None:
        if self.busy:
            return
        spec, problems = self.spec()
        if problems:
            self.show_problems(problems)
            return
        self.busy = True
        self.problems.update(Text("Checking and starting …", style="bold"))
        self.post_message(self.Submit(self, spec))

    def failed(self, problems: list[Problem]) -> None:
        """The app found problems (or the engine refused): keep the form, say why."""
        self.busy = False
        self.show_problems(problems)

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
