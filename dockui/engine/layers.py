"""Layer analysis from an image export stream: what each layer adds, changes and removes,
and how much of the image is wasted — the numbers dive reports, and the right ones where
dive is wrong.

Why it is built this way:

- The input is the engine's image export (`docker save`, docker-py `APIClient.get_image()`),
  an iterator of byte chunks. dive writes the whole export to disk first; we parse while the
  bytes arrive, so the cost approaches the export itself and nothing hits the disk.
- Only tar *headers* are kept. File contents are read in bounded blocks (to fingerprint them,
  so a rewrite with the same size still shows as modified, as dive's content hash does) and
  dropped. Memory grows with the number of files, never with their size.
- The outer tar is read in stream mode, so its members come in archive order, and the index
  (`manifest.json` / `index.json`) often comes *after* the layer blobs. Every member that looks
  like a layer is therefore summarised as it streams, keyed by its path in the archive, and
  the summaries are put in order at the end, once the manifest is known. Small JSON members
  (configs, manifests, indexes — all well under 1 MB) are kept as bytes for that step.
- Both export layouts are read: the legacy one (`manifest.json` → `<id>/layer.tar`) and the OCI
  one (`index.json` → manifest blob, possibly through nested indexes → layer blobs that are
  plain tar, gzip or zstd). Docker 25+ writes the OCI layout plus a `manifest.json` pointing
  into `blobs/`; either index is enough.

Nothing here imports Textual: the TUI and the `dockui layers` CLI both sit on top.
"""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from dockui.engine.models import clean_instruction

# Entry kinds.
FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
WHITEOUT = "whiteout"  # `.wh.NAME`: NAME (and all below it) is gone from the lower layers
OPAQUE = "opaque"  # `.wh..wh..opq` in D: everything below D from the lower layers is gone
OTHER = "other"  # devices, fifos

# Change marks.
ADDED = "added"
MODIFIED = "modified"
REMOVED = "removed"
UNCHANGED = "unchanged"

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
JSON_LIMIT = 1 << 20  # configs, manifests and indexes are a few KB; never buffer more
READ_BLOCK = 256 * 1024  # content is fingerprinted in blocks of this size, then dropped
PROGRESS_STEP = 1 << 20
STREAM_BUFFER = 256 * 1024  # tarfile reads 10 KB at a time by default: too many calls


class ContentReader(Protocol):
    """Hands the contents of selected files to a caller as the layers stream past (the
    image audit reads package databases and small text files this way). The layer
    analysis passes none: it stays on the headers-only path.

    `wants(entry)` is asked for every regular file: how many bytes of it to read (0: none).
    `take(source, entry, data, truncated)` then gets those bytes; `source` is the layer's
    path inside the export (layers are put in order only at the end). Nothing is kept.
    """

    def wants(self, entry: LayerEntry) -> int: ...

    def take(self, source: str, entry: LayerEntry, data: bytes, truncated: bool) -> None: ...


class LayerAnalysisError(Exception):
    """The export cannot be analysed; the message says why in one line."""


class AnalysisCancelled(LayerAnalysisError):
    """The caller's `cancel` callback asked to stop."""


# ---------------------------------------------------------------------------------------------
# What one layer tar contains


@dataclass(frozen=True, slots=True)
class LayerEntry:
    """One tar header of a layer, reduced to what the analysis and the file tree need.

    `path` is absolute and normalised (`/etc/passwd`). For a whiteout it is the path the
    whiteout removes (`/etc/.wh.passwd` → `/etc/passwd`), for an opaque whiteout the directory
    it makes opaque, so all lookups work on real paths.
    """

    path: str
    kind: str
    size: int = 0  # the tar header's size: dive's FileInfo.Size (0 for dirs, links, whiteouts)
    mode: int = 0  # permission bits as in the header
    uid: int = 0
    gid: int = 0
    link: str = ""  # symlink target as written; hard link: absolute path of the target
    checksum: int | None = None  # CRC-32 of the content (regular files, hard links), if read
    implicit: bool = False  # a parent directory the tar never listed (only in filesystems)

    @property
    def is_dir(self) -> bool:
        return self.kind == DIR

    @property
    def is_whiteout(self) -> bool:
        return self.kind in (WHITEOUT, OPAQUE)

    def differs_from(self, older: LayerEntry) -> bool:
        """Modified relative to `older`: type, content, link, mode, uid or gid changed.

        dive compares type, an xxhash of the content, mode, uid and gid. We compare a CRC-32
        plus the size (content), which finds the same changes; when contents were not read,
        the size alone stands in for them.
        """
        if self.kind != older.kind or self.link != older.link:
            return True
        if (self.mode, self.uid, self.gid) != (older.mode, older.uid, older.gid):
            return True
        if self.kind in (FILE, HARDLINK):
            if self.size != older.size:
                return True
            if self.checksum is not None and older.checksum is not None:
                return self.checksum != older.checksum
        return False


