"""Switching engines in the app: docker contexts, per-context label and read-only mode."""

from __future__ import annotations

import os
import subprocess

import pytest

from dockui import config
from dockui.app import DockuiApp
from dockui.screens.hosts import HostsScreen
from tests.app.test_app import until
from tests.conftest import DOCKER_CLI

pytestmark = pytest.mark.engine


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """A docker config dir of our own with a second context for the same local engine."""
    env = dict(os.environ, DOCKER_API_VERSION="1.41")
    env.pop("DOCKER_HOST", None)
    subprocess.run(
        [DOCKER_CLI, "--config", str(tmp_path), "context", "create", "staging",
         "--docker", "host=unix:///var/run/docker.sock", "--description", "the staging box"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return tmp_path


async def test_switch_context_in_app_with_its_label_and_read_only(docker_config, make_container):
    settings = config.loads(
        '[contexts.staging]\nlabel = "STAGING"\ncolour = "yellow"\nread_only = true\n',
        docker_config / "config.toml",
    )
    c = make_container()
    app = DockuiApp(settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.connected and c.id in app.containers)
        assert not app.read_only and "STAGING" not in str(app.status.render())
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, HostsScreen))
        rows = {r.name: r for r in app.screen.rows}
        assert set(rows) == {"default", "staging"}
        assert rows["staging"].endpoint == "unix:///var/run/docker.sock"
        assert rows["staging"].read_only and rows["staging"].label == "STAGING"
        app.screen.table.move_cursor(row=list(rows).index("staging"))
        await pilot.press("enter")
        await until(pilot, lambda: app.context == "staging" and app.connected, timeout=10)
        # Every list resynced from the other engine (the same one here, by another road).
        await until(pilot, lambda: c.id in app.containers_pane.table.objects)
        status = str(app.status.render())
        assert "STAGING" in status and "READ-ONLY" in status and "staging (" in status
        assert app.read_only
        # Read-only for this context: a stop is refused, the container keeps running.
        table = app.containers_pane.table
        table.focus()
        table.select_key(c.id)
        await pilot.press("s")
        await pilot.pause(0.5)
        c.reload()
        assert c.status == "running"
        # And back: the default engine is not read-only.
        app.switch_engine("default")
        await until(pilot, lambda: app.context == "default" and app.connected, timeout=10)
        assert not app.read_only


async def test_unknown_context_is_a_sentence(docker_config):
    app = DockuiApp(context="nope")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.screen.id == "engine-down", timeout=10)
        await until(
            pilot, lambda: "No docker context named 'nope'" in str(app.screen.body.render())
        )
