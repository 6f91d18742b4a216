"""`dockui layers` pieces that need no engine: dive's size and rules parsing, the rule
comparisons, the `.dive-ci` reader, dive's fileList and fileMode encoding, the parser."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from dockui import cli
from dockui import layers_cli as C
from dockui.engine import layers as L


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1000", 1000),
        ("20MB", 20_000_000),
        ("20mb", 20_000_000),
        ("20 MB", 20_000_000),
        ("20M", 20_000_000),
        ("20MiB", 20 * 2**20),
        ("1.5GB", 1_500_000_000),
        ("512k", 512_000),
        ("2KiB", 2048),
        ("1,000 B", 1000),
    ],
)
def test_parse_bytes_like_go_humanize(text: str, expected: int) -> None:
    assert C.parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "MB", "1kx", "-5MB", "lots"])
def test_parse_bytes_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        C.parse_bytes(text)


def test_dive_ci_file_format() -> None:
    text = (
        "---\n"
        "# dive's documented example\n"
        "rules:\n"
        "  # If the efficiency is measured below X%, mark as failed.\n"
        "  lowestEfficiency: 0.95\n"
        "\n"
        "  highestWastedBytes: 20MB   # trailing comment\n"
        '  highestUserWastedPercent: "0.20"\n'
        "other:\n"
        "  lowestEfficiency: 0.1\n"
    )
    assert C.parse_ci_config(text) == {
        "lowestEfficiency": "0.95",
        "highestWastedBytes": "20MB",
        "highestUserWastedPercent": "0.20",
    }
    assert C.parse_ci_config("rules.lowestEfficiency: 0.5\n") == {"lowestEfficiency": "0.5"}


def test_dive_ci_file_errors_name_the_line() -> None:
    with pytest.raises(C.LayersError, match=r"x\.yml:2: expected 'key: value'"):
        C.parse_ci_config("rules:\n  lowestEfficiency 0.5\n", "x.yml")
    with pytest.raises(C.LayersError, match="unknown rule 'lowestEfficency'"):
        C.parse_ci_config("rules:\n  lowestEfficency: 0.5\n")


def test_rule_precedence_flag_then_file_then_default(tmp_path) -> None:
    (tmp_path / ".dive-ci").write_text(
        "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1MB\n"
    )
    flags = {
        "lowestEfficiency": None,
        "highestWastedBytes": "2MB",
        "highestUserWastedPercent": None,
    }
    rules, used = C.resolve_rules(flags, None, cwd=tmp_path)
    by_name = {r.name: r for r in rules}
    assert used == str(tmp_path / ".dive-ci")
    assert (by_name["lowestEfficiency"].value, by_name["lowestEfficiency"].origin) == ("0.5", used)
    assert (by_name["highestWastedBytes"].value, by_name["highestWastedBytes"].origin) == (
        "2MB",
        "flag",
    )
    assert by_name["highestUserWastedPercent"].value == "0.1"
    # No file in the directory: dive's defaults.
    rules, used = C.resolve_rules(dict.fromkeys(flags), None, cwd=tmp_path / "nowhere")
    assert used is None
    assert {r.name: r.value for r in rules} == C.DEFAULT_RULES


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"lowestEfficiency": "1.5"}, "lowestEfficiency must be between 0 and 1"),
        ({"highestUserWastedPercent": "lots"}, "highestUserWastedPercent must be a number"),
        ({"highestWastedBytes": "1kx"}, "highestWastedBytes: unknown size unit"),
    ],
)
def test_bad_rule_values_are_errors_before_any_work(flags, message, tmp_path) -> None:
    with pytest.raises(C.LayersError, match=message):
        C.resolve_rules(flags, None, cwd=tmp_path)


def test_missing_explicit_config_is_an_error(tmp_path) -> None:
    with pytest.raises(C.LayersError, match="not found"):
        C.resolve_rules({}, str(tmp_path / "none.yml"))


def _numbers(score: float, wasted: int, user: float) -> SimpleNamespace:
    return SimpleNamespace(score=score, wasted_bytes=wasted, user_wasted_percent=user)


def test_rule_comparisons_are_dives() -> None:
    rules = [
        C.Rule("highestUserWastedPercent", "0.1", "flag"),
        C.Rule("highestWastedBytes", "1000", "flag"),
        C.Rule("lowestEfficiency", "0.9", "flag"),
    ]
    # On the thresholds exactly: dive passes all three (strict comparisons).
    status = [r.status for r in C.evaluate_rules(rules, _numbers(0.9, 1000, 0.1))]
    assert status == ["PASS", "PASS", "PASS"]
    results = C.evaluate_rules(rules, _numbers(0.89, 1001, 0.11))
    assert [r.status for r in results] == ["FAIL", "FAIL", "FAIL"]
    assert "efficiency=0.89 < threshold=0.9" in results[2].message
    disabled = C.evaluate_rules(
        [C.Rule("highestWastedBytes", "disabled", "default")], _numbers(0, 10**12, 1)
    )
    assert [(r.status, r.message) for r in disabled] == [("SKIP", "rule disabled")]


def test_ci_report_lines() -> None:
    results = [
        C.RuleResult("a", "PASS"),
        C.RuleResult("b", "FAIL", "why"),
        C.RuleResult("c", "SKIP", "rule disabled"),
    ]
    lines = C.render_ci(results, ".dive-ci")
    assert lines == [
        "CI config: .dive-ci",
        "  PASS: a",
        "  FAIL: b: why",
        "  SKIP: c: rule disabled",
        "Result:FAIL [Total:3] [Passed:1] [Failed:1] [Skipped:1]",
    ]


def _entry(path: str, kind: str, size: int = 0, mode: int = 0o644, link: str = "") -> L.LayerEntry:
    return L.LayerEntry(path=path, kind=kind, size=size, mode=mode, link=link)


def test_file_list_is_dives_tree_walk() -> None:
    """Children before parents, names in byte order, implied parents with an empty
    FileInfo, whiteouts under their .wh. names, no opaque marker."""
    entries = (
        _entry("/usr", L.DIR, mode=0o40755),
        _entry("/usr/bin/tool", L.FILE, 10, 0o100755),  # /usr/bin is implied
        _entry("/etc/.hidden", L.WHITEOUT, mode=0o600),  # /etc is implied
        _entry("/Zed", L.SYMLINK, mode=0o120777, link="/usr/bin/tool"),
        _entry("/opt", L.OPAQUE, mode=0o755),  # /opt is implied by the marker
        _entry("/usr/bin/hard", L.HARDLINK, link="/usr/bin/tool", mode=0o100755),
    )
    listed = list(C.dive_file_list(entries))
    assert [f["path"] for f in listed] == [
        "Zed",
        "etc/.wh..hidden",
        "",  # etc (implied)
        "",  # opt (implied, its marker skipped)
        "usr/bin/hard",
        "usr/bin/tool",
        "",  # usr/bin (implied)
        "usr",
    ]
    by_path = {f["path"]: f for f in listed if f["path"]}
    assert by_path["usr"] == {
        "path": "usr", "typeFlag": 53, "linkName": "", "size": 0,
        "fileMode": (1 << 31) | 0o755, "uid": 0, "gid": 0, "isDir": True,
    }  # fmt: skip
    assert by_path["Zed"]["typeFlag"] == 50 and by_path["Zed"]["fileMode"] == (1 << 27) | 0o777
    assert by_path["usr/bin/hard"]["typeFlag"] == 49
    assert by_path["usr/bin/hard"]["linkName"] == "usr/bin/tool"
    assert (
        by_path["etc/.wh..hidden"]["typeFlag"] == 48
        and by_path["etc/.wh..hidden"]["fileMode"] == 0o600
    )
    assert listed[2] == C._IMPLIED


def test_go_file_mode_special_bits() -> None:
    suid = _entry("/bin/su", L.FILE, mode=0o104755)
    assert C._go_file_mode(suid, 48) == (1 << 23) | 0o755
    sticky_dir = _entry("/tmp", L.DIR, mode=0o41777)
    assert C._go_file_mode(sticky_dir, 53) == (1 << 31) | (1 << 20) | 0o777
    fifo = _entry("/run/pipe", L.OTHER, mode=0o10644)
    assert C._type_flag(fifo) == ord("6")
    assert C._go_file_mode(fifo, ord("6")) == (1 << 25) | 0o644


def test_go_json_escapes_like_encoding_json() -> None:
    assert C._go_json("a && b > c < d") == '"a \\u0026\\u0026 b \\u003e c \\u003c d"'
    assert C._go_json("café") == '"café"'
    assert C._go_json("bad\udcffbyte") == '"bad\ufffdbyte"'
    assert C._go_json(1.0) == "1" and C._go_json(0.5) == "0.5"


def _analysis(files: tuple[L.WastedFile, ...] = ()) -> SimpleNamespace:
    layer = SimpleNamespace(
        index=0,
        source="abc/layer.tar",
        diff_id="sha256:d1",
        size=3,
        history=None,
        created_by="",
        entries=(_entry("/f", L.FILE, 3),),
    )
    return SimpleNamespace(layers=(layer,), size=3)


def test_json_document_shape_and_empty_lists() -> None:
    numbers = SimpleNamespace(score=1.0, wasted_bytes=0, files=())
    out = io.StringIO()
    C.write_dive_json(_analysis(), numbers, out)
    text = out.getvalue()
    doc = json.loads(text)
    assert list(doc) == ["layer", "image"]
    assert list(doc["layer"][0]) == ["index", "id", "digestId", "sizeBytes", "command", "fileList"]
    assert doc["layer"][0]["id"] == "abc" and doc["layer"][0]["command"] == "(missing)"
    assert list(doc["image"]) == [
        "sizeBytes",
        "inefficientBytes",
        "efficiencyScore",
        "fileReference",
    ]
    assert '"efficiencyScore": 1,' in text and '"fileReference": []' in text
    assert not text.endswith("\n")  # dive's file has no trailing newline


def test_oci_layer_id_is_the_blob_digest() -> None:
    layer = SimpleNamespace(source="blobs/sha256/" + "ab" * 32)
    assert C._layer_id(layer) == "ab" * 32


def test_parser_keeps_the_tui_options_and_adds_layers() -> None:
    parser = cli.build_parser()
    tui = parser.parse_args(["--host", "tcp://h:2376", "--tail", "5", "--log-lines", "200"])
    assert (tui.command, tui.host, tui.tail, tui.log_lines) == (None, "tcp://h:2376", 5, 200)
    before = parser.parse_args(["-H", "unix:///x.sock", "layers", "img"])
    assert (before.command, before.host, before.image) == ("layers", "unix:///x.sock", "img")
    after = parser.parse_args(["layers", "img", "--host", "unix:///y.sock", "--json", "-", "--ci"])
    assert (after.host, after.json, after.ci) == ("unix:///y.sock", "-", True)
    dive_spelling = parser.parse_args(["layers", "img", "--lowestEfficiency", "0.5"])
    assert dive_spelling.lowest_efficiency == "0.5"


def test_bad_rule_flag_exits_2_before_connecting(capsys, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/never.sock")
    code = cli.main(["layers", "img", "--ci", "--lowest-efficiency", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(
        "dockui: lowestEfficiency must be between 0 and 1"
    )


# dive 0.13.1's fileReference on bench/layers.py's 250 MB image (chmod of /small/d001/f0..f99,
# files of "d001/N\n": 7 bytes for N < 10, else 8; each counted twice), after /data/f9.
# fmt: off
DIVE_ORDER = [
    "f99", "f98", "f97", "f96", "f95", "f94", "f93", "f92", "f91", "f90", "f10", "f89", "f88", "f87",
    "f86", "f85", "f84", "f83", "f82", "f81", "f80", "f11", "f79", "f78", "f77", "f76", "f75", "f74",
    "f73", "f72", "f71", "f70", "f12", "f69", "f68", "f67", "f66", "f65", "f64", "f63", "f62", "f61",
    "f60", "f25", "f58", "f15", "f57", "f56", "f55", "f14", "f53", "f52", "f51", "f50", "f49", "f48",
    "f47", "f46", "f45", "f59", "f43", "f42", "f41", "f40", "f39", "f38", "f37", "f36", "f35", "f34",
    "f33", "f32", "f31", "f30", "f29", "f28", "f27", "f26", "f13", "f24", "f23", "f22", "f21", "f20",
    "f19", "f18", "f17", "f16", "f44", "f54", "f6", "f7", "f8", "f9", "f5", "f4", "f3", "f2",
    "f1", "f0",
]
# fmt: on


def test_go_sort_is_gos_unstable_order() -> None:
    """Go's sort.Sort is unstable; dive writes equal-size files in the order it leaves
    them. Recorded from dive on a real image (Go 1.24's pdqsort, 101 elements)."""
    discovered = ["/data/f9"] + [f"f{i}" for i in sorted(range(100), key=str)]
    size = {"/data/f9": 26214400} | {f"f{i}": 14 if i < 10 else 16 for i in range(100)}
    items = list(discovered)
    C.go_sort(items, lambda a, b: size[a] < size[b])
    items.reverse()
    assert items == ["/data/f9", *DIVE_ORDER]


@pytest.mark.parametrize("n", [0, 1, 5, 13, 50, 51, 200, 1000])
def test_go_sort_sorts(n: int) -> None:
    import random

    rng = random.Random(n)
    data = [rng.randrange(10) for _ in range(n)]
    C.go_sort(data, lambda a, b: a < b)
    assert data == sorted(data)
    descending = list(range(n, 0, -1))
    C.go_sort(descending, lambda a, b: a < b)
    assert descending == sorted(descending)


def _whiteout_layer_tar() -> bytes:
    """Two whiteouts in one layer, as Docker 20.10 exports them on a kernel whose overlayfs
    hard-links whiteouts to one shared inode: the second `.wh.` header is a regular file
    whose linkname still names the first whiteout's original path."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        first = tarfile.TarInfo("data/.wh.f9")
        first.mode = 0o600
        second = tarfile.TarInfo("small/.wh.d000")
        second.mode = 0o600
        second.linkname = "data/f9"
        for info in (first, second):
            tar.addfile(info, io.BytesIO(b""))
    return buf.getvalue()


def test_whiteout_linkname_reaches_dives_file_list() -> None:
    """overlayfs exports repeat whiteouts as hard links to the first; dive lists the link."""
    entries, _size = L.read_layer_tar(io.BytesIO(_whiteout_layer_tar()))
    listed = {f["path"]: f for f in C.dive_file_list(entries)}
    assert listed["small/.wh.d000"]["linkName"] == "data/f9"


def test_prefetch_keeps_order_and_raises_the_readers_error() -> None:
    with C.Prefetch(iter([b"a", b"b", b"c"]), depth=1) as chunks:
        assert b"".join(chunks) == b"abc"

    def broken() -> Iterator[bytes]:
        yield b"x"
        raise OSError("connection reset by peer")

    with pytest.raises(OSError, match="reset"), C.Prefetch(broken()) as chunks:
        list(chunks)


def test_prefetch_stops_a_reader_waiting_on_a_full_queue() -> None:
    produced = []

    def endless() -> Iterator[bytes]:
        while True:
            produced.append(1)
            yield b"x"

    prefetch = C.Prefetch(endless(), depth=2)
    with prefetch as chunks:
        assert next(chunks) == b"x"
    assert not prefetch._thread.is_alive()
    assert len(produced) < 10  # read ahead by at most the queue's depth, then stopped
