"""Messages that carry engine data from workers to the UI (posted thread-safely)."""

from __future__ import annotations

from textual.message import Message

from dockui.engine.client import EngineUnavailable
from dockui.engine.models import ContainerSummary, EngineInfo, ImageSummary, Layer


class EngineConnected(Message):
    def __init__(self, info: EngineInfo) -> None:
        super().__init__()
        self.info = info


class EngineDisconnected(Message):
    def __init__(
        self, error: EngineUnavailable, retry_in: float, attempt: int, was_connected: bool
    ) -> None:
        super().__init__()
        self.error = error
        self.retry_in = retry_in
        self.attempt = attempt
        self.was_connected = was_connected


class ContainersUpdated(Message):
    def __init__(
        self, upserts: tuple[ContainerSummary, ...], removed: tuple[str, ...], full: bool
    ) -> None:
        super().__init__()
        self.upserts = upserts
        self.removed = removed
        self.full = full


def merge_updates(updates: list[ContainersUpdated]) -> ContainersUpdated:
    """One update with the effect of `updates` applied in order (a full list resets)."""
    if len(updates) == 1:
        return updates[0]
    upserts: dict[str, ContainerSummary] = {}
    removed: dict[str, None] = {}
    full = False
    for update in updates:
        if update.full:
            full = True
            upserts = {c.id: c for c in update.upserts}
            removed = {}
            continue
        for cid in update.removed:
            upserts.pop(cid, None)
            if not full:
                removed[cid] = None
        for c in update.upserts:
            upserts[c.id] = c
            removed.pop(c.id, None)
    return ContainersUpdated(tuple(upserts.values()), tuple(removed), full)


class ImagesUpdated(Message):
    def __init__(
        self, upserts: tuple[ImageSummary, ...], removed: tuple[str, ...], full: bool
    ) -> None:
        super().__init__()
        self.upserts = upserts
        self.removed = removed
        self.full = full


class LayersLoaded(Message):
    def __init__(self, image: ImageSummary, layers: list[Layer] | None, error: str = "") -> None:
        super().__init__()
        self.image = image
        self.layers = layers
        self.error = error


class LogsReady(Message):
    """Log lines are queued in the app's LogSession (one wake-up for many lines)."""


class LogEnded(Message):
    def __init__(self, container_id: str, reason: str) -> None:
        super().__init__()
        self.container_id = container_id
        self.reason = reason


class StatsSampled(Message):
    """A round of one-shot stats samples, [(container id, sample)], from the stats poller."""

    def __init__(self, samples: list[tuple[str, object]]) -> None:
        super().__init__()
        self.samples = samples
