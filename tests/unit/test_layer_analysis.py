"""Layer analysis on synthetic image exports built here, in both layouts.

The expected numbers are worked out by hand in `test_efficiency_numbers_by_hand` from the
three-layer image `SCENARIO` describes; the dive numbers follow dive's efficiency.go.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockui.engine import layers as L

# --------------------------------------------------------------------------------------------
# Building tars


def f(path: str, data: bytes = b"", mode: int = 0o644, uid: int = 0, gid: int = 0):
    info = tarfile.TarInfo(path)
    info.size, info.mode, info.uid, info.gid = len(data), mode, uid, gid
    return info, io.BytesIO(data)


def d(path: str, mode: int = 0o755):
    info = tarfile.TarInfo(path)
    info.type, info.mode = tarfile.DIRTYPE, mode
    return info, None


def sym(path: str, target: str):
    info = tarfile.TarInfo(path)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


def hard(path: str, target: str):
    info = tarfile.TarInfo(path)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info, None


def wh(path: str):
    parent, _, name = path.rpartition("/")
    return f(f"{parent}/.wh.{name}")


def opq(directory: str):
    return f(f"{directory}/.wh..wh..opq")


def tar_bytes(members) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


HISTORY = [
    {"created_by": "/bin/sh -c #(nop) ADD file:abc in / ", "created": "2024-01-01T00:00:00Z"},
    {"created_by": "/bin/sh -c #(nop)  ENV X=1", "empty_layer": True},
    {"created_by": "RUN /bin/sh -c change-things # buildkit"},
    {"created_by": 'CMD ["sh"]', "empty_layer": True},
    {"created_by": "RUN /bin/sh -c rm -rf /data # buildkit"},
]


def config_for(layer_tars: list[bytes], history=HISTORY) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(t)}" for t in layer_tars]},
            "history": history,
        }
    ).encode()


def legacy_export(layer_tars: list[bytes], history=HISTORY) -> bytes:
    """`docker save` before Docker 25, with manifest.json written last."""
    config = config_for(layer_tars, history)
    config_name = f"{sha(config)}.json"
    out = io.BytesIO()
    paths = []
    with tarfile.open(fileobj=out, mode="w") as tar:
        for layer in layer_tars:
            layer_id = sha(layer)
            tar.addfile(*d(layer_id))
            tar.addfile(*f(f"{layer_id}/VERSION", b"1.0"))
            tar.addfile(*f(f"{layer_id}/json", b"{}"))
            tar.addfile(*f(f"{layer_id}/layer.tar", layer))
            paths.append(f"{layer_id}/layer.tar")
        tar.addfile(*f(config_name, config))
        tar.addfile(*f("repositories", b"{}"))
        manifest = [{"Config": config_name, "RepoTags": ["demo:1"], "Layers": paths}]
        tar.addfile(*f("manifest.json", json.dumps(manifest).encode()))
    return out.getvalue()


def oci_export(layer_tars: list[bytes], history=HISTORY, nested: bool = True) -> bytes:
    """The OCI layout with gzip layer blobs, a nested index with an attestation manifest
    to skip, and index.json written last."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict:
        blobs[sha(data)] = data
        return {"digest": f"sha256:{sha(data)}", "size": len(data)}

    layer_descs = [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            **blob(gzip.compress(t, mtime=0)),
        }
        for t in layer_tars
    ]
    config_desc = {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        **blob(config_for(layer_tars, history)),
    }
    manifest = {"schemaVersion": 2, "config": config_desc, "layers": layer_descs}
    manifest_desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "platform": {"os": "linux", "architecture": "amd64"},
        **blob(json.dumps(manifest).encode()),
    }
    attestation = {"schemaVersion": 2, "config": config_desc, "layers": [blob(b"{}")]}
    attestation_desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        **blob(json.dumps(attestation).encode()),
    }
    top = {"schemaVersion": 2, "manifests": [attestation_desc, manifest_desc]}
    if nested:
        inner = {"schemaVersion": 2, "manifests": [attestation_desc, manifest_desc]}
        inner_desc = {"mediaType": "application/vnd.oci.image.index.v1+json"}
        inner_desc.update(blob(json.dumps(inner).encode()))
        inner_desc["annotations"] = {"io.containerd.image.name": "docker.io/library/demo:1"}
        top = {"schemaVersion": 2, "manifests": [inner_desc]}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(*d("blobs"))
        tar.addfile(*d("blobs/sha256"))
        for hexdigest, data in blobs.items():
            tar.addfile(*f(f"blobs/sha256/{hexdigest}", data))
        tar.addfile(*f("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'))
        tar.addfile(*f("index.json", json.dumps(top).encode()))
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# The scenario: three layers, hand-checked below

LAYER0 = tar_bytes(
    [
        d("bin"),
        f("bin/sh", b"s" * 100, mode=0o755),
        f("bin/tool", b"a" * 1000, mode=0o755),
        sym("bin/link", "sh"),
        hard("bin/sh2", "bin/sh"),
        d("etc"),
        f("etc/conf", b"c" * 10),
        f("etc/keep", b"k" * 5),
        d("data"),
        f("data/a", b"x" * 200),
        f("data/b", b"y" * 300),
        d("app"),
        f("app/old", b"o" * 400),
    ]
)
LAYER1 = tar_bytes(
    [
        d("bin"),
        f("bin/tool", b"b" * 1000, mode=0o755),  # same size, new content
        d("etc"),
        f("etc/conf", b"c" * 10, mode=0o600),  # same content, new mode
        wh("etc/keep"),  # file whiteout
        f("etc/new", b"n" * 50),
    ]
)
LAYER2 = tar_bytes(
    [
        wh("data"),  # directory whiteout: `rm -rf /data`
        d("app"),
        opq("app"),  # opaque whiteout: /app replaced wholesale
        f("app/new", b"w" * 70),
    ]
)
SCENARIO = [LAYER0, LAYER1, LAYER2]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture(params=["legacy", "oci"])
def analysis(request) -> L.ImageAnalysis:
    build = legacy_export if request.param == "legacy" else oci_export
    return L.analyze_image_stream(chunked(build(SCENARIO), 65536))


# --------------------------------------------------------------------------------------------
# Tests


def test_both_layouts_give_layers_in_manifest_order(analysis: L.ImageAnalysis) -> None:
    assert [layer.index for layer in analysis.layers] == [0, 1, 2]
    assert [layer.diff_id for layer in analysis.layers] == [f"sha256:{sha(t)}" for t in SCENARIO]
    paths = [{e.path for e in layer.entries} for layer in analysis.layers]
    assert "/bin/sh" in paths[0]
    assert "/etc/new" in paths[1]
    assert "/app/new" in paths[2]


def test_layout_details() -> None:
    legacy = L.read_image_export([legacy_export(SCENARIO)])
    assert legacy.layout == "docker"
    assert legacy.repo_tags == ("demo:1",)
    assert legacy.digests == ("", "", "")
    assert {layer.compression for layer in legacy.layers} == {"none"}
    oci = L.read_image_export([oci_export(SCENARIO)])
    assert oci.layout == "oci"
    assert oci.repo_tags == ("docker.io/library/demo:1",)
    assert oci.digests == tuple(f"sha256:{sha(gzip.compress(t, mtime=0))}" for t in SCENARIO)
    assert {layer.compression for layer in oci.layers} == {"gzip"}
    assert oci.layers[0].stored_size == len(gzip.compress(LAYER0, mtime=0))


def test_docker25_export_with_manifest_json_pointing_into_blobs() -> None:
    # Docker 25+: OCI blobs (uncompressed here) and a manifest.json whose Layers are blob paths.
    config = config_for(SCENARIO)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for data in [*SCENARIO, config]:
            tar.addfile(*f(f"blobs/sha256/{sha(data)}", data))
        manifest = [
            {
                "Config": f"blobs/sha256/{sha(config)}",
                "RepoTags": ["demo:1"],
                "Layers": [f"blobs/sha256/{sha(t)}" for t in SCENARIO],
            }
        ]
        tar.addfile(*f("manifest.json", json.dumps(manifest).encode()))
    export = L.read_image_export([out.getvalue()])
    assert export.digests == tuple(f"sha256:{sha(t)}" for t in SCENARIO)
    assert [layer.size for layer in export.layers] == [2015, 1060, 70]


def test_layer_size_is_sum_of_regular_file_header_sizes(analysis: L.ImageAnalysis) -> None:
    # 100 + 1000 + 10 + 5 + 200 + 300 + 400; the symlink, hard link, dirs, whiteouts count 0
    assert [layer.size for layer in analysis.layers] == [2015, 1060, 70]
    assert analysis.size == 3145
    assert analysis.user_size == 1130


def test_entry_kinds_symlink_and_hardlink(analysis: L.ImageAnalysis) -> None:
    entries = {e.path: e for e in analysis.layers[0].entries}
    assert entries["/bin/link"].kind == L.SYMLINK
    assert entries["/bin/link"].link == "sh"
    assert entries["/bin/link"].size == 0
    assert entries["/bin/sh2"].kind == L.HARDLINK
    assert entries["/bin/sh2"].link == "/bin/sh"
    assert entries["/bin/sh2"].checksum == entries["/bin/sh"].checksum
    assert entries["/bin"].kind == L.DIR
    assert entries["/bin/sh"].mode == 0o755
    top = {e.path: e for e in analysis.layers[2].entries}
    assert top["/data"].kind == L.WHITEOUT
    assert top["/app"].kind in (L.DIR, L.OPAQUE)
    assert any(e.kind == L.OPAQUE and e.path == "/app" for e in analysis.layers[2].entries)


def marks(layer: L.LayerReport) -> dict[str, str]:
    return {path: item.mark for path, item in layer.changes.items()}


def test_added_modified_removed_marks(analysis: L.ImageAnalysis) -> None:
    first = marks(analysis.layers[0])
    assert first["/bin/sh"] == L.ADDED
    assert set(first.values()) == {L.ADDED}
    second = marks(analysis.layers[1])
    assert second["/bin/tool"] == L.MODIFIED  # same size, other content
    assert second["/etc/conf"] == L.MODIFIED  # mode-only change
    assert second["/etc/keep"] == L.REMOVED  # file whiteout
    assert second["/etc/new"] == L.ADDED
    assert second["/etc"] == L.UNCHANGED
    assert analysis.layers[1].changes["/etc/keep"].entry.size == 5  # what was removed


def test_directory_whiteout_and_opaque_whiteout(analysis: L.ImageAnalysis) -> None:
    third = marks(analysis.layers[2])
    assert third["/data"] == L.REMOVED
    assert third["/data/a"] == L.REMOVED
    assert third["/data/b"] == L.REMOVED
    assert third["/app/old"] == L.REMOVED  # hidden by the opaque whiteout
    assert third["/app/new"] == L.ADDED  # added in the same layer: survives it
    fs = analysis.filesystem(2)
    assert "/data" not in {p for p, item in fs.items() if item.mark != L.REMOVED}
    assert fs["/app/new"].mark == L.ADDED
    assert fs["/bin/sh"].mark == L.UNCHANGED
    assert fs["/app/old"].mark == L.REMOVED
    live = {p for p, item in analysis.filesystem(2).items() if item.mark != L.REMOVED}
    assert live == {
        "/bin", "/bin/sh", "/bin/tool", "/bin/link", "/bin/sh2",
        "/etc", "/etc/conf", "/etc/new", "/app", "/app/new",
    }  # fmt: skip


def test_filesystem_view_after_each_layer(analysis: L.ImageAnalysis) -> None:
    after0 = analysis.filesystem(0)
    assert after0["/etc/keep"].mark == L.ADDED
    after1 = analysis.filesystem(1)
    assert after1["/bin/sh"].mark == L.UNCHANGED
    assert after1["/etc/keep"].mark == L.REMOVED
    assert after1["/etc/conf"].entry.mode == 0o600
    assert after1["/data/a"].mark == L.UNCHANGED


def test_efficiency_numbers_by_hand(analysis: L.ImageAnalysis) -> None:
    # Per path (count, cumulative, minimum), dockui:
    #   /bin/sh 1,100,100  /bin/tool 2,2000,1000  /bin/link, /bin/sh2 1,0,0
    #   /etc/conf 2,20,10  /etc/keep 2,5,0 (file whiteout)  /etc/new 1,50,50
    #   /data/a 2,200,0  /data/b 2,300,0 (directory whiteout)  /app/old 2,400,0 (opaque)
    #   /app/new 1,70,70
    # Σ minimum = 1230, Σ cumulative = 3145; waste = 2000+400+300+200+20+5 = 2925.
    ours = analysis.efficiency
    assert ours.score == pytest.approx(1230 / 3145)
    assert ours.wasted_bytes == 2925
    assert ours.user_wasted_percent == pytest.approx(2925 / 1130)
    assert [(w.path, w.size, w.count, w.layers) for w in ours.files] == [
        ("/bin/tool", 2000, 2, (0, 1)),
        ("/app/old", 400, 2, (0, 2)),
        ("/data/b", 300, 2, (0, 2)),
        ("/data/a", 200, 2, (0, 2)),
        ("/etc/conf", 20, 2, (0, 1)),
        ("/etc/keep", 5, 2, (0, 1)),
    ]


def test_dive_numbers_by_hand(analysis: L.ImageAnalysis) -> None:
    # dive: the /data whiteout is one touch of /data weighing its old subtree (500), and
    # /data was never a leaf before, so /data/a, /data/b are touched once: no waste.
    # The opaque marker is skipped, so /app/old is touched once: no waste either.
    # Σ minimum = 100+1000+10+0+50+200+300+400+500+70 = 2630
    # Σ cumulative = 100+2000+20+5+50+200+300+400+500+70 = 3645
    dive = analysis.dive
    assert dive.score == pytest.approx(2630 / 3645)
    assert dive.wasted_bytes == 2025
    assert dive.user_wasted_percent == pytest.approx(2025 / 1130)
    assert [(w.path, w.size, w.count) for w in dive.files] == [
        ("/bin/tool", 2000, 2),
        ("/etc/conf", 20, 2),
        ("/etc/keep", 5, 2),
    ]


def test_dockui_matches_dive_without_directory_or_opaque_whiteouts() -> None:
    result = L.analyze_image_stream([legacy_export([LAYER0, LAYER1])])
    assert result.efficiency == result.dive
    assert result.efficiency.wasted_bytes == 2025


def test_file_replacing_a_directory_hides_what_was_below() -> None:
    lower = tar_bytes([d("x"), f("x/y", b"1" * 10)])
    upper = tar_bytes([f("x", b"abc")])
    result = L.analyze_image_stream([legacy_export([lower, upper], HISTORY[:1])])
    assert marks(result.layers[1]) == {"/x": L.MODIFIED, "/x/y": L.REMOVED}
    assert [(w.path, w.size, w.count) for w in result.efficiency.files] == [("/x/y", 10, 2)]
    assert result.dive.files == ()  # dive never sees /x/y touched again


def test_without_content_hashing_size_stands_in_for_content() -> None:
    result = L.analyze_image_stream([legacy_export(SCENARIO)], hash_contents=False)
    second = marks(result.layers[1])
    assert second["/bin/tool"] == L.UNCHANGED  # same size, same mode: cannot tell
    assert second["/etc/conf"] == L.MODIFIED  # the mode still tells
    assert result.efficiency.wasted_bytes == 2925  # the metrics never depend on contents


def test_reader_works_on_seven_byte_chunks() -> None:
    for build in (legacy_export, oci_export):
        data = build(SCENARIO)
        whole = L.analyze_image_stream([data])
        tiny = L.analyze_image_stream(chunked(data, 7))
        assert tiny.efficiency == whole.efficiency
        assert tiny.dive == whole.dive
        assert [layer.entries for layer in tiny.layers] == [layer.entries for layer in whole.layers]


def test_reader_accepts_a_file_and_reports_progress() -> None:
    data = legacy_export(SCENARIO)
    seen: list[int] = []
    result = L.analyze_image_stream(io.BytesIO(data), progress=seen.append)
    assert result.export.size == len(data)
    assert seen and seen[-1] <= len(data)


def test_cancel_stops_the_analysis() -> None:
    with pytest.raises(L.AnalysisCancelled):
        L.analyze_image_stream(chunked(legacy_export(SCENARIO), 512), cancel=lambda: True)


def test_zstd_layers() -> None:
    zstandard = pytest.importorskip("zstandard")
    compressor = zstandard.ZstdCompressor()
    config = config_for(SCENARIO)
    blobs = [compressor.compress(t) for t in SCENARIO]
    manifest = {
        "schemaVersion": 2,
        "config": {"digest": f"sha256:{sha(config)}"},
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                "digest": f"sha256:{sha(b)}",
            }
            for b in blobs
        ],
    }
    manifest_bytes = json.dumps(manifest).encode()
    index = {"manifests": [{"digest": f"sha256:{sha(manifest_bytes)}"}]}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for data in [*blobs, config, manifest_bytes]:
            tar.addfile(*f(f"blobs/sha256/{sha(data)}", data))
        tar.addfile(*f("index.json", json.dumps(index).encode()))
    result = L.analyze_image_stream(chunked(out.getvalue(), 1000))
    assert [layer.compression for layer in result.layers] == ["zstd"] * 3
    assert result.efficiency.wasted_bytes == 2925


