"""Images, volumes and networks housekeeping, disk usage, and prunes that say what they free.

- images: `remove_image` (force option), `tag_image` (the reference is validated first,
  `parse_reference`), `prune(engine, "images")` (dangling only by default)
- volumes / networks: `list_volumes`, `list_networks` (frozen dataclasses), `remove_volume`,
  `remove_network`, prune
- `disk_usage()`: one `df` request → images / containers / volumes / build cache rows with
  count, active, size and reclaimable, computed the way `docker system df` does
- `prune_preview(engine, kind)` says how much a prune WILL free (from df and the same
  selection rules the engine applies) before the user confirms; `prune(engine, kind)` then
  returns what the engine actually removed and the bytes it freed.

Every engine refusal comes back as an `OperationError` carrying one sentence. Everything
blocks: call it from a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dockui.engine.actions import OperationError
from dockui.engine.errors import describe_error
from dockui.engine.models import parse_rfc3339
from dockui.engine.registry import InvalidReference
from dockui.engine.registry import parse_reference as _parse_full_reference
from dockui.engine.text import clean_field

if TYPE_CHECKING:
    from dockui.engine.client import Engine

PruneKind = Literal["images", "containers", "volumes", "networks", "build_cache"]
PRUNE_KINDS: tuple[str, ...] = ("images", "containers", "volumes", "networks", "build_cache")
BUILTIN_NETWORKS = frozenset({"bridge", "host", "none", "nat"})
ANONYMOUS_VOLUME_LABEL = "com.docker.volume.anonymous"

Filters = Mapping[str, Any]


# -- references -------------------------------------------------------------------------------
def parse_reference(reference: str, default_tag: str = "latest") -> tuple[str, str]:
    """(repository, tag) of `name[:tag]` (no digest), by the reference grammar of
    `engine.registry` (one grammar for tagging, pushing and pulling); raises
    InvalidReference with a sentence otherwise."""
    ref = _parse_full_reference(reference, default_tag=default_tag, allow_digest=False)
    return ref.repository, ref.tag or default_tag


def validate_reference(reference: str) -> str | None:
    """None when `reference` is a valid name[:tag], else the sentence that says why not."""
    try:
        parse_reference(reference)
    except InvalidReference as exc:
        return str(exc)
    return None


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ImageRemoval:
    untagged: tuple[str, ...]
    deleted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VolumeSummary:
    name: str
    driver: str
    mountpoint: str
    created: float | None
    scope: str
    labels: tuple[tuple[str, str], ...] = ()
    size: int | None = None  # from disk usage only (None when not asked or unknown)
    ref_count: int | None = None  # containers using it (disk usage only)

    @property
    def anonymous(self) -> bool:
        return any(k == ANONYMOUS_VOLUME_LABEL for k, _ in self.labels) or bool(
            re.fullmatch(r"[0-9a-f]{64}", self.name)
        )

    @property
    def in_use(self) -> bool | None:
        return None if self.ref_count is None else self.ref_count > 0


@dataclass(frozen=True, slots=True)
class NetworkSummary:
    id: str
    name: str
    driver: str
    scope: str
    created: float | None
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    ipv6: bool = False
    subnets: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    containers: int | None = None  # known after inspect (the list leaves it empty)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def builtin(self) -> bool:
        return self.name in BUILTIN_NETWORKS


@dataclass(frozen=True, slots=True)
class PruneResult:
    kind: str
    removed: tuple[str, ...]  # ids or names the engine reports as deleted
    space_reclaimed: int  # bytes, as the engine reports them
    untagged: tuple[str, ...] = ()  # images only

    @property
    def count(self) -> int:
        return len(self.removed)


@dataclass(frozen=True, slots=True)
class PrunePreview:
    kind: str
    items: tuple[str, ...]  # display names of what would go
    bytes: int  # what the prune should free (an estimate for images: shared layers stay)
    exact: bool = True

    @property
    def count(self) -> int:
        return len(self.items)

    def sentence(self) -> str:
        noun = _NOUNS[self.kind]
        if not self.items:
            return f"Nothing to prune: no {noun[1]}."
        what = noun[0] if len(self.items) == 1 else noun[1]
        size = "" if self.kind == "networks" else f", freeing {_size(self.bytes, self.exact)}"
        return f"Prune {len(self.items)} {what}{size}?"


_NOUNS = {
    "images": ("dangling image", "dangling images"),
    "all_images": ("unused image", "unused images"),
    "containers": ("stopped container", "stopped containers"),
    "volumes": ("unused volume", "unused volumes"),
    "networks": ("unused network", "unused networks"),
    "build_cache": ("unused build cache entry", "unused build cache entries"),
}


def _size(n: int, exact: bool = True) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            text = f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            return text if exact else f"about {text}"
        value /= 1000
    return f"{n} B"


@dataclass(frozen=True, slots=True)
class UsageRow:
    kind: str  # Images | Containers | Local Volumes | Build Cache
    total: int
    active: int
    size: int
    reclaimable: int

    @property
    def reclaimable_percent(self) -> int:
        return (self.reclaimable * 100) // self.size if self.size > 0 else 0


@dataclass(frozen=True)
class DiskUsage:
    images: UsageRow
    containers: UsageRow
    volumes: UsageRow
    build_cache: UsageRow
    raw: dict[str, Any]

    def rows(self) -> tuple[UsageRow, ...]:
        return (self.images, self.containers, self.volumes, self.build_cache)

    @property
    def total_size(self) -> int:
        return sum(r.size for r in self.rows())

    @property
    def total_reclaimable(self) -> int:
        return sum(r.reclaimable for r in self.rows())


# -- helpers ------------------------------------------------------------------------------------
def _labels(raw: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((clean_field(k), clean_field(v)) for k, v in (raw or {}).items()))


def _time(value: Any) -> float | None:
    if not value:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    if text.startswith("0001-"):
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def _label_filters(filters: Filters | None) -> list[str]:
    if not filters:
        return []
    value = filters.get("label")
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def matches_labels(labels: Mapping[str, str] | None, filters: Filters | None) -> bool:
    """Client-side version of the engine's `label` filter: every `key` or `key=value` given."""
    labels = labels or {}
    for spec in _label_filters(filters):
        key, eq, value = spec.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def _engine_error(exc: BaseException, sentence: str | None = None) -> OperationError:
    return OperationError(sentence or describe_error(exc))


