"""Housekeeping: what takes disk space, and the volumes and networks nobody uses any more.

Three tabs: Disk usage (images, containers, volumes, build cache — count, active, size,
reclaimable — with a prune per row), Volumes and Networks (remove with `d`, prune unused with
`P`). Every prune first says what it will free and asks; the result says what it freed.

The screen never talks to the engine: data comes in through `show_usage`, `show_volumes` and
`show_networks`; requests go out through `requests` (the app's operations controller) or,
without one, as messages that bubble to the app. `label_filter` ("key" or "key=value")
restricts the lists and every prune to the objects carrying that label.
"""

from __future__ import annotations

from typing import Any, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from dockui import format as fmt
from dockui.engine.housekeeping import DiskUsage, NetworkSummary, UsageRow, VolumeSummary
from dockui.widgets.keybar import KeyBar
from dockui.widgets.keyed_table import Column, KeyedTable

TABS: tuple[tuple[str, str], ...] = (
    ("usage", "Disk usage"),
    ("volumes", "Volumes"),
    ("networks", "Networks"),
)
# The disk-usage rows and the prune kind each one offers.
USAGE_KINDS = {
    "Images": "images",
    "Containers": "containers",
    "Local Volumes": "volumes",
    "Build Cache": "build_cache",
}
_USAGE_ORDER = tuple(USAGE_KINDS)


class HousekeepingRequests(Protocol):
    """What the screen asks of the app (dockui.ops.Ops implements it)."""

    def request_housekeeping(self, screen: HousekeepingScreen) -> None: ...

    def request_prune(self, screen: HousekeepingScreen | None, kind: str) -> None: ...

    def request_remove_volume(self, screen: HousekeepingScreen, volume: VolumeSummary) -> None: ...

    def request_remove_network(
        self, screen: HousekeepingScreen, network: NetworkSummary
    ) -> None: ...


def _pane_id(tab: str) -> str:
    return f"housekeeping-tab-{tab}"


def _usage_cells(row: UsageRow) -> tuple[Text, ...]:
    reclaim = Text(fmt.size(row.reclaimable), style="bold" if row.reclaimable else "dim")
    if row.size:
        reclaim.append(f" ({row.reclaimable_percent} %)", style="dim")
    return (
        Text(row.kind, style="bold"),
        Text(str(row.total)),
        Text(str(row.active)),
        Text(fmt.size(row.size)),
        reclaim,
    )


def _volume_cells(volume: VolumeSummary) -> tuple[Text, ...]:
    name = Text(volume.name, style="dim" if volume.anonymous else "bold")
    if volume.in_use is None:
        used = Text("?", style="dim")
    elif volume.in_use:
        refs = volume.ref_count or 0
        used = Text(f"yes ({refs})", style="green")
    else:
        used = Text("no", style="yellow")
    return (
        name,
        Text(volume.driver),
        used,
        Text(fmt.size(volume.size) if volume.size is not None else "?", style=""),
        Text(fmt.ago(volume.created) if volume.created else "?", style="dim"),
    )


def _network_cells(network: NetworkSummary) -> tuple[Text, ...]:
    flags = [
        f
        for f, on in (
            ("built-in", network.builtin),
            ("internal", network.internal),
            ("attachable", network.attachable),
            ("ipv6", network.ipv6),
        )
        if on
    ]
    if network.containers is None:
        attached = Text("-" if network.builtin else "?", style="dim")
    else:
        attached = Text(str(network.containers), style="green" if network.containers else "yellow")
    return (
        Text(network.name, style="dim" if network.builtin else "bold"),
        Text(network.short_id, style="dim"),
        Text(network.driver),
        Text(network.scope),
        Text(", ".join(network.subnets) or "-"),
        attached,
        Text(", ".join(flags), style="dim"),
    )


class HousekeepingScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="housekeeping.back"),
        Binding("r", "refresh", "Refresh", id="housekeeping.refresh"),
        Binding("d", "remove", "Remove", id="housekeeping.remove"),
        Binding("P", "prune", "Prune", id="housekeeping.prune"),
        *[
            Binding(str(i), f"show_tab('{tab}')", title, id=f"housekeeping.tab_{tab}", show=False)
            for i, (tab, title) in enumerate(TABS, 1)
        ],
    ]

    # -- messages for an app that handles requests itself (no `requests` object) ------------
    class RefreshWanted(Message):
        def __init__(self, screen: HousekeepingScreen) -> None:
            super().__init__()
            self.screen = screen

    class PruneWanted(Message):
        def __init__(self, screen: HousekeepingScreen, kind: str) -> None:
            super().__init__()
            self.screen = screen
            self.kind = kind

    class RemoveVolumeWanted(Message):
        def __init__(self, screen: HousekeepingScreen, volume: VolumeSummary) -> None:
            super().__init__()
            self.screen = screen
            self.volume = volume

    class RemoveNetworkWanted(Message):
        def __init__(self, screen: HousekeepingScreen, network: NetworkSummary) -> None:
            super().__init__()
            self.screen = screen
            self.network = network

    def __init__(
        self,
        requests: HousekeepingRequests | None = None,
        *,
        label_filter: str | None = None,
        tab: str = "usage",
    ) -> None:
        super().__init__(id="housekeeping-screen")
        self.requests = requests
        self.label_filter = label_filter or None
        self.initial_tab = tab
        self.usage: DiskUsage | None = None
        self.volumes: list[VolumeSummary] | None = None
        self.networks: list[NetworkSummary] | None = None
        self.header_line = Static(id="housekeeping-header")
        self.usage_status = Static(id="housekeeping-usage-status", classes="housekeeping-status")
        self.volumes_status = Static(
            id="housekeeping-volumes-status", classes="housekeeping-status"
        )
        self.networks_status = Static(
            id="housekeeping-networks-status", classes="housekeeping-status"
        )
        self.usage_table: KeyedTable[UsageRow] = KeyedTable(
            [
                Column("kind", "Type", 10, 16),
                Column("total", "Total", 5, 8),
                Column("active", "Active", 6, 8),
                Column("size", "Size", 8, 10),
                Column("reclaimable", "Reclaimable", 11, 20),
            ],
            _usage_cells,
            key_of=lambda r: r.kind,
            sort_key=lambda r: _USAGE_ORDER.index(r.kind) if r.kind in _USAGE_ORDER else 99,
            id="housekeeping-usage",
        )
        self.volumes_table: KeyedTable[VolumeSummary] = KeyedTable(
            [
                Column("name", "Name", 12, 64, shrink=2),
                Column("driver", "Driver", 6, 12, shrink=1),
                Column("used", "In use", 6, 10, shrink=3),
                Column("size", "Size", 6, 10, shrink=3),
                Column("created", "Created", 0, 16, shrink=0),
            ],
            _volume_cells,
            key_of=lambda v: v.name,
            sort_key=lambda v: (v.anonymous, v.name),
            id="housekeeping-volumes",
        )
        self.networks_table: KeyedTable[NetworkSummary] = KeyedTable(
            [
                Column("name", "Name", 10, 40, shrink=3),
                Column("id", "ID", 0, 12, shrink=0),
                Column("driver", "Driver", 6, 10, shrink=2),
                Column("scope", "Scope", 0, 6, shrink=0),
                Column("subnets", "Subnets", 0, 36, shrink=1),
                Column("containers", "Containers", 5, 10, shrink=3),
                Column("flags", "Flags", 0, 30, shrink=0),
            ],
            _network_cells,
            key_of=lambda n: n.id,
            sort_key=lambda n: (not n.builtin, n.name),
            id="housekeeping-networks",
        )

    @property
    def filters(self) -> dict[str, Any] | None:
        """The engine filters every list and prune of this screen uses."""
        return {"label": [self.label_filter]} if self.label_filter else None

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.header_line
        with TabbedContent(initial=_pane_id(self.initial_tab), id="housekeeping-tabs"):
            with TabPane("Disk usage", id=_pane_id("usage")):
                yield self.usage_status
                yield self.usage_table
            with TabPane("Volumes", id=_pane_id("volumes")):
                yield self.volumes_status
                yield self.volumes_table
            with TabPane("Networks", id=_pane_id("networks")):
                yield self.networks_status
                yield self.networks_table
        yield KeyBar()

    def on_mount(self) -> None:
        head = Text(" Housekeeping", style="bold")
        if self.label_filter:
            head.append(f"  only objects labelled {self.label_filter}", style="yellow")
        head.append("  d removes · P prunes · r refreshes · Esc back", style="dim")
        self.header_line.update(head)
        loading = Text("Loading …", style="dim")
        for status in (self.usage_status, self.volumes_status, self.networks_status):
            status.update(loading)
        self.call_after_refresh(self._focus_tab, self.active_tab)
        self.action_refresh()

    # -- tabs -------------------------------------------------------------------------------------
    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#housekeeping-tabs", TabbedContent)

    @property
    def active_tab(self) -> str:
        return self.tabs.active.removeprefix("housekeeping-tab-")

    def action_show_tab(self, tab: str) -> None:
        self.tabs.active = _pane_id(tab)
        self._focus_tab(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_tab((event.pane.id or "").removeprefix("housekeeping-tab-"))

    def _focus_tab(self, tab: str) -> None:
        table = {
            "usage": self.usage_table,
            "volumes": self.volumes_table,
            "networks": self.networks_table,
        }.get(tab)
        if table is not None:
            table.focus()

    # -- from the app -----------------------------------------------------------------------------
    def show_usage(self, usage: DiskUsage) -> None:
        self.usage = usage
        self.usage_table.update_objects(usage.rows(), full=True)
        text = Text()
        text.append(f"{fmt.size(usage.total_size)} in use", style="bold")
        text.append(f", {fmt.size(usage.total_reclaimable)} reclaimable", style="bold")
        text.append(" · P prunes the highlighted row (it says how much first)", style="dim")
        if self.label_filter:
            text.append(f"\nSizes are for the whole engine; prunes only touch {self.label_filter}")
        self.usage_status.update(text)

    def show_volumes(self, volumes: list[VolumeSummary]) -> None:
        self.volumes = list(volumes)
        self.volumes_table.update_objects(self.volumes, full=True)
        unused = [v for v in self.volumes if v.in_use is False]
        if not self.volumes:
            what = f"labelled {self.label_filter}" if self.label_filter else "on this engine"
            self.volumes_status.update(Text(f"No volumes {what}.", style="dim"))
            return
        text = Text(f"{len(self.volumes)} volumes", style="bold")
        if any(v.in_use is not None for v in self.volumes):
            size = sum(v.size or 0 for v in unused)
            text.append(f", {len(unused)} unused ({fmt.size(size)})", style="bold")
        else:
            text.append(" (sizes being measured …)", style="dim")
        text.append(" · d removes · P prunes unused", style="dim")
        self.volumes_status.update(text)

    def show_networks(self, networks: list[NetworkSummary]) -> None:
        self.networks = list(networks)
        self.networks_table.update_objects(self.networks, full=True)
        unused = [n for n in self.networks if not n.builtin and not n.containers]
        text = Text(f"{len(self.networks)} networks", style="bold")
        text.append(f", {len(unused)} unused", style="bold")
        text.append(" · d removes · P prunes unused (built-in ones stay)", style="dim")
        self.networks_status.update(text)

    def show_error(self, sentence: str, tab: str | None = None) -> None:
        """A list could not be loaded: say so on its tab (or on all)."""
        statuses = {
            "usage": self.usage_status,
            "volumes": self.volumes_status,
            "networks": self.networks_status,
        }
        for name, status in statuses.items():
            if tab is None or tab == name:
                status.update(Text(sentence, style="bold red"))

    # -- selection --------------------------------------------------------------------------------
    @property
    def selected_volume(self) -> VolumeSummary | None:
        return self.volumes_table.selected

    @property
    def selected_network(self) -> NetworkSummary | None:
        return self.networks_table.selected

    @property
    def selected_usage_kind(self) -> str | None:
        row = self.usage_table.selected
        return USAGE_KINDS.get(row.kind) if row else None

    # -- actions ----------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        if self.requests is not None:
            self.requests.request_housekeeping(self)
        else:
            self.post_message(self.RefreshWanted(self))

    def action_remove(self) -> None:
        tab = self.active_tab
        if tab == "volumes":
            volume = self.selected_volume
            if volume is None:
                self.notify("No volume selected.", severity="warning", markup=False)
                return
            if self.requests is not None:
                self.requests.request_remove_volume(self, volume)
            else:
                self.post_message(self.RemoveVolumeWanted(self, volume))
        elif tab == "networks":
            network = self.selected_network
            if network is None:
                self.notify("No network selected.", severity="warning", markup=False)
                return
            if network.builtin:
                self.notify(
                    f"{network.name} is built in and cannot be removed.",
                    severity="warning",
                    markup=False,
                )
                return
            if self.requests is not None:
                self.requests.request_remove_network(self, network)
            else:
                self.post_message(self.RemoveNetworkWanted(self, network))
        else:
            self.notify(
                "d removes a volume or a network: P prunes a row here.", timeout=3, markup=False
            )

    def action_prune(self) -> None:
        tab = self.active_tab
        if tab == "usage":
            kind = self.selected_usage_kind
            if kind is None:
                self.notify("Highlight a row to prune.", severity="warning", markup=False)
                return
        else:
            kind = tab  # "volumes" | "networks"
        if self.requests is not None:
            self.requests.request_prune(self, kind)
        else:
            self.post_message(self.PruneWanted(self, kind))
