"""Shared fixtures. Engine tests run against the real dockerd that scripts/dev-engine.sh
starts; if no engine can be made to answer they FAIL (never skip). Every object a test
creates carries the label dockui.test=1 and is removed afterwards."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Every test object carries dockui.test=1 (what .ci/run sweeps at the end) and this
# session's id, so a session cleans up only what it made: two test runs on one engine
# (developers working side by side) never remove each other's objects mid-test.
SESSION = uuid.uuid4().hex[:12]
TEST_LABEL = {"dockui.test": "1", "dockui.test.session": SESSION}
BASE_IMAGE = os.environ.get("DOCKUI_TEST_BASE", "dockui-test/busybox:latest")
# The docker CLI that matches this engine (Debian's); the first on PATH may be too new.
DOCKER_CLI = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")


def docker_cli(*args: str, check: bool = True) -> str:
    env = dict(os.environ)
    env.setdefault("DOCKER_API_VERSION", "1.41")
    assert DOCKER_CLI, "no docker CLI found"
    out = subprocess.run([DOCKER_CLI, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and out.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def unique(prefix: str = "dockui-t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker

    def try_connect() -> Any:
        try:
            client = docker.from_env(version="auto", timeout=20)
            client.ping()
            return client
        except Exception:
            return None

    client = try_connect()
    if client is None:
        script = ROOT / "scripts" / "dev-engine.sh"
        subprocess.run(["bash", str(script)], check=False, timeout=600)
        client = try_connect()
    if client is None:
        pytest.fail("No Docker engine answers and scripts/dev-engine.sh could not start one")
    try:
        client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        subprocess.run(["bash", str(ROOT / "scripts" / "dev-engine.sh")], check=True)
    yield client
    sweep(client)
    client.close()


def sweep(client: Any) -> None:
    """Remove every object this session labelled (and nothing else)."""
    flt = {"label": f"dockui.test.session={SESSION}"}
    for c in client.containers.list(all=True, filters=flt, ignore_removed=True):
        try:
            c.remove(force=True, v=True)
        except Exception:
            pass
    for img in client.images.list(filters=flt):
        try:
            client.images.remove(img.id, force=True)
        except Exception:
            pass
    for v in client.volumes.list(filters=flt):
        try:
            v.remove(force=True)
        except Exception:
            pass
    for n in client.networks.list(filters=flt):
        try:
            n.remove()
        except Exception:
            pass


@pytest.fixture
def make_container(docker_client: Any) -> Iterator[Callable[..., Any]]:
    """Run (or create) a labelled container from the busybox base; removed afterwards."""
    made: list[Any] = []

    def make(command: Any = "sleep 100000", *, start: bool = True, **kwargs: Any) -> Any:
        kwargs.setdefault("name", unique())
        kwargs["labels"] = {**TEST_LABEL, **kwargs.get("labels", {})}
        if start:
            c = docker_client.containers.run(BASE_IMAGE, command, detach=True, **kwargs)
        else:
            c = docker_client.containers.create(BASE_IMAGE, command, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.remove(force=True)
        except Exception:
            pass


LAYERED_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
ENV APP_HOME=/srv/app
WORKDIR /srv/app
RUN dd if=/dev/zero of=/srv/app/blob bs=1024 count=1500 2>/dev/null
RUN echo hello > greeting.txt && mkdir -p /srv/app/data
COPY payload.txt /srv/app/payload.txt
EXPOSE 80
CMD ["httpd", "-f", "-p", "80"]
"""


def build_image(client: Any, dockerfile: str, files: dict[str, bytes], tag: str) -> Any:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **files}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    image, _ = client.images.build(
        fileobj=buf, custom_context=True, tag=tag, labels=TEST_LABEL, rm=True, forcerm=True
    )
    return image


@pytest.fixture(scope="session")
def layered_image(docker_client: Any) -> Iterator[str]:
    """A labelled image with several layers, some empty (ENV, WORKDIR, EXPOSE, CMD)."""
    tag = f"dockui-test/layered:{uuid.uuid4().hex[:6]}"
    build_image(docker_client, LAYERED_DOCKERFILE, {"payload.txt": b"x" * 4321}, tag)
    yield tag
    try:
        docker_client.images.remove(tag, force=True)
    except Exception:
        pass