def _api_at_least(engine: Engine, wanted: tuple[int, int]) -> bool:
    try:
        major, minor = (int(p) for p in engine.info.api_version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


def _container_names(engine: Engine, ids: Iterable[str]) -> list[str]:
    ids = [i for i in ids if i]
    if not ids:
        return []
    try:
        found = {c.id: c.name for c in engine.list_containers(ids=ids)}
    except Exception:
        found = {}
    names = []
    for cid in ids:
        match = next((n for i, n in found.items() if i.startswith(cid)), None)
        names.append(match or cid[:12])
    return names


# -- images -------------------------------------------------------------------------------------
def remove_image(
    engine: Engine, image: str, *, force: bool = False, noprune: bool = False
) -> ImageRemoval:
    """Remove (untag, then delete if no tag is left) an image by reference or id."""
    try:
        items = engine.api.remove_image(image, force=force, noprune=noprune) or []
    except Exception as exc:
        raise _engine_error(exc, _image_refusal(engine, exc, image)) from exc
    return ImageRemoval(
        untagged=tuple(clean_field(i["Untagged"]) for i in items if i.get("Untagged")),
        deleted=tuple(str(i["Deleted"]) for i in items if i.get("Deleted")),
    )


def _image_refusal(engine: Engine, exc: BaseException, ref: str) -> str:
    text = describe_error(exc)
    lowered = text.lower()
    shown = (
        ref.removeprefix("sha256:")[:12] if re.fullmatch(r"(sha256:)?[0-9a-f]{12,64}", ref) else ref
    )
    container = re.search(r"container ([0-9a-f]{12,64})", text)
    cname = _container_names(engine, [container.group(1)])[0] if container else "a container"
    if getattr(exc, "status_code", None) == 404 or "no such image" in lowered:
        return f"{shown} no longer exists"
    if "being used by running container" in lowered:
        return f"{shown} is used by running container {cname}: stop and remove it first"
    if "being used by stopped container" in lowered or "is using its referenced image" in lowered:
        return f"{shown} is used by container {cname}: remove it first, or use force"
    if "referenced in multiple repositories" in lowered or "referenced in one or more" in lowered:
        return f"{shown} has several tags: remove them one at a time, or use force to remove all"
    if "has dependent child images" in lowered:
        return f"{shown} is the parent of other images: remove those first"
    return f"{shown}: {text}"


def tag_image(engine: Engine, image: str, reference: str, *, force: bool = False) -> str:
    """Tag `image` (id or reference) as `reference` (validated first); returns `repo:tag`."""
    repository, tag = parse_reference(reference)
    try:
        engine.api.tag(image, repository, tag, force=force)
    except Exception as exc:
        if getattr(exc, "status_code", None) == 404:
            raise _engine_error(exc, f"{image} no longer exists") from exc
        raise _engine_error(exc, f"Cannot tag {image}: {describe_error(exc)}") from exc
    return f"{repository}:{tag}"


def _image_prune_filters(dangling_only: bool, filters: Filters | None) -> dict[str, Any]:
    merged: dict[str, Any] = dict(filters or {})
    merged["dangling"] = "true" if dangling_only else "false"
    return merged


# -- volumes ------------------------------------------------------------------------------------
def list_volumes(
    engine: Engine, filters: Filters | None = None, *, with_usage: bool = False
) -> list[VolumeSummary]:
    """Volumes by name. `with_usage` adds size and users from one `df` request (slow on hosts
    with big volumes: the engine walks them)."""
    raw = (engine.api.volumes(filters=dict(filters) if filters else None) or {}).get("Volumes")
    usage: dict[str, dict[str, Any]] = {}
    if with_usage:
        for v in engine.api.df().get("Volumes") or ():
            usage[v.get("Name")] = v.get("UsageData") or {}
    out = []
    for v in raw or ():
        data = usage.get(v.get("Name"), {})
        size = data.get("Size")
        refs = data.get("RefCount")
        out.append(
            VolumeSummary(
                name=clean_field(v.get("Name")),
                driver=clean_field(v.get("Driver")),
                mountpoint=clean_field(v.get("Mountpoint")),
                created=_time(v.get("CreatedAt")),
                scope=clean_field(v.get("Scope")),
                labels=_labels(v.get("Labels")),
                size=int(size) if size is not None and size >= 0 else None,
                ref_count=int(refs) if refs is not None and refs >= 0 else None,
            )
        )
    return sorted(out, key=lambda v: v.name)


def remove_volume(engine: Engine, name: str, *, force: bool = False) -> None:
    try:
        engine.api.remove_volume(name, force=force)
    except Exception as exc:
        text = describe_error(exc)
        if getattr(exc, "status_code", None) == 404 or "no such volume" in text.lower():
            raise _engine_error(exc, f"Volume {name} no longer exists") from exc
        if "volume is in use" in text.lower():
            ids = re.findall(r"[0-9a-f]{64}", text)
            users = ", ".join(_container_names(engine, ids)) or "a container"
            raise _engine_error(
                exc, f"Volume {name} is in use by {users}: remove the container first"
            ) from exc
        raise _engine_error(exc, f"Cannot remove volume {name}: {text}") from exc


# -- networks -----------------------------------------------------------------------------------
def _network(raw: Mapping[str, Any]) -> NetworkSummary:
    ipam = (raw.get("IPAM") or {}).get("Config") or ()
    containers = raw.get("Containers")
    return NetworkSummary(
        id=str(raw.get("Id") or ""),
        name=clean_field(raw.get("Name")),
        driver=clean_field(raw.get("Driver")),
        scope=clean_field(raw.get("Scope")),
        created=_time(raw.get("Created")),
        internal=bool(raw.get("Internal")),
        attachable=bool(raw.get("Attachable")),
        ingress=bool(raw.get("Ingress")),
        ipv6=bool(raw.get("EnableIPv6")),
        subnets=tuple(clean_field(c.get("Subnet")) for c in ipam if c.get("Subnet")),
        labels=_labels(raw.get("Labels")),
        containers=len(containers) if containers else None,
    )


def list_networks(
    engine: Engine, filters: Filters | None = None, *, with_containers: bool = False
) -> list[NetworkSummary]:
    """Networks by name. The list request leaves out who is attached; `with_containers`
    inspects each non-built-in network to count its containers."""
    raw = engine.api.networks(filters=dict(filters) if filters else None) or []
    out = []
    for n in raw:
        net = _network(n)
        if with_containers:
            if net.builtin:
                net = _replace_containers(net, None)
            else:
                try:
                    detail = engine.api.inspect_network(net.id)
                    net = _replace_containers(net, len(detail.get("Containers") or {}))
                except Exception:
                    pass  # removed meanwhile
        out.append(net)
    return sorted(out, key=lambda n: (not n.builtin, n.name))


def _replace_containers(net: NetworkSummary, count: int | None) -> NetworkSummary:
    from dataclasses import replace

    return replace(net, containers=count)


def remove_network(engine: Engine, network: str) -> None:
    try:
        engine.api.remove_network(network)
    except Exception as exc:
        text = describe_error(exc)
        lowered = text.lower()
        if getattr(exc, "status_code", None) == 404 or "not found" in lowered:
            raise _engine_error(exc, f"Network {network} no longer exists") from exc
        if "pre-defined network" in lowered:
            raise _engine_error(exc, f"{network} is built in and cannot be removed") from exc
        if "active endpoints" in lowered:
            raise _engine_error(
                exc, f"Network {network} has containers attached: disconnect or remove them first"
            ) from exc
        raise _engine_error(exc, f"Cannot remove network {network}: {text}") from exc


# -- disk usage ---------------------------------------------------------------------------------
_ACTIVE_STATES = ("running", "paused", "restarting")


def _is_dangling(image: Mapping[str, Any]) -> bool:
    tags = [t for t in image.get("RepoTags") or () if t and t != "<none>:<none>"]
    return not tags


def usage_from_df(df: Mapping[str, Any]) -> DiskUsage:
    """The four `docker system df` rows from a df payload (docker CLI's own arithmetic)."""
    images = df.get("Images") or []
    image_size = int(df.get("LayersSize") or 0)
    used = 0
    for i in images:
        if i.get("Containers", 0) and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1:
            used += int(i["Size"]) - int(i["SharedSize"])
    image_row = UsageRow(
        "Images",
        total=len(images),
        active=sum(1 for i in images if (i.get("Containers") or 0) > 0),
        size=image_size,
        reclaimable=max(0, image_size - used),
    )
    containers = df.get("Containers") or []
    c_active = [c for c in containers if any(s in str(c.get("State")) for s in _ACTIVE_STATES)]
    c_size = sum(int(c.get("SizeRw") or 0) for c in containers)
    container_row = UsageRow(
        "Containers",
        total=len(containers),
        active=len(c_active),
        size=c_size,
        reclaimable=c_size - sum(int(c.get("SizeRw") or 0) for c in c_active),
    )
    volumes = df.get("Volumes") or []
    v_size = v_free = 0
    for v in volumes:
        data = v.get("UsageData") or {}
        size = int(data.get("Size", -1))
        if size != -1:
            v_size += size
            if int(data.get("RefCount") or 0) == 0:
                v_free += size
    volume_row = UsageRow(
        "Local Volumes",
        total=len(volumes),
        active=sum(1 for v in volumes if int((v.get("UsageData") or {}).get("RefCount") or 0)),
        size=v_size,
        reclaimable=v_free,
    )
    cache = df.get("BuildCache") or []
    builder_size = int(df.get("BuilderSize") or 0) or sum(
        int(b.get("Size") or 0) for b in cache if not b.get("Shared")
    )
    in_use = sum(int(b.get("Size") or 0) for b in cache if b.get("InUse") and not b.get("Shared"))
    cache_row = UsageRow(
        "Build Cache",
        total=len(cache),
        active=sum(1 for b in cache if b.get("InUse")),
        size=builder_size,
        reclaimable=max(0, builder_size - in_use),
    )
    return DiskUsage(image_row, container_row, volume_row, cache_row, dict(df))


def disk_usage(engine: Engine) -> DiskUsage:
    """One `df` request (the engine walks every volume and layer: seconds on big hosts)."""
    return usage_from_df(engine.api.df())


# -- prune --------------------------------------------------------------------------------------
def prune_preview(
    engine: Engine,
    kind: str,
    filters: Filters | None = None,
    *,
    dangling_only: bool = True,
    df: Mapping[str, Any] | None = None,
) -> PrunePreview:
    """What `prune(engine, kind, filters)` would remove and the bytes it would free, without
    removing anything. Pass a `df` payload already fetched to save a request. Label filters
    apply to images, containers, volumes and networks (build cache entries carry no labels)."""
    if kind not in PRUNE_KINDS:
        raise ValueError(f"unknown prune kind {kind!r}; one of {', '.join(PRUNE_KINDS)}")
    if kind == "networks":
        items = [
            n.name
            for n in list_networks(engine, filters, with_containers=True)
            if not n.builtin and not n.containers
        ]
        return PrunePreview(kind, tuple(items), 0)
    if df is None:
        df = engine.api.df()
    if kind == "images":
        chosen = [
            i
            for i in df.get("Images") or ()
            if not i.get("Containers")
            and (_is_dangling(i) or not dangling_only)
            and matches_labels(i.get("Labels"), filters)
        ]
        size = sum(
            max(0, int(i.get("Size") or 0) - max(0, int(i.get("SharedSize") or 0))) for i in chosen
        )
        names = [
            clean_field((i.get("RepoTags") or [""])[0])
            if not _is_dangling(i)
            else str(i.get("Id", "")).removeprefix("sha256:")[:12]
            for i in chosen
        ]
        # Layers shared only among the pruned images are freed too but counted as shared.
        return PrunePreview(
            "images" if dangling_only else "all_images", tuple(names), size, exact=False
        )
    if kind == "containers":
        chosen = [
            c
            for c in df.get("Containers") or ()
            if not any(s in str(c.get("State")) for s in _ACTIVE_STATES)
            and matches_labels(c.get("Labels"), filters)
        ]
        names = [clean_field(((c.get("Names") or ["/?"])[0]).lstrip("/")) for c in chosen]
        return PrunePreview(kind, tuple(names), sum(int(c.get("SizeRw") or 0) for c in chosen))
    if kind == "volumes":
        anonymous_only = _api_at_least(engine, (1, 42)) and not _all_volumes(filters)
        chosen = []
        for v in df.get("Volumes") or ():
            data = v.get("UsageData") or {}
            if int(data.get("RefCount") or 0) != 0 or not matches_labels(v.get("Labels"), filters):
                continue
            if anonymous_only and ANONYMOUS_VOLUME_LABEL not in (v.get("Labels") or {}):
                continue
            if v.get("Driver") not in (None, "", "local"):
                continue  # the engine prunes local volumes only
            chosen.append(v)
        size = sum(max(0, int((v.get("UsageData") or {}).get("Size", 0))) for v in chosen)
        return PrunePreview(kind, tuple(clean_field(v.get("Name")) for v in chosen), size)
    # build cache
    chosen = [b for b in df.get("BuildCache") or () if not b.get("InUse")]
    size = sum(int(b.get("Size") or 0) for b in chosen if not b.get("Shared"))
    return PrunePreview(kind, tuple(str(b.get("ID", ""))[:12] for b in chosen), size)


def _all_volumes(filters: Filters | None) -> bool:
    value = (filters or {}).get("all")
    return str(value).lower() in ("1", "true")


def prune(
    engine: Engine, kind: str, filters: Filters | None = None, *, dangling_only: bool = True
) -> PruneResult:
    """Prune `kind`; `filters` go to the engine (e.g. {"label": "dockui.test=1"}, "until").
    Images: dangling ones only unless `dangling_only=False` (then every unused image)."""
    api = engine.api
    flt = dict(filters) if filters else None
    try:
        if kind == "images":
            raw = api.prune_images(filters=_image_prune_filters(dangling_only, filters))
            items = raw.get("ImagesDeleted") or []
            return PruneResult(
                kind,
                tuple(str(i["Deleted"]) for i in items if i.get("Deleted")),
                int(raw.get("SpaceReclaimed") or 0),
                tuple(clean_field(i["Untagged"]) for i in items if i.get("Untagged")),
            )
        if kind == "containers":
            raw = api.prune_containers(filters=flt)
            return PruneResult(
                kind,
                tuple(str(i) for i in raw.get("ContainersDeleted") or ()),
                int(raw.get("SpaceReclaimed") or 0),
            )
        if kind == "volumes":
            raw = api.prune_volumes(filters=flt)
            return PruneResult(
                kind,
                tuple(clean_field(i) for i in raw.get("VolumesDeleted") or ()),
                int(raw.get("SpaceReclaimed") or 0),
            )
        if kind == "networks":
            raw = api.prune_networks(filters=flt)
            return PruneResult(
                kind, tuple(clean_field(i) for i in raw.get("NetworksDeleted") or ()), 0
            )
        if kind == "build_cache":
            raw = api.prune_builds(filters=flt)
            return PruneResult(
                kind,
                tuple(str(i) for i in raw.get("CachesDeleted") or ()),
                int(raw.get("SpaceReclaimed") or 0),
            )
    except Exception as exc:
        text = describe_error(exc)
        if "already running" in text.lower():
            raise _engine_error(exc, "Another prune is running on this engine: try again") from exc
        raise _engine_error(exc, f"Prune {kind.replace('_', ' ')} failed: {text}") from exc
    raise ValueError(f"unknown prune kind {kind!r}; one of {', '.join(PRUNE_KINDS)}")