def test_missing_manifest_and_missing_layer_are_clear_errors() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(*f("abc/layer.tar", LAYER0))
    with pytest.raises(L.LayerAnalysisError, match=r"neither manifest\.json nor index\.json"):
        L.read_image_export([out.getvalue()])
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(*f("abc/layer.tar", LAYER0))
        manifest = [{"Config": "c.json", "Layers": ["abc/layer.tar", "def/layer.tar"]}]
        tar.addfile(*f("manifest.json", json.dumps(manifest).encode()))
    with pytest.raises(L.LayerAnalysisError, match=r"def/layer\.tar"):
        L.read_image_export([out.getvalue()])


def test_legacy_symlinked_layer_tar() -> None:
    # Older `docker save` links an identical layer.tar to the first copy.
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(*f("one/layer.tar", LAYER1))
        tar.addfile(*sym("two/layer.tar", "../one/layer.tar"))
        tar.addfile(*f("c.json", config_for([LAYER1, LAYER1], HISTORY[:1])))
        manifest = [{"Config": "c.json", "Layers": ["one/layer.tar", "two/layer.tar"]}]
        tar.addfile(*f("manifest.json", json.dumps(manifest).encode()))
    result = L.analyze_image_stream([out.getvalue()])
    assert [layer.size for layer in result.layers] == [1060, 1060]
    assert marks(result.layers[1])["/etc/new"] == L.UNCHANGED


