"""The list panes: a titled border, a `/` filter line and a keyed table."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from dockui import format as fmt
from dockui.engine.models import ContainerSummary, ImageSummary, Layer
from dockui.widgets.border import QuietBorder
from dockui.widgets.keyed_table import Column, KeyedTable

STATE_STYLE = {
    "running": "green",
    "healthy": "green",
    "starting": "yellow",
    "unhealthy": "bold red",
    "paused": "yellow",
    "restarting": "yellow",
    "created": "cyan",
    "removing": "magenta",
    "dead": "red",
}
STATE_RANK = {
    "running": 0, "restarting": 1, "paused": 2, "created": 3, "exited": 4, "dead": 5,
    "removing": 6,  # (a row already in the list keeps its place: see keep_place below)
}  # fmt: skip


def _stats_cells(sample: Any) -> tuple[str, str, str]:
    """What a stats sample shows in a row: CPU text, its style, memory text."""
    cpu = getattr(sample, "cpu_percent", None)
    mem = getattr(sample, "mem_usage", None)
    return (
        fmt.cpu(cpu),
        "yellow" if (cpu or 0) > 80 else "",
        fmt.size(mem) if mem is not None else "",
    )


class ListPane(QuietBorder, Vertical):
    """A focusable list with a filter. Subclasses define the columns and rendering."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="list.filter"),
        Binding("o", "cycle_sort", "Sort", id="list.sort"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    pane_title = ""
    # (label, key function) pairs; `o` cycles through them. The first is the default.
    sort_modes: list[tuple[str, Any]] = []

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.table: KeyedTable[Any] = self.make_table()
        self.filter_input = Input(placeholder="filter (regex) — Enter keeps, Esc clears")
        self.filter_input.display = False

    def make_table(self) -> KeyedTable[Any]:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield self.filter_input
        yield self.table

    def on_mount(self) -> None:
        self.border_title = self.pane_title
        self.refresh_subtitle()

    def refresh_subtitle(self) -> None:
        total = len(self.table.objects)
        shown = self.table.visible_count
        query = self.filter_input.value
        sort = f"by {self.sort_modes[self.sort_index][0]} · " if len(self.sort_modes) > 1 else ""
        if query:
            self.border_subtitle = f"{sort}/{query}  {shown} of {total}"
        else:
            self.border_subtitle = f"{sort}{total}"

    sort_index = 0

    def sort_key_for(self, key: Any) -> Any:
        return key

    def action_cycle_sort(self) -> None:
        if len(self.sort_modes) < 2:
            return
        self.sort_index = (self.sort_index + 1) % len(self.sort_modes)
        self.table.sort_key = self.sort_key_for(self.sort_modes[self.sort_index][1])
        self.table.rerender()
        self.refresh_subtitle()

    def update_objects(self, upserts: Any, removed: Any = (), full: bool = False) -> None:
        self.table.update_objects(upserts, removed, full)
        self.refresh_subtitle()

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        if self.filter_input.display or self.filter_input.value:
            self.filter_input.value = ""
            self.filter_input.display = False
            self.table.set_filter("")
            self.refresh_subtitle()
            self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.set_filter(event.value)
        self.refresh_subtitle()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            self.filter_input.display = False
        self.table.focus()

    def focus(self, scroll_visible: bool = True) -> ListPane:
        self.table.focus(scroll_visible)
        return self


def _t(text: str, style: str = "") -> Text:
    # Text(), never markup: these strings come from the engine.
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def state_label(c: ContainerSummary) -> tuple[str, str]:
    """(text, style) for the State column: health wins over plain `running`."""
    if c.state == "running" and c.health:
        return c.health, STATE_STYLE[c.health]
    if c.state == "exited":
        code = c.exit_code
        text = f"exited ({code})" if code is not None else "exited"
        return text, "dim" if not code else "red"
    return c.state, STATE_STYLE.get(c.state, "")


def uptime_label(c: ContainerSummary, now: float) -> str:
    if c.state_since is None:
        return ""
    if c.state in ("running", "paused"):
        return fmt.short_duration(now - c.state_since)
    return fmt.short_duration(now - c.state_since) + " ago"


def _by_state(c: ContainerSummary) -> tuple[int, str]:
    return (STATE_RANK.get(c.state, 9), c.name)


PROJECT_PREFIX = "project:"


@dataclass(frozen=True)
class ProjectRow:
    """The header row of a compose project's containers (collapsible; actions apply to all)."""

    project: str
    total: int
    running: int
    collapsed: bool = False

    @property
    def id(self) -> str:
        return PROJECT_PREFIX + self.project


class ContainersPane(ListPane):
    pane_title = "Containers"
    BINDINGS = [
        Binding("space", "mark", "Mark", id="containers.mark"),
        Binding("s", "app.container_action('stop')", "Stop", id="containers.stop"),
        Binding("S", "app.container_action('start')", "Start", id="containers.start"),
        Binding("r", "app.container_action('restart')", "Restart", id="containers.restart"),
        Binding("p", "app.container_action('toggle_pause')", "Pause", id="containers.pause",
                show=False),
        Binding("K", "app.container_action('kill')", "Kill", id="containers.kill", show=False),
        Binding("d", "app.container_action('remove')", "Remove", id="containers.remove"),
        Binding("D", "app.container_action('remove_with_volumes')", "Remove +volumes",
                id="containers.remove_volumes", show=False),
        Binding("e", "app.exec_shell", "Shell", id="containers.exec"),
        Binding("i", "app.inspect", "Inspect", id="containers.inspect"),
        Binding("c", "toggle_stats", "CPU/mem", id="containers.stats", show=False),
    ]  # fmt: skip

    class MarksChanged(Message):
        """The set of marked containers changed (the Logs pane merges their logs)."""

    class StatsToggled(Message):
        """The CPU/memory columns were shown or hidden (stats polling follows)."""

    def __init__(self, *, id: str | None = None) -> None:
        self.marked: set[str] = set()
        self.stats: dict[str, Any] = {}  # container id → latest StatsSample
        self.show_stats = True
        self.collapsed: set[str] = set()
        self.sort_modes = [
            ("state", _by_state),
            ("name", lambda c: c.name),
            ("newest", lambda c: (-c.created, c.name)),
            ("image", lambda c: (c.image, c.name)),
            ("CPU", lambda c: (-self._stat(c.id, "cpu_percent"), c.name)),
            ("memory", lambda c: (-self._stat(c.id, "mem_usage"), c.name)),
        ]
        super().__init__(id=id)

    def sort_key_for(self, key: Any) -> Any:
        return self._grouped(key)

    def _stat(self, cid: str, field: str) -> float:
        sample = self.stats.get(cid)
        value = getattr(sample, field, None) if sample is not None else None
        return float(value or 0)

    def take_stats(self, cid: str, sample: Any) -> bool:
        """Keep a container's latest sample; True when its row must be drawn again (what
        it shows changed, or the list is sorted by a figure). An idle container reads
        "0.0%" and the same memory sample after sample: nothing to redraw."""
        old = self.stats.get(cid)
        self.stats[cid] = sample
        if old is None or self.sort_modes[self.sort_index][0] in ("CPU", "memory"):
            return True
        return _stats_cells(old) != _stats_cells(sample)

    def action_toggle_stats(self) -> None:
        self.show_stats = not self.show_stats
        if not self.show_stats:
            self.stats.clear()
        self.table.rerender()
        self.post_message(self.StatsToggled())

    # -- compose projects: a header row per project, members below it ------------------------
    def update_objects(self, upserts: Any, removed: Any = (), full: bool = False) -> None:
        super().update_objects(upserts, removed, full)
        self._sync_projects()

    def _sync_projects(self) -> None:
        counts: dict[str, list[int]] = {}
        for obj in self.table.objects.values():
            if isinstance(obj, ContainerSummary) and obj.compose_project:
                entry = counts.setdefault(obj.compose_project, [0, 0])
                entry[0] += 1
                entry[1] += obj.state == "running"
        headers = [
            ProjectRow(p, total, running, p in self.collapsed)
            for p, (total, running) in counts.items()
        ]
        gone = [
            k
            for k, obj in self.table.objects.items()
            if isinstance(obj, ProjectRow) and obj.project not in counts
        ]
        changed = [h for h in headers if self.table.objects.get(h.id) != h]
        if changed or gone:
            self.table.update_objects(changed, gone)
            self.refresh_subtitle()

    def members(self, project: str) -> list[ContainerSummary]:
        return [
            o
            for o in self.table.objects.values()
            if isinstance(o, ContainerSummary) and o.compose_project == project
        ]

    def toggle_project(self, project: str) -> None:
        self.collapsed ^= {project}
        self._sync_projects()
        self.table.rerender([c.id for c in self.members(project)])

    def action_mark(self) -> None:
        key = self.table.selected_key
        if key is None:
            return
        selected = self.table.objects.get(key)
        if isinstance(selected, ProjectRow):
            self.toggle_project(selected.project)
            return
        self.marked ^= {key}
        self.table.update_objects([self.table.objects[key]])
        self.post_message(self.MarksChanged())
        self.table.action_cursor_down()

    def aged(self, now: float, keys: Iterable[str] | None = None) -> list[str]:
        """Containers (all, or among `keys`) whose Up column reads differently at `now`."""
        return self.table.stale(
            "uptime",
            lambda c: None if isinstance(c, ProjectRow) else uptime_label(c, now),
            keys,
        )

    def make_table(self) -> KeyedTable[ContainerSummary]:
        def render(c: ContainerSummary | ProjectRow) -> tuple[Text, ...]:
            if isinstance(c, ProjectRow):
                arrow = "▸" if c.collapsed else "▾"
                return (
                    _t(f"{arrow} {c.project}", "bold magenta"),
                    _t("compose project", "dim"),
                    _t(f"{c.running}/{c.total} running", "green" if c.running else "dim"),
                    _t(""),
                    _t(""),
                    _t(""),
                    _t(""),
                )
            state, style = state_label(c)
            mark = "✓ " if c.id in self.marked else ""
            sample = self.stats.get(c.id) if c.state == "running" else None
            cpu, cpu_style, mem = _stats_cells(sample)
            return (
                _t(mark + c.name, ("bold " if c.running else "") + ("cyan" if mark else "")),
                _t(c.image, "dim"),
                _t(f"● {state}", style),
                _t(cpu, cpu_style),
                _t(mem, "dim"),
                _t(c.ports_text, "cyan"),
                _t(uptime_label(c, time.time()), "dim"),
            )

        table = KeyedTable(
            [
                Column("name", "Name", min_width=10, max_width=32, shrink=2),
                Column("image", "Image", min_width=0, max_width=24, shrink=0),
                Column("state", "State", min_width=12, max_width=16, shrink=3),
                Column("cpu", "CPU", min_width=0, max_width=6, shrink=1, steady=True),
                Column("mem", "Mem", min_width=0, max_width=8, shrink=1, steady=True),
                Column("ports", "Ports", min_width=8, max_width=30, shrink=4),
                Column("uptime", "Up", min_width=0, max_width=9, shrink=1),
            ],
            render,
            key_of=lambda c: c.id,
            sort_key=self._grouped(_by_state),
            id="containers-table",
        )
        table.hidden = lambda c: (
            isinstance(c, ContainerSummary)
            and c.compose_project is not None
            and c.compose_project in self.collapsed
        )
        # `docker rm -f` shows a container as "removing" until it is gone: re-sorted, it
        # went to the end of the list, and a cursor on it (and the view) went along.
        table.keep_place = lambda c: isinstance(c, ContainerSummary) and c.state == "removing"
        return table

    @staticmethod
    def _grouped(key: Any) -> Any:
        """Order by compose project (header first, then its members by `key`), then the rest."""

        def grouped(obj: ContainerSummary | ProjectRow) -> tuple[Any, ...]:
            if isinstance(obj, ProjectRow):
                return (0, obj.project, 0, ())
            project = obj.compose_project
            if project is None:
                return (1, "", 1, key(obj))
            return (0, project, 1, key(obj))

        return grouped


def _image_by_name(i: ImageSummary) -> tuple[bool, str, float]:
    return (i.dangling, i.display_name, -i.created)


class ImagesPane(ListPane):
    pane_title = "Images"
    BINDINGS = [
        Binding("b", "app.build", "Build", id="images.build"),
        Binding("B", "app.rebuild", "Rebuild", id="images.rebuild", show=False),
        Binding("R", "app.run_image", "Run", id="images.run"),
        Binding("d", "app.image_remove(False)", "Remove", id="images.remove"),
        Binding(
            "D", "app.image_remove(True)", "Force remove", id="images.force_remove", show=False
        ),
        Binding("t", "app.image_tag", "Tag", id="images.tag"),
        Binding("a", "app.audit_image", "Audit", id="images.audit"),
        Binding("P", "app.image_prune", "Prune dangling", id="images.prune", show=False),
        Binding("p", "app.image_push", "Push", id="images.push"),
        Binding("l", "app.image_pull", "Pull", id="images.pull", show=False),
        Binding("L", "app.registry_login", "Registry login", id="images.login", show=False),
        Binding("C", "app.registry_browse", "Registry catalog", id="images.catalog", show=False),
    ]
    sort_modes = [
        ("name", _image_by_name),
        ("size", lambda i: (-i.size, i.display_name)),
        ("newest", lambda i: (-i.created, i.display_name)),
    ]

    def aged(self, now: float, keys: Iterable[str] | None = None) -> list[str]:
        """Images (all, or among `keys`) whose Created column reads differently at `now`."""
        return self.table.stale("created", lambda i: fmt.ago(i.created, now), keys)

    def make_table(self) -> KeyedTable[ImageSummary]:
        def render(i: ImageSummary) -> tuple[Text, ...]:
            name = i.display_name
            if len(i.tags) > 1:
                name += f" +{len(i.tags) - 1}"
            return (
                _t(name, "dim italic" if i.dangling else "bold"),
                _t(i.short_id, "dim"),
                _t(fmt.size(i.size)),
                _t(fmt.ago(i.created), "dim"),
                _t("dangling" if i.dangling else "", "yellow"),
            )

        return KeyedTable(
            [
                Column("name", "Repository:Tag", min_width=12, max_width=40, shrink=3),
                Column("id", "ID", min_width=0, max_width=12, shrink=1),
                Column("size", "Size", min_width=7, max_width=9, shrink=4),
                Column("created", "Created", min_width=0, max_width=16, shrink=2),
                Column("mark", "", min_width=0, max_width=8, shrink=0),
            ],
            render,
            key_of=lambda i: i.id,
            sort_key=_image_by_name,
            id="images-table",
        )


class LayersPane(ListPane):
    pane_title = "Layers"

    def make_table(self) -> KeyedTable[Layer]:
        def render(layer: Layer) -> tuple[Text, ...]:
            return (
                _t(str(layer.index + 1), "dim"),
                _t(fmt.size(layer.size), "dim" if layer.empty else "bold"),
                _t(fmt.size(layer.cumulative), "dim"),
                _t(layer.instruction, "dim" if layer.empty else ""),
            )

        return KeyedTable(
            [
                Column("n", "#", min_width=0, max_width=3, shrink=0),
                Column("size", "Size", min_width=7, max_width=9, shrink=4),
                Column("total", "Total", min_width=7, max_width=9, shrink=2),
                Column("instruction", "Instruction", min_width=10, max_width=400, shrink=1),
            ],
            render,
            key_of=lambda layer: str(layer.index),
            sort_key=lambda layer: layer.index,
            id="layers-table",
        )

    def show_layers(self, title: str, layers: list[Layer]) -> None:
        self.update_objects(layers, full=True)
        total = layers[-1].cumulative if layers else 0
        self.border_title = f"Layers — {title}"
        self.border_subtitle = f"{len(layers)} steps · {fmt.size(total)}"

    def show_message(self, title: str) -> None:
        self.update_objects([], full=True)
        self.border_title = f"Layers — {title}"
        self.border_subtitle = ""
