"""A push or a pull, live: one row per layer with a bar, bytes and the engine's status
("Pushing", "Layer already exists", "Mounted from team/app", "Extracting", …), the overall
state above, and the result below: the digest (c copies it), or the failure as a sentence.

Esc cancels a running transfer (the screen says so when it stopped) and closes a finished
one. The screen never talks to the engine: the app's controller feeds it events
(`show_events`, `show_result`) and is told about a cancel through `on_cancel`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from dockui import format as fmt
from dockui.engine.registry import (
    LayerProgress,
    StatusText,
    TransferCancelled,
    TransferDone,
    TransferEvent,
    TransferFailed,
)
from dockui.widgets.keybar import KeyBar

BAR_WIDTH = 20
PHASE_STYLE = {
    "pushed": "green",
    "complete": "green",
    "exists": "cyan",
    "mounted": "cyan",
    "pushing": "yellow",
    "downloading": "yellow",
    "extracting": "magenta",
    "verifying": "magenta",
    "downloaded": "magenta",
    "waiting": "dim",
    "preparing": "dim",
}


def bar(layer: LayerProgress, width: int = BAR_WIDTH) -> Text:
    """`██████░░░░ 60%`, full for a finished layer, a dim track while the size is unknown."""
    fraction = layer.fraction
    if fraction is None:
        return Text("░" * width, style="dim")
    filled = round(fraction * width)
    text = Text("█" * filled, style="green" if layer.done else "yellow")
    text.append("░" * (width - filled), style="dim")
    text.append(f" {fraction * 100:3.0f}%")
    return text


def layer_bytes(layer: LayerProgress, size: int | None = None) -> str:
    """`1.2 MB / 3.1 MB` while moving; the layer's size (when seen) once it is done."""
    if layer.current is None:
        return fmt.size(size) if size and layer.done else ""
    if layer.total and layer.current <= layer.total:
        return f"{fmt.size(layer.current)} / {fmt.size(layer.total)}"
    return fmt.size(layer.current)


class TransferScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Cancel / close", id="transfer.back"),
        Binding("c", "copy_digest", "Copy digest", id="transfer.copy"),
    ]

    def __init__(
        self, kind: str, reference: str, on_cancel: Callable[[], None] | None = None
    ) -> None:
        super().__init__(id="transfer-screen")
        self.kind = kind  # "push" or "pull"
        self.reference = reference
        self.on_cancel = on_cancel
        self.running = True
        self.cancelling = False
        self.result: TransferDone | TransferFailed | TransferCancelled | None = None
        self.layer_states: dict[str, LayerProgress] = {}
        self.sizes: dict[str, int] = {}  # bytes seen per layer (the done events carry none)
        self.last_status = ""
        self.status = Static("", id="transfer-status")
        self.table: DataTable[Text] = DataTable(cursor_type="row", id="transfer-layers")
        self.outcome = Static("", id="transfer-result")
        # Events from the transfer's thread (deque.append is thread-safe); drained ten times
        # a second, so a pull of many small layers repaints a few times, not per message.
        self.queue: deque[TransferEvent] = deque()

    @property
    def verb(self) -> str:
        return "Pushing" if self.kind == "push" else "Pulling"

    def compose(self) -> ComposeResult:
        with Vertical(id="transfer-view", classes="pane"):
            yield self.status
            yield self.table
            yield self.outcome
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#transfer-view").border_title = f"{self.verb} {self.reference}"
        self.table.add_column("Layer", key="id", width=12)
        self.table.add_column("Progress", key="bar", width=BAR_WIDTH + 5)
        self.table.add_column("Bytes", key="bytes", width=21)
        self.table.add_column("Status", key="status")
        self.status.update(Text(f"{self.verb} {self.reference} …", style="bold"))
        self.outcome.display = False
        self.table.focus()
        self.set_interval(0.1, self.drain)

    def drain(self) -> None:
        """Show what the transfer's thread queued since the last drain."""
        if not self.queue:
            return
        events: list[LayerProgress | StatusText] = []
        while self.queue:
            event = self.queue.popleft()
            if isinstance(event, (LayerProgress, StatusText)):
                events.append(event)
            else:
                self.show_events(events)
                events = []
                self.show_result(event)
        if events:
            self.show_events(events)

    # -- events from the controller ------------------------------------------------------------
    def show_events(self, events: Iterable[LayerProgress | StatusText]) -> None:
        for event in events:
            if isinstance(event, LayerProgress):
                self._layer(event)
            elif isinstance(event, StatusText):
                self.last_status = event.text
        if self.running and not self.cancelling:
            self.status.update(self._summary())

    def _layer(self, layer: LayerProgress) -> None:
        known = layer.id in self.layer_states
        self.layer_states[layer.id] = layer
        if layer.phase != "extracting":
            seen = layer.total if layer.total and layer.total >= (layer.current or 0) else None
            seen = seen or layer.current
            if seen:
                self.sizes[layer.id] = max(seen, self.sizes.get(layer.id, 0))
        status = Text(layer.status, style=PHASE_STYLE.get(layer.phase, ""))
        size = self.sizes.get(layer.id)
        cells = (Text(layer.id, style="dim"), bar(layer), Text(layer_bytes(layer, size)), status)
        if not known:
            self.table.add_row(*cells, key=layer.id)
            return
        for column, value in zip(("id", "bar", "bytes", "status"), cells, strict=True):
            self.table.update_cell(layer.id, column, value)

    def _summary(self) -> Text:
        layers = self.layer_states.values()
        done = sum(1 for layer in layers if layer.done)
        moved = sum(layer.current or 0 for layer in layers if layer.phase != "extracting")
        text = Text(f"{self.verb} {self.reference}", style="bold")
        if self.layer_states:
            text.append(f" · {done} of {len(self.layer_states)} layers done")
        if moved:
            text.append(f" · {fmt.size(moved)} {'sent' if self.kind == 'push' else 'received'}")
        if self.last_status:
            text.append(f"\n{self.last_status}", style="dim")
        text.append("   Esc cancels", style="dim")
        return text

    def show_result(self, result: TransferDone | TransferFailed | TransferCancelled) -> None:
        self.running = False
        self.cancelling = False
        self.result = result
        self.outcome.display = True
        if isinstance(result, TransferDone):
            verb = "pushed" if self.kind == "push" else "pulled"
            head = Text(f"✓ {verb} {result.reference}", style="bold green")
            if result.up_to_date:
                head.append(" (already up to date)", style="cyan")
            head.append(f" · {result.seconds:.1f} s", style="dim")
            head.append("   c copies the digest · Esc closes", style="dim")
            self.status.update(head)
            body = Text("Digest: ", style="bold")
            body.append(result.digest or "(the engine named none)")
            if result.image_id:
                body.append("\nImage:  ", style="bold")
                body.append(result.image_id)
            if result.digest:
                body.append("\nPull by digest: ", style="bold")
                name = result.reference.rsplit("@", 1)[0]
                if ":" in name.rsplit("/", 1)[-1]:
                    name = name.rsplit(":", 1)[0]
                body.append(f"{name}@{result.digest}")
            self.outcome.update(body)
        elif isinstance(result, TransferFailed):
            self.status.update(
                Text(f"✗ {self.kind} of {result.reference} failed   Esc closes", style="bold red")
            )
            self.outcome.update(Text(result.sentence, style="red"))
        else:
            word = "Push" if self.kind == "push" else "Pull"
            self.status.update(
                Text(f"{word} of {result.reference} cancelled.   Esc closes", style="bold yellow")
            )
            self.outcome.update(
                Text(
                    "Cancelled: the engine stopped the transfer"
                    + (
                        "; the registry has no new manifest."
                        if self.kind == "push"
                        else "; layers already downloaded stay in the engine's cache."
                    ),
                    style="yellow",
                )
            )

    # -- keys ------------------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.running:
            if not self.cancelling:
                self.cancelling = True
                self.status.update(Text("Cancelling …", style="bold yellow"))
                if self.on_cancel is not None:
                    self.on_cancel()
            return
        self.dismiss()

    def action_copy_digest(self) -> None:
        result = self.result
        if isinstance(result, TransferDone) and result.digest:
            self.app.copy_to_clipboard(result.digest)
            self.notify(f"Copied {result.digest[:19]}…", timeout=3)
        else:
            self.notify("No digest yet.", severity="warning", timeout=3)

    @property
    def text(self) -> str:
        """What the status and result say (for tests and screenshots)."""
        parts = [str(self.status.render())]
        if self.outcome.display:
            parts.append(str(self.outcome.render()))
        return "\n".join(parts)
