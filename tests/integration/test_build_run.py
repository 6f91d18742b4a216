"""Build and run against the real engine: streamed steps and cache hits, a failing step,
cancelling a slow build, running with a port and fetching the page, and the port and
name checks. Every image and container is labelled dockui.test=1 and removed."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockui.engine.build import (
    Build,
    BuildCancelled,
    BuildFailed,
    BuildRequest,
    BuildSucceeded,
    SendingContext,
    StepCached,
    StepFinished,
    StepOutput,
    StepStarted,
    find_buildkit_cli,
)
from dockui.engine.client import Engine, connect
from dockui.engine.run import (
    PortMapping,
    Problem,
    RunError,
    RunSpec,
    docker_cli_line,
    ports_from_image,
    run,
    validate,
)
from tests.conftest import BASE_IMAGE, TEST_LABEL, unique, wait_for

pytestmark = pytest.mark.engine

HTTPD_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY index.html /www/
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""


class Recorder:
    """Collects a build's events (called from the build thread)."""

    def __init__(self) -> None:
        self.events: list = []
        self.done = threading.Event()

    def __call__(self, event) -> None:
        self.events.append(event)
        if isinstance(event, (BuildSucceeded, BuildFailed, BuildCancelled)):
            self.done.set()

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def outcome(self):
        return self.events[-1]


def build(engine: Engine, req: BuildRequest, *, use_cli: bool = False) -> Recorder:
    rec = Recorder()
    b = Build(engine, req, rec, use_cli=use_cli).start()
    b.join(60)
    assert not b.alive
    assert rec.outcome is b.outcome
    assert (
        sum(isinstance(e, (BuildSucceeded, BuildFailed, BuildCancelled)) for e in rec.events) == 1
    )
    return rec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def labelled(engine: Engine, key: str) -> list[dict]:
    return engine.api.containers(all=True, filters={"label": f"dockui.run={key}"})


@dataclass
class Site:
    ctx: Path
    tag: str
    token: str
    engine: Engine

    def ensure(self) -> str:
        """The tag, rebuilt (from cache) if another test session's sweep of labelled
        objects removed it meanwhile: sessions share this engine."""
        try:
            self.engine.api.inspect_image(self.tag)
        except Exception:
            req = BuildRequest(str(self.ctx), tags=(self.tag,), labels=TEST_LABEL)
            assert isinstance(build(self.engine, req).outcome, BuildSucceeded)
        return self.tag


@pytest.fixture(scope="module")
def engine(docker_client) -> Iterator[Engine]:
    eng = connect()
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def site(engine, tmp_path_factory) -> Iterator[Site]:
    """The httpd image the run tests use (built on first use)."""
    ctx: Path = tmp_path_factory.mktemp("site")
    token = uuid.uuid4().hex
    (ctx / "index.html").write_text(f"<h1>hello from dockui {token}</h1>\n")
    (ctx / "Dockerfile").write_text(HTTPD_DOCKERFILE)
    tag = f"dockui-test/site:{token[:8]}"
    yield Site(ctx, tag, token, engine)
    try:
        engine.api.remove_image(tag, force=True)
    except Exception:
        pass


@pytest.fixture
def containers(engine) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for cid in made:
        try:
            engine.api.remove_container(cid, force=True, v=True)
        except Exception:
            pass


# --------------------------------------------------------------------------- build