def test_history_for_layers_skips_empty_steps(analysis: L.ImageAnalysis) -> None:
    instructions = [layer.instruction for layer in analysis.layers]
    assert instructions[0].startswith("ADD file:abc")
    assert instructions[1] == "RUN change-things"
    assert instructions[2] == "RUN rm -rf /data"


def test_align_engine_history() -> None:
    engine = [  # newest first, as APIClient.history() returns it
        {"Id": "sha256:top", "CreatedBy": "RUN /bin/sh -c rm -rf /data # buildkit", "Size": 0},
        {"Id": "<missing>", "CreatedBy": 'CMD ["sh"]', "Size": 0},
        {"Id": "<missing>", "CreatedBy": "RUN /bin/sh -c change-things # buildkit", "Size": 1060},
        {"Id": "<missing>", "CreatedBy": "/bin/sh -c #(nop)  ENV X=1", "Size": 0},
        {"Id": "<missing>", "CreatedBy": "/bin/sh -c #(nop) ADD file:abc in / ", "Size": 2015},
    ]
    config = json.loads(config_for(SCENARIO))
    assert L.align_engine_history(engine, 3, config) == [2, None, 1, None, 0]
    # Without the config, Size > 0 plus RUN/COPY/ADD with size 0 while layers are unaccounted
    assert L.align_engine_history(engine, 3) == [2, None, 1, None, 0]
    assert L.align_engine_history(engine, 2) == [None, None, 1, None, 0]


