"""Build an image from the keyboard: a form (context, Dockerfile, tags, build args,
target stage, no-cache) with the context size after .dockerignore and the Dockerfile's
advice, then a live build view: each step, cache hits, durations, the output, and the
result — or the failing step, highlighted, with the form kept to fix and retry.

The screen reads only the filesystem (context size, Dockerfile) in its own threads; the
build itself runs in the app, which owns the engine: the screen asks with messages.
"""

from __future__ import annotations

import os

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from dockui import format as fmt
from dockui.engine.build import (
    BuildCancelled,
    BuildEvent,
    BuildFailed,
    BuildNote,
    BuildRequest,
    BuildSucceeded,
    SendingContext,
    StepCached,
    StepFinished,
    StepOutput,
    StepStarted,
    context_size,
    validate,
    warn_large,
)
from dockui.engine.dockerfile import parse_file
from dockui.engine.lint import lint
from dockui.engine.models import STDOUT, LogLine
from dockui.widgets.keybar import KeyBar
from dockui.widgets.keyed_table import NavTable
from dockui.widgets.logview import LogView

LAST_STAGE = "(last stage)"
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class BuildScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+s", "build", "Build", id="build.start", priority=True),
        Binding("escape", "back", "Cancel / close", id="build.back"),
        Binding("e", "edit", "Edit", id="build.edit", show=False),
        Binding("R", "run_image", "Run image", id="build.run", show=False),
    ]

    class Start(Message):
        def __init__(self, request: BuildRequest) -> None:
            super().__init__()
            self.request = request

    class Cancel(Message):
        pass

    class RunImage(Message):
        def __init__(self, image_id: str, tag: str) -> None:
            super().__init__()
            self.image_id = image_id
            self.tag = tag

    class Event(Message):
        """A build event, posted by the app from the build's thread."""

        def __init__(self, event: BuildEvent) -> None:
            super().__init__()
            self.event = event

    def __init__(self, request: BuildRequest | None = None) -> None:
        super().__init__(id="build-screen")
        req = request or BuildRequest(context_dir=os.getcwd())
        self.request = req
        self.running = False
        self.result: BuildSucceeded | BuildFailed | BuildCancelled | None = None
        self.steps: dict[int, dict[str, object]] = {}
        self.current_step: int | None = None
        self.context_input = Input(req.context_dir, id="build-context")
        self.dockerfile_input = Input(req.dockerfile or "Dockerfile", id="build-dockerfile")
        self.tags_input = Input(" ".join(req.tags), placeholder="name:tag …", id="build-tags")
        self.args_input = TextArea(
            "\n".join(f"{k}={v}" for k, v in req.build_args.items()), id="build-args"
        )
        self.target_select: Select[str] = Select(
            [(LAST_STAGE, LAST_STAGE)], value=LAST_STAGE, allow_blank=False, id="build-target"
        )
        self.nocache = Checkbox("No cache", req.no_cache, id="build-nocache")
        self.context_info = Static("", id="build-context-info")
        self.advice = Static("", id="build-advice")
        self.problems = Static("", id="build-problems")
        self.status = Static("", id="build-status")
        self.step_table = NavTable(cursor_type="row", id="build-steps")
        self.output = LogView(max_lines=5000, id="build-output")

    def compose(self) -> ComposeResult:
        with Vertical(id="build-form", classes="pane"), VerticalScroll():
            with Horizontal(classes="build-row"):
                yield Label("Context", classes="build-label")
                yield self.context_input
            yield self.context_info
            with Horizontal(classes="build-row"):
                yield Label("Dockerfile", classes="build-label")
                yield self.dockerfile_input
            with Horizontal(classes="build-row"):
                yield Label("Tags", classes="build-label")
                yield self.tags_input
            with Horizontal(classes="build-row build-args-row"):
                yield Label("Build args", classes="build-label")
                yield self.args_input
            with Horizontal(classes="build-row"):
                yield Label("Target", classes="build-label")
                yield self.target_select
                yield self.nocache
            yield self.problems
            yield self.advice
            with Horizontal(id="build-buttons"):
                yield Button("Build (Ctrl+S)", variant="primary", id="build-go")
                yield Button("Cancel (Esc)", id="build-cancel")
        with Vertical(id="build-view", classes="pane"):
            yield self.status
            yield self.step_table
            yield self.output
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#build-form").border_title = "Build an image"
        self.query_one("#build-view").border_title = "Build"
        self.query_one("#build-view").display = False
        self.step_table.add_column("#", key="n")
        self.step_table.add_column("", key="state")
        self.step_table.add_column("Time", key="time")
        self.step_table.add_column("Instruction", key="instruction")
        self.args_input.show_line_numbers = False
        self.tags_input.focus()
        self._refresh_context()
        self._refresh_dockerfile()

    # -- the form --------------------------------------------------------------------------
    def _form_request(self) -> tuple[BuildRequest | None, list[str]]:
        problems: list[str] = []
        args: dict[str, str] = {}
        for line in self.args_input.text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                value = os.environ.get(key, "")
            args[key.strip()] = value
        target = self.target_select.value
        request = BuildRequest(
            context_dir=self.context_input.value.strip() or ".",
            dockerfile=self.dockerfile_input.value.strip() or None,
            tags=tuple(t for t in self.tags_input.value.replace(",", " ").split() if t),
            build_args=args,
            target=None if target in (LAST_STAGE, Select.BLANK) else str(target),
            no_cache=self.nocache.value,
        )
        problems += validate(request)
        return (request if not problems else None), problems

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.context_input:
            self._refresh_context()
            self._refresh_dockerfile()
        elif event.input is self.dockerfile_input:
            self._refresh_dockerfile()
        self.problems.update("")

    @work(thread=True, exclusive=True, group="build-context")
    def _refresh_context(self) -> None:
        request = BuildRequest(
            context_dir=self.context_input.value.strip() or ".",
            dockerfile=self.dockerfile_input.value.strip() or None,
        )
        if not os.path.isdir(request.context_path):
            text = Text(f"  no such folder: {request.context_path}", style="red")
        else:
            try:
                info = context_size(request.context_path, request.dockerfile)
            except Exception as exc:  # unreadable files, races with a checkout...
                text = Text(f"  cannot measure the context: {exc}", style="red")
            else:
                text = Text(
                    f"  sends {info.files:,} files, {fmt.size(info.bytes)}"
                    + (" after .dockerignore" if info.ignore_file else " (no .dockerignore)"),
                    style="dim",
                )
                for advice in warn_large(info):
                    text.append(f"\n  ⚠ {advice}", style="yellow")
        self.app.call_from_thread(self.context_info.update, text)

    @work(thread=True, exclusive=True, group="build-dockerfile")
    def _refresh_dockerfile(self) -> None:
        request = BuildRequest(
            context_dir=self.context_input.value.strip() or ".",
            dockerfile=self.dockerfile_input.value.strip() or None,
        )
        path = request.dockerfile_path
        if not os.path.isfile(path):
            self.app.call_from_thread(
                self._dockerfile_ready, [], Text(f"No Dockerfile at {path}", style="red")
            )
            return
        try:
            dockerfile = parse_file(path)
            findings = lint(dockerfile)
            stages = dockerfile.stage_names()
        except Exception as exc:
            self.app.call_from_thread(
                self._dockerfile_ready, [], Text(f"Cannot read {path}: {exc}", style="red")
            )
            return
        text = Text()
        if findings:
            text.append(f"Advice on {os.path.basename(path)}:\n", style="bold")
        for finding in findings[:8]:
            style = SEVERITY_STYLE.get(finding.severity, "")
            text.append(f"  line {finding.line} {finding.rule} ", style=style)
            text.append(f"{finding.message}\n")
            text.append(f"      fix: {finding.fix}\n", style="dim")
        if len(findings) > 8:
            text.append(f"  … {len(findings) - 8} more: dockui lint {path}\n", style="dim")
        if not findings:
            text.append(f"✓ no advice on {os.path.basename(path)}", style="green")
        self.app.call_from_thread(self._dockerfile_ready, stages, text)

    def _dockerfile_ready(self, stages: list[str], advice: Text) -> None:
        current = self.target_select.value
        options = [(LAST_STAGE, LAST_STAGE)] + [(s, s) for s in stages]
        self.target_select.set_options(options)
        wanted = self.request.target if self.request.target in stages else current
        self.target_select.value = wanted if wanted in dict(options) else LAST_STAGE
        self.advice.update(advice)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "build-go":
            self.action_build()
        elif event.button.id == "build-cancel":
            self.action_back()

    def action_build(self) -> None:
        if self.running:
            return
        request, problems = self._form_request()
        if request is None:
            self.problems.update(Text("\n".join(f"✗ {p}" for p in problems), style="bold red"))
            return
        self.request = request
        self.running = True
        self.result = None
        self.steps.clear()
        self.current_step = None
        self.step_table.clear()
        self.output.clear()
        self.query_one("#build-form").display = False
        view = self.query_one("#build-view")
        view.display = True
        view.border_title = f"Building {' '.join(request.tags) or 'an untagged image'}"
        self.status.update(Text("Sending the build context …", style="bold"))
        self.step_table.focus()
        self.post_message(self.Start(request))

    def action_back(self) -> None:
        if self.running:
            self.status.update(Text("Cancelling …", style="bold yellow"))
            self.post_message(self.Cancel())
            return
        if self.query_one("#build-view").display and self.result is not None:
            if isinstance(self.result, BuildSucceeded):
                self.dismiss()
                return
            self.action_edit()
            return
        self.dismiss()

    def action_edit(self) -> None:
        if self.running:
            return
        self.query_one("#build-view").display = False
        self.query_one("#build-form").display = True
        self.tags_input.focus()

    def action_run_image(self) -> None:
        if isinstance(self.result, BuildSucceeded):
            tag = self.result.tags[0] if self.result.tags else self.result.image_id
            self.post_message(self.RunImage(self.result.image_id, tag))

    # -- the live view ---------------------------------------------------------------------
    def on_build_screen_event(self, message: BuildScreen.Event) -> None:
        event = message.event
        if isinstance(event, SendingContext):
            self.status.update(
                Text(f"Sending {event.files:,} files ({fmt.size(event.bytes)}) …", style="bold")
            )
        elif isinstance(event, StepStarted):
            self.current_step = event.index
            total = f"/{event.total}" if event.total else ""
            self.steps[event.index] = {"state": "running"}
            self.step_table.add_row(
                Text(f"{event.index}{total}", style="dim"),
                Text("…", style="yellow"),
                Text(""),
                Text(event.instruction, no_wrap=True, overflow="ellipsis"),
                key=str(event.index),
            )
            self.step_table.move_cursor(row=self.step_table.row_count - 1)
            self.status.update(
                Text(f"Step {event.index}{total}: {event.instruction}", style="bold")
            )
            self._out(f"Step {event.index}{total}: {event.instruction}", note=True)
        elif isinstance(event, StepCached):
            self.steps.setdefault(event.index, {})["cached"] = True
            self._cell(event.index, "state", Text("cached", style="cyan"))
            self._out("using cache")
        elif isinstance(event, StepOutput):
            self._out(event.line)
        elif isinstance(event, StepFinished):
            cached = self.steps.get(event.index, {}).get("cached")
            self._cell(
                event.index,
                "state",
                Text("cached" if cached else "✓", style="cyan" if cached else "green"),
            )
            self._cell(event.index, "time", Text(f"{event.duration_s:.1f}s", style="dim"))
        elif isinstance(event, BuildNote):
            self._out(event.text)
        elif isinstance(event, BuildSucceeded):
            self._finish(event)
            size = fmt.size(event.size_bytes) if event.size_bytes is not None else "?"
            text = Text("✓ built ", style="bold green")
            text.append(event.image_id.removeprefix("sha256:")[:12], style="bold")
            if event.tags:
                text.append(f" as {', '.join(event.tags)}")
            text.append(f" · {size} · {event.duration_s:.1f} s · ")
            text.append(
                f"{event.cached_steps} of {event.total_steps} steps from cache", style="cyan"
            )
            text.append("   R run it · Esc close", style="dim")
            self.status.update(text)
        elif isinstance(event, BuildFailed):
            self._finish(event)
            if event.step_index is not None:
                self._cell(event.step_index, "state", Text("✗ failed", style="bold red"))
                try:
                    self.step_table.move_cursor(
                        row=self.step_table.get_row_index(str(event.step_index))
                    )
                except Exception:
                    pass
            text = Text("✗ ", style="bold red")
            where = f"step {event.step_index}" if event.step_index is not None else "the build"
            text.append(f"{where} failed: ", style="bold red")
            text.append(event.error_sentence)
            text.append("   e edit and retry · Esc back to the form", style="dim")
            self.status.update(text)
            self._out(event.error_sentence, error=True)
        elif isinstance(event, BuildCancelled):
            self._finish(event)
            self.status.update(Text("Build cancelled.   e edit · Esc back", style="bold yellow"))

    def _finish(self, result: BuildSucceeded | BuildFailed | BuildCancelled) -> None:
        self.running = False
        self.result = result

    def _cell(self, index: int, column: str, value: Text) -> None:
        try:
            self.step_table.update_cell(str(index), column, value)
        except Exception:
            pass  # a step we never saw start (BuildKit cached vertices)

    def _out(self, text: str, *, note: bool = False, error: bool = False) -> None:
        if note:
            self.output.add_note(text)
        else:
            self.output.add_lines([LogLine(text, 2 if error else STDOUT)])