def test_build_streams_steps_then_a_rebuild_is_all_cache_hits(engine, tmp_path):
    token = uuid.uuid4().hex
    (tmp_path / "index.html").write_text(f"<h1>{token}</h1>\n")
    (tmp_path / "Dockerfile").write_text(HTTPD_DOCKERFILE)
    tag = f"dockui-test/site:{token[:8]}"
    req = BuildRequest(str(tmp_path), tags=(tag, f"{tag}-extra"), labels=TEST_LABEL)
    rec = build(engine, req)
    try:
        outcome = rec.outcome
        assert isinstance(outcome, BuildSucceeded), outcome
        assert rec.of(SendingContext)[0].files == 2
        started = rec.of(StepStarted)
        # FROM, COPY, EXPOSE, CMD and a LABEL step the engine adds per build label.
        total = 4 + len(TEST_LABEL)
        assert [s.index for s in started] == list(range(1, total + 1))
        assert outcome.total_steps == total
        assert started[0].instruction == f"FROM {BASE_IMAGE}"
        assert started[1].instruction == "COPY index.html /www/"
        finished = rec.of(StepFinished)
        assert [f.index for f in finished] == list(range(1, total + 1))
        assert all(f.layer_id and len(f.layer_id) == 12 for f in finished)
        assert outcome.image_id.startswith("sha256:")
        assert finished[-1].layer_id == outcome.image_id[7:19]
        assert outcome.size_bytes and outcome.size_bytes > 1_000_000  # static busybox, ~2 MB
        assert outcome.cached_steps == 0
        assert outcome.tags == (tag, f"{tag}-extra")
        for ref in outcome.tags:
            image = engine.api.inspect_image(ref)
            assert image["Id"] == outcome.image_id
            assert image["Config"]["Labels"]["dockui.test"] == "1"

        again = build(engine, req)
        second = again.outcome
        assert isinstance(second, BuildSucceeded), second
        assert second.image_id == outcome.image_id
        assert [c.index for c in again.of(StepCached)] == list(range(2, total + 1))  # not FROM
        assert second.cached_steps == second.total_steps - 1
        assert not again.of(StepOutput)
    finally:
        for ref in (tag, f"{tag}-extra"):
            try:
                engine.api.remove_image(ref, force=True)
            except Exception:
                pass


def test_broken_dockerfile_names_step_3_and_its_error(engine, tmp_path):
    # The LABEL comes first so the step images a failed build leaves (as cache for the
    # next try) are labelled like every test object.
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nLABEL dockui.test=1\nRUN echo about to fail; exit 3\nRUN echo never\n"
    )
    tag = f"dockui-test/broken:{uuid.uuid4().hex[:8]}"
    rec = build(engine, BuildRequest(str(tmp_path), tags=(tag,), labels=TEST_LABEL))
    try:
        failure = rec.outcome
        assert isinstance(failure, BuildFailed), failure
        assert failure.step_index == 3
        assert failure.instruction == "RUN echo about to fail; exit 3"
        total = 4 + len(TEST_LABEL)  # a LABEL step per build label
        assert failure.error_sentence == (
            f"Step 3/{total} (RUN echo about to fail; exit 3) failed: "
            "the command exited with code 3."
        )
        assert failure.output_tail == ("about to fail",)
        assert [s.index for s in rec.of(StepStarted)] == [1, 2, 3]
        assert not any(f.index == 3 for f in rec.of(StepFinished))
    finally:
        layer = next((f.layer_id for f in rec.of(StepFinished) if f.index == 2), None)
        if layer:
            try:
                engine.api.remove_image(layer, force=True)
            except Exception:
                pass