@dataclass(frozen=True, slots=True)
class LayerTar:
    """The summary of one layer tar as found in the export, before ordering."""

    source: str  # member path inside the export ("<id>/layer.tar", "blobs/sha256/<hex>")
    compression: str  # "none", "gzip" or "zstd"
    stored_size: int  # bytes the layer occupies in the export (compressed if compressed)
    size: int  # sum of the tar headers' sizes, exactly as dive sizes a layer
    entries: tuple[LayerEntry, ...]


def _clean_path(name: str) -> str | None:
    """`./usr//bin/` → `/usr/bin`; None for the archive root itself."""
    path = posixpath.normpath("/" + name.lstrip("/"))
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return None if path == "/" else path


def _entry_from_header(info: tarfile.TarInfo, path: str) -> LayerEntry:
    parent, base = posixpath.split(path)
    common = {"size": info.size, "mode": info.mode, "uid": info.uid, "gid": info.gid}
    if base == OPAQUE_MARKER:
        return LayerEntry(path=parent, kind=OPAQUE, **common)
    if base.startswith(WHITEOUT_PREFIX):
        target = posixpath.join(parent, base[len(WHITEOUT_PREFIX) :])
        # overlayfs exports repeat whiteouts as hard links to the first one; dive lists
        # that link name, so keep it (it plays no part in the analysis).
        return LayerEntry(path=target, kind=WHITEOUT, link=info.linkname or "", **common)
    if info.isdir():
        return LayerEntry(path=path, kind=DIR, **common)
    if info.issym():
        return LayerEntry(path=path, kind=SYMLINK, link=info.linkname, **common)
    if info.islnk():
        return LayerEntry(
            path=path, kind=HARDLINK, link=_clean_path(info.linkname) or "/", **common
        )
    if info.isreg():
        return LayerEntry(path=path, kind=FILE, **common)
    return LayerEntry(path=path, kind=OTHER, **common)


def _fingerprint(stream: BinaryIO | None) -> int:
    checksum = 0
    if stream is None:
        return checksum
    while block := stream.read(READ_BLOCK):
        checksum = zlib.crc32(block, checksum)
    return checksum


def read_layer_tar(
    fileobj: BinaryIO,
    compression: str = "none",
    *,
    hash_contents: bool = True,
    contents: ContentReader | None = None,
    source: str = "",
) -> tuple[tuple[LayerEntry, ...], int]:
    """Read one layer tar from a stream: its entries and its size as dive counts it.

    `compression` is "none", "gzip" or "zstd". Headers only are kept; with `hash_contents`
    each regular file's content is CRC'd block by block on the way past (in stream mode the
    bytes must be read through anyway, so this costs little) and dropped. With `contents`,
    the files it wants are read (up to the size it asks for) and handed to it.
    """
    if compression == "gzip":
        # Not tarfile's own "r|gz": it inflates each 10 KB read without a cap, so a layer of
        # zeros (1000:1) would balloon. GzipFile.read(n) never returns more than n bytes.
        fileobj = gzip.GzipFile(fileobj=fileobj, mode="rb")  # type: ignore[assignment]
    elif compression == "zstd":
        fileobj = _zstd_reader(fileobj)
    entries: list[LayerEntry] = []
    size = 0
    checksums: dict[str, int] = {}
    try:
        with tarfile.open(fileobj=fileobj, mode="r|", bufsize=STREAM_BUFFER) as tar:
            while (info := tar.next()) is not None:
                tar.members.clear()  # stream mode would keep every TarInfo otherwise
                path = _clean_path(info.name)
                if path is None:
                    continue
                size += info.size
                entry = _entry_from_header(info, path)
                if contents is not None and entry.kind == FILE:
                    want = contents.wants(entry)
                    if want > 0:
                        data, checksum = _read_selected(tar.extractfile(info), want, hash_contents)
                        contents.take(source, entry, data, len(data) < entry.size)
                        if hash_contents:
                            checksums[path] = checksum
                            entry = _replace(entry, checksum=checksum)
                        entries.append(entry)
                        continue
                if entry.kind == FILE and hash_contents:
                    checksum = _fingerprint(tar.extractfile(info))
                    checksums[path] = checksum
                    entry = _replace(entry, checksum=checksum)
                elif entry.kind == HARDLINK and entry.link in checksums:
                    entry = _replace(entry, checksum=checksums[entry.link])
                entries.append(entry)
    except AnalysisCancelled:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise LayerAnalysisError(f"unreadable layer tar: {exc}") from exc
    return tuple(entries), size