def test_no_file_contents_kept_in_memory(tmp_path: Path) -> None:
    class Zeros(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    big = 50 * 1024 * 1024
    layer_path = tmp_path / "layer.tar"
    with tarfile.open(layer_path, mode="w") as tar:
        info = tarfile.TarInfo("big/zeros")
        info.size = big
        tar.addfile(info, io.BufferedReader(Zeros(big)))
    export_path = tmp_path / "export.tar"
    with tarfile.open(export_path, mode="w") as tar:
        tar.add(layer_path, arcname="x/layer.tar")
        tar.addfile(*f("c.json", config_for([])))
        manifest = [{"Config": "c.json", "Layers": ["x/layer.tar"]}]
        tar.addfile(*f("manifest.json", json.dumps(manifest).encode()))

    def chunks() -> Iterator[bytes]:
        with export_path.open("rb") as stream:
            while block := stream.read(64 * 1024):
                yield block

    tracemalloc.start()
    try:
        result = L.analyze_image_stream(chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.layers[0].size == big
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def test_gzip_bomb_layer_is_inflated_in_bounded_steps() -> None:
    # 50 MB of zeros gzip to ~50 KB; tarfile's own "r|gz" would inflate 10 KB reads to MBs.
    big = 50 * 1024 * 1024
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = big
        tar.addfile(info, io.BytesIO(bytes(big)))
    data = oci_export([raw.getvalue()], history=HISTORY[:1], nested=False)
    del raw
    tracemalloc.start()
    try:
        result = L.analyze_image_stream(chunked(data, 65536))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.layers[0].size == big
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


def test_layers_module_does_not_import_textual() -> None:
    code = (
        "import sys, dockui.engine.layers; print('textual' in sys.modules, 'rich' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["False", "False"]