def test_cancel_a_slow_build_stops_promptly_and_leaves_no_container(engine, tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN echo sleeping && sleep 30\n")
    rec = Recorder()
    b = Build(engine, BuildRequest(str(tmp_path), no_cache=True, labels=TEST_LABEL), rec).start()
    wait_for(lambda: any(e.line == "sleeping" for e in rec.of(StepOutput)), timeout=20)
    step_container = b.last_container_id
    assert step_container
    started = time.monotonic()
    b.close()
    assert rec.done.wait(10)
    elapsed = time.monotonic() - started
    b.join(5)
    assert not b.alive
    assert isinstance(rec.outcome, BuildCancelled)
    assert rec.outcome.step_index == 2
    assert elapsed < 5, f"cancel took {elapsed:.1f} s"
    assert engine.api.containers(all=True, filters={"id": step_container}) == []


def test_dockerfile_outside_the_context_and_dockerignore(engine, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "keep.txt").write_text("kept")
    (ctx / "secret.env").write_text("TOKEN=x")
    (ctx / ".dockerignore").write_text("*.env\n")
    outside = tmp_path / "Dockerfile.elsewhere"
    outside.write_text(f"FROM {BASE_IMAGE}\nCOPY . /ctx/\nRUN ls -a /ctx\n")
    req = BuildRequest(str(ctx), dockerfile=str(outside), labels=TEST_LABEL)
    rec = build(engine, req)
    outcome = rec.outcome
    assert isinstance(outcome, BuildSucceeded), outcome
    try:
        listed = {e.line.strip() for e in rec.of(StepOutput) if e.index == 3}
        assert "keep.txt" in listed
        assert "secret.env" not in listed  # .dockerignore honoured
        assert not any(name.startswith(".dockerfile.") for name in listed)  # never copied
    finally:
        engine.api.remove_image(outcome.image_id, force=True)


def test_buildkit_cli_path_builds_the_same_site(engine, site):
    cli = find_buildkit_cli()
    if cli is None:
        pytest.skip("no docker CLI with BuildKit on this machine")  # the API path is the product
    tag = f"dockui-test/site-bk:{site.token[:8]}"
    rec = build(engine, BuildRequest(str(site.ctx), tags=(tag,), labels=TEST_LABEL), use_cli=True)
    try:
        outcome = rec.outcome
        assert isinstance(outcome, BuildSucceeded), outcome
        assert [s.instruction for s in rec.of(StepStarted)][1] == "COPY index.html /www/"
        assert outcome.size_bytes and outcome.size_bytes > 1_000_000
        assert engine.api.inspect_image(tag)["Id"] == outcome.image_id
    finally:
        try:
            engine.api.remove_image(tag, force=True)
        except Exception:
            pass


# --------------------------------------------------------------------------- run


def test_run_with_a_free_port_serves_the_page(engine, site, containers):
    image = site.ensure()
    assert ports_from_image(engine, image) == [PortMapping("", None, 80, "tcp")]
    port = free_port()
    key = uuid.uuid4().hex[:8]
    spec = RunSpec(
        image,
        name=unique("dockui-web"),
        ports=[PortMapping("", port, 80)],
        labels={**TEST_LABEL, "dockui.run": key},
    )
    assert validate(spec, engine) == []
    assert f"-p {port}:80" in docker_cli_line(spec)
    result = run(engine, spec)
    containers.append(result.container_id)
    assert result.name == spec.name
    assert result.urls == (f"http://localhost:{port}",)

    def fetch() -> bytes | None:
        try:
            with urllib.request.urlopen(result.urls[0], timeout=2) as response:
                return response.read()
        except OSError:
            return None

    body = wait_for(fetch, timeout=10, interval=0.1)
    assert site.token.encode() in body


def test_a_taken_port_is_named_and_a_forced_run_leaves_nothing(engine, site, containers):
    image = site.ensure()
    port = free_port()
    first = run(
        engine,
        RunSpec(
            image,
            name=unique("dockui-holder"),
            ports=[PortMapping("", port, 80)],
            labels=TEST_LABEL,
        ),
    )
    containers.append(first.container_id)
    key = uuid.uuid4().hex[:8]
    spec = RunSpec(
        image,
        name=unique("dockui-second"),
        ports=[PortMapping("", port, 80)],
        labels={**TEST_LABEL, "dockui.run": key},
    )
    assert validate(spec, engine) == [
        Problem("ports", f"Port {port} is taken by container {first.name}.", 0)
    ]
    holder = engine.api.inspect_container(first.container_id)["State"]
    assert holder["Running"], "the holder stopped (swept by another test session?)"
    try:
        second = run(engine, spec)
    except RunError as err:
        assert err.sentence == f"Port {port} is already allocated on the host."
        assert err.field == "ports"
    else:
        containers.append(second.container_id)
        pytest.fail(f"run() took port {port} that {first.name} holds")
    assert labelled(engine, key) == []


def test_a_port_held_by_another_program_fails_cleanly(engine, site):
    image = site.ensure()
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        key = uuid.uuid4().hex[:8]
        spec = RunSpec(
            image,
            ports=[PortMapping("", port, 80)],
            labels={**TEST_LABEL, "dockui.run": key},
        )
        assert validate(spec, engine) == [
            Problem("ports", f"Port {port} is in use by another program on this machine.", 0)
        ]
        with pytest.raises(RunError) as err:
            run(engine, spec)
        assert err.value.sentence == f"Port {port} is in use by another program on the host."
        assert labelled(engine, key) == []


def test_names_are_checked(engine, site, containers):
    image = site.ensure()
    bad = RunSpec(image, name="no spaces allowed")
    assert [p.field for p in validate(bad, engine)] == ["name"]
    taken = run(engine, RunSpec(image, name=unique("dockui-named"), labels=TEST_LABEL))
    containers.append(taken.container_id)
    problems = validate(RunSpec(image, name=taken.name), engine)
    assert len(problems) == 1 and problems[0].field == "name"
    assert problems[0].message.startswith(f"The name {taken.name} is already used by a container")
    with pytest.raises(RunError) as err:
        run(engine, RunSpec(image, name=taken.name, labels=TEST_LABEL))
    assert err.value.sentence == f"The name {taken.name} is already used by another container."
    missing = validate(RunSpec("dockui-test/does-not-exist:nope"), engine)
    assert missing == [
        Problem("image", "Image dockui-test/does-not-exist:nope is not on this engine.")
    ]
