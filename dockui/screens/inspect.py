"""One container in detail: overview, the whole inspect document, env, mounts, networks,
health-check history, processes and stats sparklines, one tab each.

The screen never talks to the engine. It renders what it is given (`show_details`,
`show_processes`, `show_stats`, `show_gone`) and asks for more through `requests` — the
app's operations controller — or, without one, by posting messages that bubble to the app.
Secret env values (keys that look like credentials) are masked in the Env and JSON tabs
until `v` reveals them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Input,
    Sparkline,
    Static,
    TabbedContent,
    TabPane,
    Tree,
)
from textual.widgets.tree import TreeNode

from dockui import format as fmt
from dockui.engine.inspect import ContainerDetails, ProcessList
from dockui.engine.stats import StatsSample
from dockui.widgets.keybar import KeyBar
from dockui.widgets.keyed_table import NavTable

TABS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("json", "JSON"),
    ("env", "Env"),
    ("mounts", "Mounts"),
    ("networks", "Networks"),
    ("health", "Health"),
    ("processes", "Processes"),
    ("stats", "Stats"),
)
LIVE_EVERY = 2.0  # seconds between stats pushes (and health re-reads while that tab shows)


class InspectRequests(Protocol):
    """What the screen asks of the app (dockui.ops.Ops implements it)."""

    def request_details(
        self, screen: InspectScreen, container_id: str, *, quiet: bool = False
    ) -> None: ...

    def request_processes(self, screen: InspectScreen, container_id: str) -> None: ...

    def request_stats(self, screen: InspectScreen, container_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class JsonEntry:
    """What a node of the JSON tree shows: its key and (for scalars) its value as JSON."""

    key: str
    value: str | None  # None for an object or array
    label: Text  # the label without search highlights


def _pane_id(tab: str) -> str:
    return f"inspect-tab-{tab}"


class InspectScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="inspect.back"),
        Binding("v", "toggle_reveal", "Reveal secrets", id="inspect.reveal"),
        Binding("r", "refresh", "Refresh", id="inspect.refresh"),
        Binding("slash", "search", "Search JSON", id="inspect.search"),
        Binding("n", "next_hit", "Next hit", id="inspect.next_hit", show=False),
        Binding("N", "next_hit(-1)", "Previous hit", id="inspect.previous_hit", show=False),
        *[
            Binding(str(i), f"show_tab('{tab}')", title, id=f"inspect.tab_{tab}", show=False)
            for i, (tab, title) in enumerate(TABS, 1)
        ],
    ]

    # -- messages for an app that handles requests itself (no `requests` object) ------------
    class DetailsWanted(Message):
        def __init__(self, screen: InspectScreen, container_id: str, quiet: bool) -> None:
            super().__init__()
            self.screen = screen
            self.container_id = container_id
            self.quiet = quiet

    class ProcessesWanted(Message):
        def __init__(self, screen: InspectScreen, container_id: str) -> None:
            super().__init__()
            self.screen = screen
            self.container_id = container_id

    class StatsWanted(Message):
        def __init__(self, screen: InspectScreen, container_id: str) -> None:
            super().__init__()
            self.screen = screen
            self.container_id = container_id

    def __init__(
        self,
        details: ContainerDetails,
        requests: InspectRequests | None = None,
        *,
        tab: str = "overview",
    ) -> None:
        super().__init__(id="inspect-screen")
        self.details = details
        self.container_id = details.id
        self.requests = requests
        self.initial_tab = tab
        self.reveal = False
        self.gone: str | None = None  # why the container is no longer there
        self.processes: ProcessList | None = None
        self.samples: tuple[StatsSample, ...] = ()
        self.hits: list[TreeNode[JsonEntry]] = []
        self.hit_index = -1
        self.query_text = ""
        self._env_nodes: list[tuple[int, TreeNode[JsonEntry]]] = []
        self._processes_asked = False

        self.header_line = Static(id="inspect-header")
        self.overview_table = NavTable(cursor_type="row", id="inspect-overview")
        self.json_tree: Tree[JsonEntry] = Tree("inspect", id="inspect-json")
        self.search_input = Input(
            placeholder="search keys and values — Enter keeps, n/N jump, Esc closes",
            id="inspect-search",
        )
        self.json_status = Static(id="inspect-json-status")
        self.env_table = NavTable(cursor_type="row", id="inspect-env")
        self.env_status = Static(id="inspect-env-status")
        self.mounts_table = NavTable(cursor_type="row", id="inspect-mounts")
        self.networks_table = NavTable(cursor_type="row", id="inspect-networks")
        self.health_summary = Static(id="inspect-health-summary")
        self.health_table = NavTable(cursor_type="row", id="inspect-health-runs")
        self.health_output = Static(id="inspect-health-output")
        self.processes_status = Static(id="inspect-processes-status")
        self.processes_table = NavTable(cursor_type="row", id="inspect-processes")
        self.stats_numbers = Static(id="inspect-stats-numbers")
        self.cpu_title = Static(id="inspect-cpu-title", classes="inspect-spark-title")
        self.cpu_spark = Sparkline([], id="inspect-cpu-spark", classes="inspect-spark")
        self.mem_title = Static(id="inspect-mem-title", classes="inspect-spark-title")
        self.mem_spark = Sparkline([], id="inspect-mem-spark", classes="inspect-spark")
        # Kept, not queried: the app may push data before the tabs are mounted.
        self.tabbed = TabbedContent(initial=_pane_id(self.initial_tab), id="inspect-tabs")

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.header_line
        with self.tabbed:
            with TabPane("Overview", id=_pane_id("overview")):
                yield self.overview_table
            with TabPane("JSON", id=_pane_id("json")):
                yield self.search_input
                yield self.json_status
                yield self.json_tree
            with TabPane("Env", id=_pane_id("env")):
                yield self.env_status
                yield self.env_table
            with TabPane("Mounts", id=_pane_id("mounts")):
                yield self.mounts_table
            with TabPane("Networks", id=_pane_id("networks")):
                yield self.networks_table
            with TabPane("Health", id=_pane_id("health")):
                yield self.health_summary
                yield self.health_table
                yield self.health_output
            with TabPane("Processes", id=_pane_id("processes")):
                yield self.processes_status
                yield self.processes_table
            with TabPane("Stats", id=_pane_id("stats")), Vertical(id="inspect-stats"):
                yield self.stats_numbers
                yield self.cpu_title
                yield self.cpu_spark
                yield self.mem_title
                yield self.mem_spark
        yield KeyBar()

    def on_mount(self) -> None:
        self.search_input.display = False
        self.json_tree.show_root = False
        self.json_tree.guide_depth = 2
        self.overview_table.add_column("Field", key="field")
        self.overview_table.add_column("Value", key="value")
        self.env_table.add_column("Key", key="key")
        self.env_table.add_column("Value", key="value")
        for key, label in (
            ("type", "Type"),
            ("source", "Source"),
            ("destination", "Destination"),
            ("mode", "Mode"),
            ("rw", "RW"),
            ("propagation", "Propagation"),
        ):
            self.mounts_table.add_column(label, key=key)
        for key, label in (
            ("name", "Network"),
            ("ip", "IP address"),
            ("gateway", "Gateway"),
            ("mac", "MAC"),
            ("ipv6", "IPv6"),
            ("aliases", "Aliases"),
        ):
            self.networks_table.add_column(label, key=key)
        runs = (("start", "Started"), ("took", "Took"), ("exit", "Exit"), ("out", "Output"))
        for key, label in runs:
            self.health_table.add_column(label, key=key)
        self.processes_status.update(Text("Loading processes …", style="dim"))
        self.show_details(self.details)
        self.show_stats(self.samples)
        self.set_interval(LIVE_EVERY, self._tick)
        self._ask_stats()
        self.call_after_refresh(self._focus_tab, self.active_tab)
        if self.initial_tab == "processes":
            self._ask_processes()

    # -- tabs -------------------------------------------------------------------------------------
    @property
    def tabs(self) -> TabbedContent:
        return self.tabbed

    @property
    def active_tab(self) -> str:
        return self.tabs.active.removeprefix("inspect-tab-")

    def action_show_tab(self, tab: str) -> None:
        self.tabs.active = _pane_id(tab)  # TabActivated follows: _tab_shown runs then
        self._focus_tab(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = (event.pane.id or "").removeprefix("inspect-tab-")
        self._tab_shown(tab)

    def _tab_shown(self, tab: str) -> None:
        if tab == "processes" and not self._processes_asked:
            self._ask_processes()
        elif tab == "stats":
            self._ask_stats()

    def _focus_tab(self, tab: str) -> None:
        widget = {
            "overview": self.overview_table,
            "json": self.json_tree,
            "env": self.env_table,
            "mounts": self.mounts_table,
            "networks": self.networks_table,
            "health": self.health_table,
            "processes": self.processes_table,
        }.get(tab)
        if widget is not None:
            widget.focus()

    # -- requests ---------------------------------------------------------------------------------
    def _ask_details(self, quiet: bool) -> None:
        if self.gone:
            return
        if self.requests is not None:
            self.requests.request_details(self, self.container_id, quiet=quiet)
        else:
            self.post_message(self.DetailsWanted(self, self.container_id, quiet))

    def _ask_processes(self) -> None:
        if self.gone:
            return
        self._processes_asked = True
        if self.requests is not None:
            self.requests.request_processes(self, self.container_id)
        else:
            self.post_message(self.ProcessesWanted(self, self.container_id))

    def _ask_stats(self) -> None:
        if self.gone:
            return
        if self.requests is not None:
            self.requests.request_stats(self, self.container_id)
        else:
            self.post_message(self.StatsWanted(self, self.container_id))

    def _tick(self) -> None:
        if self.gone:
            return
        self._ask_stats()
        if self.active_tab == "health" and self.details.health is not None:
            self._ask_details(quiet=True)

    # -- from the app -----------------------------------------------------------------------------
    def show_details(self, details: ContainerDetails, *, live: bool = False) -> None:
        """New inspect data. `live` (a periodic re-read) leaves the JSON tree as it is, so
        browsing it is not disturbed; `r` reloads everything."""
        self.details = details
        self._fill_header()
        self._fill_overview()
        self._fill_env()
        self._fill_mounts()
        self._fill_networks()
        self._fill_health()
        if not live:
            self._fill_json()

    def show_processes(self, processes: ProcessList) -> None:
        self.processes = processes
        table = self.processes_table
        row = table.cursor_row
        table.clear(columns=True)
        for i, title in enumerate(processes.titles):
            table.add_column(title, key=f"c{i}")
        for i, process in enumerate(processes.processes):
            cells = list(process[: len(processes.titles)])
            cells += [""] * (len(processes.titles) - len(cells))
            table.add_row(*(Text(c) for c in cells), key=str(i))
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
        count = len(processes.processes)
        noun = "process" if count == 1 else "processes"
        self.processes_status.update(
            Text(f"{count} {noun} · r refreshes · {_clock(now=True)}", style="dim")
        )

    def show_processes_error(self, sentence: str) -> None:
        self.processes_table.clear()
        self.processes_status.update(Text(sentence, style="bold yellow"))

    def show_stats(self, samples: tuple[StatsSample, ...]) -> None:
        self.samples = tuple(samples)
        if not self.samples:
            why = (
                "No samples yet: dockui samples a running container every ~2 s."
                if self.details.running
                else "No stats: the container is not running."
            )
            self.stats_numbers.update(Text(why, style="dim"))
            self.cpu_title.update(Text("CPU %", style="bold"))
            self.mem_title.update(Text("Memory", style="bold"))
            self.cpu_spark.data = []
            self.mem_spark.data = []
            return
        last = self.samples[-1]
        cpu = [s.cpu_percent or 0.0 for s in self.samples]
        mem = [float(s.mem_usage) for s in self.samples]
        self.cpu_spark.data = cpu
        self.mem_spark.data = mem
        cpu_now = "-" if last.cpu_percent is None else f"{last.cpu_percent:.2f} %"
        self.cpu_title.update(
            Text.assemble(
                ("CPU % ", "bold"),
                (f"now {cpu_now} · peak {max(cpu):.2f} % over {len(cpu)} samples", "dim"),
            )
        )
        self.mem_title.update(
            Text.assemble(
                ("Memory ", "bold"),
                (
                    f"now {fmt.size(last.mem_usage)} · peak {fmt.size(int(max(mem)))}"
                    f" of {fmt.size(last.mem_limit)}",
                    "dim",
                ),
            )
        )
        rows = [
            ("CPU", f"{cpu_now} of {last.online_cpus} CPUs" if last.online_cpus else cpu_now),
            (
                "Memory",
                f"{fmt.size(last.mem_usage)} / {fmt.size(last.mem_limit)}"
                f" ({last.mem_percent:.2f} %)",
            ),
            (
                "Net rx / tx",
                f"{fmt.size(last.net_rx)} / {fmt.size(last.net_tx)}"
                + _rates(last.net_rx_rate, last.net_tx_rate),
            ),
            (
                "Block read / write",
                f"{fmt.size(last.blk_read)} / {fmt.size(last.blk_write)}"
                + _rates(last.blk_read_rate, last.blk_write_rate),
            ),
            ("PIDs", "-" if last.pids is None else str(last.pids)),
            ("Sampled", _clock(last.read)),
        ]
        text = Text()
        for label, value in rows:
            text.append(f"{label:<20}", style="bold")
            text.append(value + "\n")
        self.stats_numbers.update(text)

    def show_gone(self, reason: str = "container removed") -> None:
        """The container vanished: keep what was shown, say so, stop asking."""
        if self.gone:
            return
        self.gone = reason
        self._fill_header()
        self.processes_status.update(Text(reason, style="bold red"))
        self.stats_numbers.update(Text(reason, style="bold red"))

    def show_error(self, sentence: str) -> None:
        """A request failed for another reason (engine away, timeout): say it in the header."""
        self._fill_header(problem=sentence)

    # -- rendering --------------------------------------------------------------------------------
    def _fill_header(self, problem: str = "") -> None:
        d = self.details
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f" {d.name}", style="bold")
        head.append(f"  {d.short_id}  {d.image}  ", style="dim")
        state = d.state + (f" ({d.health.status})" if d.health else "")
        head.append(state, style="green" if d.running else "yellow")
        if self.reveal and d.secrets:
            head.append("  secrets shown", style="bold red")
        if self.gone:
            head.append(f"  — {self.gone}", style="bold red")
        elif problem:
            head.append(f"  — {problem}", style="bold yellow")
        self.header_line.update(head)

    def _fill_overview(self) -> None:
        table = self.overview_table
        row = table.cursor_row
        table.clear()
        for i, (label, value) in enumerate(self.details.overview()):
            table.add_row(Text(label, style="bold"), Text(value), key=f"o{i}")
        ports = sorted(
            self.details.ports, key=lambda p: (not p.published, p.private_port, p.host_ip or "")
        )
        if ports:
            table.add_row(Text("Published ports", style="bold underline"), Text(""), key="ports")
            for i, port in enumerate(ports):
                where = (
                    f"host {port.host_ip or '0.0.0.0'}:{port.public_port}"
                    if port.published
                    else "exposed, not published"
                )
                table.add_row(
                    Text(f"  {port.private_port}/{port.protocol}", style="cyan"),
                    Text(where),
                    key=f"p{i}",
                )
        if self.details.labels:
            table.add_row(Text("Labels", style="bold underline"), Text(""), key="labels")
            for key, value in self.details.labels:
                table.add_row(Text(f"  {key}", style="cyan"), Text(value), key=f"l:{key}")
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    def _fill_env(self) -> None:
        table = self.env_table
        row = table.cursor_row
        table.clear()
        for i, var in enumerate(self.details.env):
            key = Text(var.key, style="bold yellow" if var.secret else "bold")
            shown = var.shown(self.reveal)
            value = Text(shown, style="yellow" if var.secret and not self.reveal else "")
            table.add_row(key, value, key=f"e{i}")
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
        secrets = len(self.details.secrets)
        if not self.details.env:
            status = Text("No environment variables.", style="dim")
        elif not secrets:
            status = Text(f"{len(self.details.env)} variables, none look secret.", style="dim")
        elif self.reveal:
            status = Text(f"{secrets} secret value(s) shown — v masks them again.", style="red")
        else:
            status = Text(f"{secrets} secret value(s) masked — v reveals them.", style="dim")
        self.env_status.update(status)

    def _fill_mounts(self) -> None:
        table = self.mounts_table
        table.clear()
        for i, m in enumerate(self.details.mounts):
            source = m.name if m.type == "volume" and m.name else m.source
            table.add_row(
                Text(m.type),
                Text(source),
                Text(m.destination, style="bold"),
                Text(m.mode or "-"),
                Text("rw" if m.rw else "ro", style="" if m.rw else "yellow"),
                Text(m.propagation or "-"),
                key=f"m{i}",
            )
        if not self.details.mounts:
            table.add_row(Text("(no mounts)", style="dim"), *[Text("")] * 5, key="none")

    def _fill_networks(self) -> None:
        table = self.networks_table
        table.clear()
        for i, n in enumerate(self.details.networks):
            ip = f"{n.ip_address}/{n.prefix_len}" if n.ip_address else "-"
            table.add_row(
                Text(n.name, style="bold"),
                Text(ip),
                Text(n.gateway or "-"),
                Text(n.mac_address or "-"),
                Text(n.ipv6_address or "-"),
                Text(", ".join(n.aliases) or "-"),
                key=f"n{i}",
            )
        if not self.details.networks:
            table.add_row(Text("(no networks)", style="dim"), *[Text("")] * 5, key="none")

    def _fill_health(self) -> None:
        health = self.details.health
        table = self.health_table
        row = table.cursor_row
        table.clear()
        if health is None:
            self.health_summary.update(
                Text("No health check: neither the image nor the container defines one.")
            )
            table.display = False
            self.health_output.update("")
            return
        table.display = True
        style = {"healthy": "bold green", "unhealthy": "bold red"}.get(health.status, "bold")
        summary = Text()
        summary.append("Status ", style="bold")
        summary.append(health.status, style=style)
        summary.append("   failing streak ", style="bold")
        summary.append(
            str(health.failing_streak), style="bold red" if health.failing_streak else ""
        )
        if health.test:
            summary.append("   test ", style="bold")
            summary.append(" ".join(health.test), style="cyan")
        summary.append(f"\nThe last {len(health.log)} runs, newest first:", style="dim")
        self.health_summary.update(summary)
        for i, run in enumerate(reversed(health.log)):
            took = (
                f"{(run.end - run.start) * 1000:.0f} ms"
                if run.start is not None and run.end is not None
                else "-"
            )
            first = run.output.split("\n", 1)[0] if run.output else ""
            table.add_row(
                Text(_clock(run.start)),
                Text(took),
                Text(str(run.exit_code), style="green" if run.ok else "bold red"),
                Text(first or "(no output)", style="" if first else "dim"),
                key=f"h{i}",
            )
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
        self._show_health_output()

    def _show_health_output(self) -> None:
        health = self.details.health
        if health is None or not health.log:
            self.health_output.update("")
            return
        runs = list(reversed(health.log))
        run = runs[min(max(self.health_table.cursor_row, 0), len(runs) - 1)]
        text = Text(f"exit code {run.exit_code} · output:\n", style="dim")
        text.append(run.output or "(none)")
        self.health_output.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.health_table:
            self._show_health_output()

    # -- the JSON tree ----------------------------------------------------------------------------
    def _document(self) -> Any:
        return json.loads(self.details.json_text(reveal=self.reveal))

    def _fill_json(self) -> None:
        tree = self.json_tree
        tree.clear()
        tree.root.data = JsonEntry("", None, Text(self.details.name))
        self._env_nodes = []
        doc = self._document()
        if isinstance(doc, dict):
            for key, value in doc.items():
                self._add_json(tree.root, str(key), value, (str(key),))
        tree.root.expand()
        self._search(self.query_text, jump=False)

    def _add_json(
        self, parent: TreeNode[JsonEntry], key: str, value: Any, path: tuple[str, ...]
    ) -> None:
        if isinstance(value, dict):
            label = _branch_label(key, "{", len(value))
            node = parent.add(label, data=JsonEntry(key, None, label), allow_expand=bool(value))
            for k, v in value.items():
                self._add_json(node, str(k), v, (*path, str(k)))
        elif isinstance(value, list):
            label = _branch_label(key, "[", len(value))
            node = parent.add(label, data=JsonEntry(key, None, label), allow_expand=bool(value))
            for i, v in enumerate(value):
                self._add_json(node, f"[{i}]", v, (*path, str(i)))
        else:
            text = json.dumps(value, ensure_ascii=False)
            label = _leaf_label(key, value, text)
            leaf = parent.add_leaf(label, data=JsonEntry(key, text, label))
            if path[:2] == ("Config", "Env") and len(path) == 3:
                self._env_nodes.append((int(path[2]), leaf))

    def _relabel_env(self) -> None:
        """Secret values masked or shown in place: the tree keeps its expansion."""
        env = ((self._document().get("Config") or {}).get("Env")) or []
        for index, node in self._env_nodes:
            if index < len(env) and node.data is not None:
                text = json.dumps(env[index], ensure_ascii=False)
                label = _leaf_label(node.data.key, env[index], text)
                node.data = JsonEntry(node.data.key, text, label)
                node.set_label(label)

    def _walk(self, node: TreeNode[JsonEntry]) -> Iterator[TreeNode[JsonEntry]]:
        for child in node.children:
            yield child
            yield from self._walk(child)

    def _search(self, query: str, *, jump: bool = True) -> None:
        self.query_text = query
        previous = set(self.hits)
        needle = query.casefold()
        self.hits = []
        for node in self._walk(self.json_tree.root):
            entry = node.data
            if entry is None:
                continue
            hit = bool(needle) and (
                needle in entry.key.casefold()
                or (entry.value is not None and needle in entry.value.casefold())
            )
            if hit:
                self.hits.append(node)
                label = entry.label.copy()
                label.highlight_words([query], style="reverse", case_sensitive=False)
                node.set_label(label)
            elif node in previous:
                node.set_label(entry.label)
        self.hit_index = -1
        if jump and self.hits:
            self._jump(0)
        else:
            self._describe_search()

    def _jump(self, index: int) -> None:
        if not self.hits:
            self._describe_search()
            return
        self.hit_index = index % len(self.hits)
        node = self.hits[self.hit_index]
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(self.json_tree.move_cursor, node)
        self._describe_search()

    def _describe_search(self) -> None:
        if not self.query_text:
            self.json_status.update(
                Text("/ searches keys and values · space/enter fold · shift+space all", "dim")
            )
        elif not self.hits:
            self.json_status.update(Text(f"no match for {self.query_text!r}", style="yellow"))
        else:
            where = f"match {self.hit_index + 1} of " if self.hit_index >= 0 else ""
            self.json_status.update(
                Text(f"{where}{len(self.hits)} for {self.query_text!r} · n/N jump", style="bold")
            )

    @property
    def current_hit(self) -> TreeNode[JsonEntry] | None:
        if 0 <= self.hit_index < len(self.hits):
            return self.hits[self.hit_index]
        return None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.search_input:
            event.stop()
            self._search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is self.search_input:
            event.stop()
            if event.value != self.query_text:
                self._search(event.value)
            self.json_tree.focus()

    # -- actions ----------------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.search_input.has_focus:
            self.search_input.display = bool(self.query_text)
            self.json_tree.focus()
            return
        self.dismiss()

    def action_toggle_reveal(self) -> None:
        self.reveal = not self.reveal
        self._fill_env()
        self._relabel_env()
        self._search(self.query_text, jump=False)
        self._fill_header()
        if not self.details.secrets:
            self.notify("No value here looks secret.", timeout=2, markup=False)

    def action_refresh(self) -> None:
        if self.gone:
            self.notify(f"{self.details.name}: {self.gone}", severity="warning", markup=False)
            return
        if self.active_tab == "processes":
            self._ask_processes()
        else:
            self._ask_details(quiet=False)

    def action_search(self) -> None:
        if self.active_tab != "json":
            self.action_show_tab("json")
        self.search_input.display = True
        self.search_input.focus()

    def action_next_hit(self, step: int = 1) -> None:
        if not self.hits:
            self._describe_search()
            return
        self._jump(self.hit_index + step if self.hit_index >= 0 else (0 if step > 0 else -1))


# -- labels ---------------------------------------------------------------------------------------
def _branch_label(key: str, bracket: str, count: int) -> Text:
    close = "}" if bracket == "{" else "]"
    text = Text(key, style="bold")
    text.append(f" {bracket}{count}{close}" if count else f" {bracket}{close}", style="dim")
    return text


def _leaf_label(key: str, value: Any, text: str) -> Text:
    if isinstance(value, str):
        style = "green"
    elif isinstance(value, bool) or value is None:
        style = "magenta"
    else:
        style = "cyan"
    label = Text(key, style="bold")
    label.append(": ")
    label.append(text, style=style)
    return label


def _clock(stamp: float | None = None, *, now: bool = False) -> str:
    """Local time of `stamp` (or of now, with `now`); "-" when unknown."""
    if stamp is None and now:
        stamp = datetime.now().timestamp()
    if not stamp:
        return "-"
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _rates(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return ""
    return f"   ({fmt.size(int(a))}/s / {fmt.size(int(b))}/s)"