def _read_selected(stream: BinaryIO | None, limit: int, hash_rest: bool) -> tuple[bytes, int]:
    """The first `limit` bytes of a member, and (with `hash_rest`) the CRC of all of it."""
    if stream is None:
        return b"", 0
    data = _read_exact(stream, limit)
    checksum = zlib.crc32(data) if hash_rest else 0
    if hash_rest:
        while block := stream.read(READ_BLOCK):
            checksum = zlib.crc32(block, checksum)
    return data, checksum


def _replace(entry: LayerEntry, **changes: Any) -> LayerEntry:
    values = {name: getattr(entry, name) for name in LayerEntry.__slots__}
    values.update(changes)
    return LayerEntry(**values)


# ---------------------------------------------------------------------------------------------
# Streaming the export


class _ChunkStream(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (what docker-py's get_image yields).

    It also reports progress and checks for cancellation, since every byte of the export
    passes through here.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        progress: Callable[[int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = memoryview(b"")
        self._progress = progress
        self._cancel = cancel
        self._next_report = 0
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._buffer = memoryview(chunk)
                return True
        return False

    def read(self, size: int | None = -1) -> bytes:
        if self._cancel is not None and self._cancel():
            raise AnalysisCancelled("analysis cancelled")
        parts: list[bytes] = []
        want = -1 if size is None or size < 0 else size
        while want != 0:
            if not self._buffer and not self._fill():
                break
            take = len(self._buffer) if want < 0 else min(want, len(self._buffer))
            parts.append(bytes(self._buffer[:take]))
            self._buffer = self._buffer[take:]
            if want > 0:
                want -= take
        data = b"".join(parts)
        self.consumed += len(data)
        if self._progress is not None and self.consumed >= self._next_report:
            self._progress(self.consumed)
            self._next_report = self.consumed + PROGRESS_STEP
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Prefixed:
    """A stream with some already-read bytes put back in front (for sniffing magic numbers)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        if len(data) < size:
            data += self._rest.read(size - len(data))
        return data


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        block = stream.read(remaining)
        if not block:
            break
        parts.append(block)
        remaining -= len(block)
    return b"".join(parts)


def _sniff(head: bytes, name: str) -> str | None:
    """What a member is, from its first 512 bytes: gzip, zstd, tar, json, or None."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head[257:262] == b"ustar" or (len(head) == 512 and not head.strip(b"\0")):
        return "tar"  # ustar/GNU/pax header, or an empty archive (all zero blocks)
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    if name.endswith(".tar"):
        return "tar"  # a pre-POSIX tar without magic: try it
    return None


def _zstd_reader(fileobj: Any) -> Any:
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError as exc:
        raise LayerAnalysisError(
            "this image has zstd-compressed layers; install the 'zstandard' package to read them"
        ) from exc
    return zstandard.ZstdDecompressor().stream_reader(fileobj, read_across_frames=True)


def _looks_like_layer(name: str) -> bool:
    return name.startswith("blobs/") or name.endswith((".tar", ".tar.gz", ".tgz", ".tar.zst"))


@dataclass(frozen=True)
class ImageExport:
    """An image export, parsed: its layer tars in order (oldest first) and its config."""

    layers: tuple[LayerTar, ...]
    digests: tuple[str, ...]  # blob digest per layer ("sha256:…"), "" when the layout has none
    diff_ids: tuple[str, ...]  # config rootfs.diff_ids per layer, "" when missing
    config: dict[str, Any] = field(default_factory=dict)
    layout: str = "docker"  # "docker" (manifest.json) or "oci" (index.json only)
    repo_tags: tuple[str, ...] = ()
    size: int = 0  # bytes read from the export stream


def read_image_export(
    source: Iterable[bytes] | BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    hash_contents: bool = True,
    contents: ContentReader | None = None,
) -> ImageExport:
    """Parse an image export from chunks (`APIClient.get_image(name)`) or a binary file.

    `progress(bytes_read)` is called about every megabyte; `cancel()` returning True stops
    the work with AnalysisCancelled. `contents` gets the files it selects (see
    ContentReader); without it only headers are read. Blocking: run it in a worker thread.
    """
    if hasattr(source, "read"):
        stream: Any = _ChunkStream(iter(lambda: source.read(1 << 16), b""), progress, cancel)  # type: ignore[union-attr]
    else:
        stream = _ChunkStream(source, progress, cancel)  # type: ignore[arg-type]
    layers: dict[str, LayerTar] = {}
    documents: dict[str, bytes] = {}
    aliases: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|", bufsize=STREAM_BUFFER) as outer:
            while (member := outer.next()) is not None:
                outer.members.clear()
                name = posixpath.normpath(member.name.lstrip("/"))
                if member.issym() or member.islnk():
                    base = posixpath.dirname(name) if member.issym() else ""
                    aliases[name] = posixpath.normpath(posixpath.join(base, member.linkname))
                    continue
                if not member.isfile():
                    continue
                if not _looks_like_layer(name):
                    if member.size < JSON_LIMIT and (
                        name.endswith(".json") or name in ("repositories", "oci-layout")
                    ):
                        documents[name] = _read_member(outer, member)
                    continue
                layer = _read_layer_member(outer, member, name, documents, hash_contents, contents)
                if layer is not None:
                    layers[name] = layer
    except AnalysisCancelled:
        raise
    except (tarfile.TarError, EOFError) as exc:
        raise LayerAnalysisError(f"the image export is not a readable tar: {exc}") from exc
    return _assemble(layers, documents, aliases, stream.consumed)


def _read_member(outer: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = outer.extractfile(member)
    return stream.read() if stream is not None else b""


def _read_layer_member(
    outer: tarfile.TarFile,
    member: tarfile.TarInfo,
    name: str,
    documents: dict[str, bytes],
    hash_contents: bool,
    contents: ContentReader | None = None,
) -> LayerTar | None:
    raw = outer.extractfile(member)
    if raw is None:
        return None
    head = _read_exact(raw, 512)
    kind = _sniff(head, name)
    if kind == "json":
        if member.size < JSON_LIMIT:
            documents[name] = head + raw.read()
        return None
    if kind is None:
        return None
    compression = {"gzip": "gzip", "zstd": "zstd"}.get(kind, "none")
    try:
        entries, size = read_layer_tar(
            _Prefixed(head, raw),  # type: ignore[arg-type]
            compression,
            hash_contents=hash_contents,
            contents=contents,
            source=name,
        )
    except AnalysisCancelled:
        raise
    except LayerAnalysisError as exc:
        if kind == "tar" and head[257:262] != b"ustar" and head.strip(b"\0"):
            return None  # guessed from the name only, and it was not a tar after all
        raise LayerAnalysisError(f"{name}: {exc}") from exc
    return LayerTar(name, compression, member.size, size, entries)


# ---------------------------------------------------------------------------------------------
# Putting the layers in order


def _blob_path(digest: str) -> str:
    algorithm, _, hexdigest = str(digest).partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def _digest_of(path: str) -> str:
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        return f"{parts[1]}:{parts[2]}"
    return ""


def _load_json(documents: dict[str, bytes], name: str) -> Any:
    raw = documents.get(posixpath.normpath(name))
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise LayerAnalysisError(f"{name} in the export is not valid JSON: {exc}") from exc


def _pick_manifest(documents: dict[str, bytes], index: Any, depth: int = 0) -> Any:
    """The first runnable image manifest under an OCI index, following nested indexes.

    BuildKit adds attestation manifests (platform unknown/unknown) next to the image; they
    have layers too, but they are not the image.
    """
    if depth > 8 or not isinstance(index, dict):
        return None
    for descriptor in index.get("manifests") or ():
        annotations = descriptor.get("annotations") or {}
        if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            continue
        if (descriptor.get("platform") or {}).get("os") == "unknown":
            continue
        document = _load_json(documents, _blob_path(descriptor.get("digest", "")))
        if not isinstance(document, dict):
            continue
        if "manifests" in document:
            nested = _pick_manifest(documents, document, depth + 1)
            if nested is not None:
                return nested
        elif "layers" in document:
            return document
    return None


def _follow(name: str, aliases: dict[str, str]) -> str:
    for _ in range(40):  # legacy exports symlink identical layer.tar files to each other
        if name not in aliases:
            break
        name = aliases[name]
    return name


def _assemble(
    layers: dict[str, LayerTar],
    documents: dict[str, bytes],
    aliases: dict[str, str],
    consumed: int,
) -> ImageExport:
    manifest = _load_json(documents, "manifest.json")
    repo_tags: list[str] = []
    if isinstance(manifest, list) and manifest:
        item = manifest[0]
        layout = "docker"
        paths = [posixpath.normpath(p) for p in item.get("Layers") or ()]
        config = _load_json(documents, item.get("Config") or "") or {}
        repo_tags = list(item.get("RepoTags") or ())
    else:
        index = _load_json(documents, "index.json")
        if index is None:
            raise LayerAnalysisError("the image export has neither manifest.json nor index.json")
        image_manifest = _pick_manifest(documents, index)
        if image_manifest is None:
            raise LayerAnalysisError("index.json names no image manifest found in the export")
        layout = "oci"
        paths = [_blob_path(d.get("digest", "")) for d in image_manifest.get("layers") or ()]
        config_digest = (image_manifest.get("config") or {}).get("digest", "")
        config = _load_json(documents, _blob_path(config_digest)) or {}
        for descriptor in index.get("manifests") or ():
            annotations = descriptor.get("annotations") or {}
            name = annotations.get("io.containerd.image.name")
            if name:
                repo_tags.append(name)
    ordered: list[LayerTar] = []
    for path in paths:
        real = _follow(path, aliases)
        if real not in layers:
            raise LayerAnalysisError(f"layer {path} named by the manifest is not in the export")
        ordered.append(layers[real])
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or ())
    diff_ids = (diff_ids + [""] * len(ordered))[: len(ordered)]
    return ImageExport(
        layers=tuple(ordered),
        digests=tuple(_digest_of(_follow(p, aliases)) for p in paths),
        diff_ids=tuple(diff_ids),
        config=config if isinstance(config, dict) else {},
        layout=layout,
        repo_tags=tuple(repo_tags),
        size=consumed,
    )


# ---------------------------------------------------------------------------------------------
# History: which Dockerfile instruction made which layer


@dataclass(frozen=True, slots=True)
class HistoryStep:
    """One entry of the image config's history (oldest first)."""

    created: str
    created_by: str
    instruction: str  # readable, without `/bin/sh -c #(nop)` noise
    empty_layer: bool
    comment: str = ""


def history_steps(config: dict[str, Any]) -> tuple[HistoryStep, ...]:
    steps = []
    for raw in config.get("history") or ():
        created_by = str(raw.get("created_by") or "")
        steps.append(
            HistoryStep(
                created=str(raw.get("created") or ""),
                created_by=created_by,
                instruction=clean_instruction(created_by),
                empty_layer=bool(raw.get("empty_layer")),
                comment=str(raw.get("comment") or ""),
            )
        )
    return tuple(steps)


def history_for_layers(config: dict[str, Any], layer_count: int) -> tuple[HistoryStep | None, ...]:
    """For each tar layer (oldest first), the history step that made it, as dive pairs them:
    walk the history in order, skipping `empty_layer` steps; a layer left over gets None."""
    steps = [step for step in history_steps(config) if not step.empty_layer]
    return tuple(steps[i] if i < len(steps) else None for i in range(layer_count))


_LAYER_INSTRUCTIONS = ("RUN", "COPY", "ADD")


def align_engine_history(
    history: list[dict[str, Any]], layer_count: int, config: dict[str, Any] | None = None
) -> list[int | None]:
    """Pair engine history entries (`APIClient.history()`, newest first) with tar layers.

    Returns, in the same newest-first order as `history`, the index (oldest = 0) of the tar
    layer each entry made, or None for metadata-only steps (ENV, CMD, EXPOSE, ...).

    The image config's `empty_layer` flags are exact, so they are used when the config's
    history lines up with the engine's. Without them, `Size > 0` marks a layer, and a
    RUN/COPY/ADD with size 0 (e.g. `RUN mkdir /x`, whose tar holds only a directory) is also
    taken as one while there are tar layers left to account for.
    """
    oldest_first = list(reversed(history))
    steps = history_steps(config or {})
    if steps and len(steps) == len(oldest_first):
        has_layer = [not step.empty_layer for step in steps]
    else:
        has_layer = [int(raw.get("Size") or 0) > 0 for raw in oldest_first]
        spare = layer_count - sum(has_layer)
        for i, raw in enumerate(oldest_first):
            if spare <= 0:
                break
            keyword = clean_instruction(str(raw.get("CreatedBy") or "")).split(" ", 1)[0]
            if not has_layer[i] and keyword in _LAYER_INSTRUCTIONS:
                has_layer[i] = True
                spare -= 1
    mapping: list[int | None] = []
    layer = 0
    for flag in has_layer:
        if flag and layer < layer_count:
            mapping.append(layer)
            layer += 1
        else:
            mapping.append(None)
    return list(reversed(mapping))


# ---------------------------------------------------------------------------------------------
# Applying layers: the aggregated filesystem and the change marks


@dataclass(frozen=True, slots=True)
class TreeItem:
    """A path in a layer's view: its entry (for REMOVED: the entry it had) and its mark."""

    entry: LayerEntry
    mark: str


def _implicit_dir(path: str) -> LayerEntry:
    return LayerEntry(path=path, kind=DIR, mode=0o755, implicit=True)


class _Filesystem:
    """The union filesystem after some layers: path → entry, plus a children index so a
    whiteout of a directory removes its subtree without scanning every path.

    The same structure stacks layers the way dive's FileTree.Stack does for the dive-exact
    metrics (`_stack_dive`: opaque whiteouts ignored, a file replacing a directory keeps the
    directory's children).
    """

    def __init__(self) -> None:
        self.entries: dict[str, LayerEntry] = {}
        self.children: dict[str, set[str]] = {"/": set()}

    def _ensure_parent(self, path: str, created: list[LayerEntry]) -> None:
        parent = posixpath.dirname(path)
        if parent != "/" and parent not in self.entries:
            self._ensure_parent(parent, created)
            implicit = _implicit_dir(parent)
            self.entries[parent] = implicit
            created.append(implicit)
        self.children.setdefault(parent, set()).add(path)

    def put(self, entry: LayerEntry, created: list[LayerEntry]) -> None:
        """Add or replace an entry; parents the tar never listed are created implicitly.

        An entry replacing a directory keeps the directory's children here (as dive's
        AddPath does); `_apply` takes them away first where a real filesystem would."""
        if entry.path not in self.entries:
            self._ensure_parent(entry.path, created)
        self.entries[entry.path] = entry

    def walk(self, path: str) -> Iterator[str]:
        """`path` and everything below it, children before parents."""
        for child in list(self.children.get(path, ())):
            yield from self.walk(child)
        yield path

    def remove(self, path: str) -> list[LayerEntry]:
        if path not in self.entries:
            return []
        removed = []
        for sub in list(self.walk(path)):
            entry = self.entries.pop(sub, None)
            if entry is not None:
                removed.append(entry)
            self.children.pop(sub, None)
        self.children.get(posixpath.dirname(path), set()).discard(path)
        return removed

    def is_leaf(self, path: str) -> bool:
        return not self.children.get(path)

    def subtree_size(self, path: str) -> int:
        return sum(self.entries[p].size for p in self.walk(path) if p in self.entries)


def _layer_leaves(entries: Iterable[LayerEntry]) -> dict[str, LayerEntry | None]:
    """The leaves of a layer's own tree as dive builds it: every listed path plus the parent
    directories it implies, minus those with something below them in the same layer. An
    opaque marker is dropped but its directory stays (dive's AddPath creates the parents of
    `.wh..wh..opq`, then skips the marker). Implied parents map to None."""
    nodes: dict[str, LayerEntry | None] = {}
    inner: set[str] = set()
    for entry in entries:
        if entry.kind == OPAQUE:
            nodes.setdefault(entry.path, None)
        else:
            nodes[entry.path] = entry
        parent = posixpath.dirname(entry.path)
        while parent != "/" and parent not in inner:
            inner.add(parent)
            nodes.setdefault(parent, None)
            parent = posixpath.dirname(parent)
    return {path: entry for path, entry in nodes.items() if path not in inner}


def _apply(
    fs: _Filesystem, entries: tuple[LayerEntry, ...]
) -> tuple[dict[str, TreeItem], list[str]]:
    """Apply one layer to `fs` (dockui semantics). Returns the layer's changes and the leaf
    paths it removed (for the waste tally: a removal is a touch of size 0)."""
    changes: dict[str, TreeItem] = {}
    removed: dict[str, LayerEntry] = {}
    removed_leaves: list[str] = []

    def take_away(path: str) -> None:
        for sub in fs.walk(path):
            if fs.is_leaf(sub) and sub in fs.entries:
                removed_leaves.append(sub)
        for old in fs.remove(path):
            removed.setdefault(old.path, old)

    # Whiteouts hide what the *lower* layers had, so they go first: what this layer adds
    # under an opaque directory survives it.
    for entry in entries:
        if entry.kind == OPAQUE:
            for child in list(fs.children.get(entry.path, ())):
                take_away(child)
        elif entry.kind == WHITEOUT:
            take_away(entry.path)
    created: list[LayerEntry] = []
    for entry in entries:
        if entry.is_whiteout:
            continue
        before = fs.entries.get(entry.path) or removed.pop(entry.path, None)
        if before is not None and before.is_dir and not entry.is_dir:
            for child in list(fs.children.get(entry.path, ())):
                take_away(child)  # a file replacing a directory hides what was below it
        if before is None:
            mark = ADDED
        elif before.implicit and entry.is_dir:
            mark = UNCHANGED
        else:
            mark = MODIFIED if entry.differs_from(before) else UNCHANGED
        fs.put(entry, created)
        changes[entry.path] = TreeItem(entry, mark)
    for entry in created:
        changes.setdefault(entry.path, TreeItem(entry, ADDED))
    readded = set(changes)
    for path, old in removed.items():
        if path not in readded:
            changes[path] = TreeItem(old, REMOVED)
    return changes, [p for p in removed_leaves if p not in readded]


# ---------------------------------------------------------------------------------------------
# Efficiency and waste


@dataclass(frozen=True, slots=True)
class WastedFile:
    """A path touched by more than one layer (written again, or removed)."""

    path: str
    size: int  # dive's CumulativeSize: the sizes of every copy, the surviving one included
    count: int  # how many times layers touched it (dive's len(Nodes))
    layers: tuple[int, ...]  # which layers touched it, oldest first


@dataclass(frozen=True, slots=True)
class Efficiency:
    """Image efficiency as dive defines it (dive/filetree/efficiency.go, dive/image/image.go).

    - Every layer's leaf paths are visited (a removal counts as a touch of that path).
      Per path: `cumulative` = the sum of the sizes seen, `minimum` = the smallest one.
    - `score` = Σ minimum / Σ cumulative over all paths (1.0 when nothing has a size).
    - A path touched twice or more is inefficient; `wasted_bytes` = Σ of those paths'
      cumulative sizes (the surviving copy included, exactly as dive adds it up).
    - `user_wasted_percent` = wasted_bytes / the size of all layers but the first, as a
      fraction (dive's WastedUserPercent; 0.0 here when the user layers are empty, where
      dive divides by zero).
    """

    score: float
    wasted_bytes: int
    user_wasted_percent: float
    files: tuple[WastedFile, ...]  # largest waste first


class _Tally:
    def __init__(self) -> None:
        # path → [count, cumulative, minimum, layers]
        self.paths: dict[str, list[Any]] = {}

    def touch(self, path: str, size: int, layer: int) -> None:
        data = self.paths.get(path)
        if data is None:
            self.paths[path] = [1, size, size, [layer]]
            return
        data[0] += 1
        data[1] += size
        data[2] = min(data[2], size)
        if data[3][-1] != layer:
            data[3].append(layer)

    def result(self, user_size: int) -> Efficiency:
        minimum = sum(data[2] for data in self.paths.values())
        cumulative = sum(data[1] for data in self.paths.values())
        files = [
            WastedFile(path, data[1], data[0], tuple(data[3]))
            for path, data in self.paths.items()
            if data[0] > 1
        ]
        files.sort(key=lambda f: (-f.size, f.path))
        wasted = sum(f.size for f in files)
        return Efficiency(
            score=minimum / cumulative if cumulative else 1.0,
            wasted_bytes=wasted,
            user_wasted_percent=wasted / user_size if user_size else 0.0,
            files=tuple(files),
        )


# ---------------------------------------------------------------------------------------------
# The analysis


@dataclass(frozen=True)
class LayerReport:
    """One layer, analysed."""

    index: int  # 0 = the base layer
    source: str
    digest: str
    diff_id: str
    size: int  # sum of tar header sizes (dive's layer size)
    compression: str
    stored_size: int
    entries: tuple[LayerEntry, ...]
    changes: dict[str, TreeItem]  # what this layer did, by path: added/modified/removed/...
    history: HistoryStep | None = None

    @property
    def instruction(self) -> str:
        return self.history.instruction if self.history else ""

    @property
    def created_by(self) -> str:
        return self.history.created_by if self.history else ""


@dataclass(frozen=True)
class ImageAnalysis:
    """The whole image: its layers, dockui's efficiency and dive's, and the export it came from.

    `efficiency` is what dockui reports: dive's formulas, but every file a whiteout hides is
    a removal. dive only counts a removal when the whiteout names the file itself: for a
    directory whiteout (`rm -rf dir` in a later layer) it sizes the directory but never
    counts its files as touched twice, and it ignores opaque whiteouts (a directory
    replaced wholesale) entirely, so both report zero waste although the bytes stay in the
    image. `dive` holds dive's numbers, computed the way dive computes them, so the two can
    be compared (and so `--json` output matches dive's where dive is right).
    """

    layers: tuple[LayerReport, ...]
    efficiency: Efficiency
    dive: Efficiency
    export: ImageExport

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def user_size(self) -> int:
        return sum(layer.size for layer in self.layers[1:])

    def filesystem(self, index: int) -> dict[str, TreeItem]:
        """The aggregated filesystem after layer `index`, each path marked by what that
        layer did to it (UNCHANGED for what it left alone), plus what it removed."""
        fs = _Filesystem()
        changes: dict[str, TreeItem] = {}
        for layer in self.layers[: index + 1]:
            changes, _ = _apply(fs, layer.entries)
        view = {path: TreeItem(entry, UNCHANGED) for path, entry in fs.entries.items()}
        for path, item in changes.items():
            view[path] = item
        return view


def analyze_export(
    export: ImageExport, *, cancel: Callable[[], bool] | None = None
) -> ImageAnalysis:
    """Apply the layers in order: change marks per layer, dockui's and dive's efficiency."""
    fs = _Filesystem()
    dive_fs = _Filesystem()
    ours = _Tally()
    theirs = _Tally()
    histories = history_for_layers(export.config, len(export.layers))
    reports = []
    for index, layer in enumerate(export.layers):
        if cancel is not None and cancel():
            raise AnalysisCancelled("analysis cancelled")
        leaves = _layer_leaves(layer.entries)
        # dive: a whiteout leaf weighs what it hid when that was an explicit directory.
        for path, entry in leaves.items():
            if entry is not None and entry.kind == WHITEOUT:
                before = dive_fs.entries.get(path)
                hidden = before is not None and before.is_dir and not before.implicit
                theirs.touch(path, dive_fs.subtree_size(path) if hidden else 0, index)
            else:
                theirs.touch(path, entry.size if entry is not None else 0, index)
        _stack_dive(dive_fs, layer.entries)
        # dockui: the same touches, but removals come from what really disappeared.
        for path, entry in leaves.items():
            if entry is None or entry.kind != WHITEOUT:
                ours.touch(path, entry.size if entry is not None else 0, index)
        changes, removed_leaves = _apply(fs, layer.entries)
        for path in removed_leaves:
            ours.touch(path, 0, index)
        reports.append(
            LayerReport(
                index=index,
                source=layer.source,
                digest=export.digests[index],
                diff_id=export.diff_ids[index],
                size=layer.size,
                compression=layer.compression,
                stored_size=layer.stored_size,
                entries=layer.entries,
                changes=changes,
                history=histories[index],
            )
        )
    user_size = sum(layer.size for layer in export.layers[1:])
    return ImageAnalysis(
        layers=tuple(reports),
        efficiency=ours.result(user_size),
        dive=theirs.result(user_size),
        export=export,
    )


def _stack_dive(fs: _Filesystem, entries: tuple[LayerEntry, ...]) -> None:
    """dive's FileTree.Stack: whiteouts remove, opaque markers are skipped, the rest is added."""
    scratch: list[LayerEntry] = []
    for entry in entries:
        if entry.kind == WHITEOUT:
            fs.remove(entry.path)
        elif entry.kind != OPAQUE:
            fs.put(entry, scratch)
            scratch.clear()


def analyze_image_stream(
    source: Iterable[bytes] | BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    hash_contents: bool = True,
) -> ImageAnalysis:
    """Read an export (chunks from `APIClient.get_image(name)`, or a file) and analyse it."""
    export = read_image_export(
        source, progress=progress, cancel=cancel, hash_contents=hash_contents
    )
    return analyze_export(export, cancel=cancel)
