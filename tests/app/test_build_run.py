"""Build and run through the dialogs, by keys, against the real engine."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
import uuid

import pytest

from dockui.app import DockuiApp
from dockui.engine.build import BuildFailed, BuildSucceeded
from dockui.screens.build import BuildScreen
from dockui.screens.run import RunScreen
from tests.app.test_app import until

pytestmark = pytest.mark.engine

# The label comes first: every intermediate image the legacy builder keeps carries it, so
# the sweep finds them too (with it last, each run left the COPY step's image dangling).
DOCKERFILE = """\
FROM dockui-test/busybox:latest
LABEL dockui.test=1
WORKDIR /www
COPY index.html /www/
RUN echo built > /www/built.txt
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""


@pytest.fixture
def project(tmp_path, monkeypatch, docker_client):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    page = f"hello {uuid.uuid4().hex}"
    (tmp_path / "index.html").write_text(page)
    monkeypatch.chdir(tmp_path)  # the build dialog starts in the current folder
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # recent builds
    tag = f"dockui-test/site:{uuid.uuid4().hex[:6]}"
    yield tmp_path, tag, page
    for c in docker_client.containers.list(all=True, filters={"ancestor": tag}):
        c.remove(force=True)
    try:
        docker_client.images.remove(tag, force=True)
    except Exception:
        pass
    # A rebuild or a failed build leaves untagged images of ours (the label is inherited).
    for image in docker_client.images.list(filters={"dangling": True, "label": "dockui.test=1"}):
        try:
            docker_client.images.remove(image.id, force=True)
        except Exception:
            pass


async def build(app, pilot, tag: str) -> BuildScreen:
    app.images_pane.focus()
    await pilot.press("b")
    await until(pilot, lambda: isinstance(app.screen, BuildScreen))
    screen = app.screen
    screen.tags_input.value = tag
    await pilot.pause(0.2)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: screen.result is not None, timeout=30)
    return screen


async def test_build_run_fetch_and_rebuild_from_cache(project, docker_client):
    _, tag, page = project
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        screen = await build(app, pilot, tag)
        result = screen.result
        assert isinstance(result, BuildSucceeded), result
        assert tag in result.tags and result.total_steps == 7
        assert "✓ built" in str(screen.status.render())
        # Every step is listed with its instruction.
        instructions = [screen.step_table.get_row_at(i)[3].plain for i in range(7)]
        assert instructions[3] == "COPY index.html /www/"
        # Run it from the build view: ports prefilled from EXPOSE 80.
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), timeout=10)
        run = app.screen
        spec, problems = run.spec()
        assert not problems and len(spec.ports) == 1 and spec.ports[0].container_port == 80
        port = spec.ports[0].host_port
        assert port and f"-p {port}:80" in str(run.cli_line.render())
        await pilot.press("ctrl+s")
        try:
            await until(pilot, lambda: not isinstance(app.screen, RunScreen), timeout=15)
        except AssertionError:
            raise AssertionError(str(run.problems.render())) from None
        # The new container is selected and its logs follow.
        table = app.containers_pane.table
        await until(pilot, lambda: table.selected is not None and table.selected.image == tag)
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
        )
        assert body.decode().strip() == page
        # The same build again (B repeats the last one): every step from the cache.
        await pilot.press("escape")
        app.images_pane.focus()
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BuildScreen))
        again = app.screen
        await until(pilot, lambda: again.result is not None, timeout=30)
        assert isinstance(again.result, BuildSucceeded)
        assert again.result.cached_steps >= 5
        assert "from cache" in str(again.status.render())
        cached = [again.step_table.get_row_at(i)[1].plain for i in range(7)]
        assert cached.count("cached") >= 5


async def test_broken_dockerfile_shows_the_failing_step(project):
    folder, tag, _ = project
    (folder / "Dockerfile").write_text(DOCKERFILE.replace("RUN echo built", "RUN exit 3 && echo"))
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        screen = await build(app, pilot, tag)
        assert isinstance(screen.result, BuildFailed)
        assert screen.result.step_index == 5
        status = str(screen.status.render())
        assert "step 5 failed" in status and "3" in status
        assert screen.step_table.get_row_at(4)[1].plain == "✗ failed"
        # e goes back to the form with its values kept.
        await pilot.press("e")
        assert screen.query_one("#build-form").display
        assert screen.tags_input.value == tag


async def test_missing_dockerfile_and_bad_tag_are_refused(project):
    _, tag, _ = project
    app = DockuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected)
        app.images_pane.focus()
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BuildScreen))
        screen = app.screen
        screen.tags_input.value = "Bad Tag!"
        await pilot.pause(0.2)
        await pilot.press("ctrl+s")
        assert not screen.running and "tag" in str(screen.problems.render()).lower()
        screen.tags_input.value = tag
        screen.dockerfile_input.value = "nope/Dockerfile"
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        assert not screen.running
        assert "No Dockerfile" in str(screen.problems.render())


async def test_taken_port_is_named_and_leaves_no_container(project, docker_client):
    _, tag, _ = project
    app = DockuiApp()
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen(1)
    taken = holder.getsockname()[1]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.connected)
            screen = await build(app, pilot, tag)
            assert isinstance(screen.result, BuildSucceeded)
            before = len(docker_client.containers.list(all=True, filters={"ancestor": tag}))
            await pilot.press("R")
            await until(pilot, lambda: isinstance(app.screen, RunScreen), timeout=10)
            run = app.screen
            run.ports_input.text = f"{taken}:80"
            run.name_input.value = f"dockui-t-{uuid.uuid4().hex[:6]}"
            await pilot.pause(0.2)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not run.busy, timeout=10)
            assert isinstance(app.screen, RunScreen)
            message = str(run.problems.render())
            assert str(taken) in message and ("in use" in message or "taken" in message)
            after = len(docker_client.containers.list(all=True, filters={"ancestor": tag}))
            assert after == before
            run.ports_input.text = "99999:80"
            await pilot.pause(0.1)
            assert "65535" in str(run.problems.render())
    finally:
        holder.close()
