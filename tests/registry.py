"""A real registry for the tests: Debian's `docker-registry` (distribution 2.8) started on a
free loopback port with a temporary storage folder and a generated config; optionally with
basic auth from an htpasswd file made here (`htpasswd -B`, apache2-utils). The engine
treats 127.0.0.0/8 as insecure, so plain http works without touching daemon.json.

tests/integration/conftest.py and tests/app/conftest.py import the fixtures (`registry`,
`auth_registry`, `docker_config`) for the tests in those folders.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
HTPASSWD_BIN = shutil.which("htpasswd") or "/usr/bin/htpasswd"


@dataclass
class RegistryServer:
    host: str  # 127.0.0.1:PORT
    root: Path
    proc: subprocess.Popen[bytes]
    username: str | None = None
    password: str | None = None

    @property
    def log(self) -> str:
        try:
            return (self.root / "registry.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_registry(*, auth: bool = False) -> RegistryServer:
    if not os.access(REGISTRY_BIN, os.X_OK):
        pytest.fail(
            "docker-registry is not installed: apt-get install -y docker-registry "
            "(.ci/run installs it)"
        )
    root = Path(tempfile.mkdtemp(prefix="dockui-registry-"))
    username = password = None
    auth_block = ""
    if auth:
        if not os.access(HTPASSWD_BIN, os.X_OK):
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail("htpasswd is not installed: apt-get install -y apache2-utils")
        username, password = "dockui", f"pw-{uuid.uuid4().hex}"
        made = subprocess.run(
            [HTPASSWD_BIN, "-B", "-i", "-n", username],
            input=password.encode(),
            capture_output=True,
            timeout=30,
        )
        assert made.returncode == 0, made.stderr.decode(errors="replace")
        (root / "htpasswd").write_bytes(made.stdout)
        auth_block = f"auth:\n  htpasswd:\n    realm: dockui-test\n    path: {root / 'htpasswd'}\n"
    for attempt in range(3):
        port = free_port()
        host = f"127.0.0.1:{port}"
        (root / "config.yml").write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {host}\n  secret: {uuid.uuid4().hex}\n" + auth_block
        )
        log = open(root / "registry.log", "wb")  # noqa: SIM115 - the process writes it
        proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(root / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        server = RegistryServer(host, root, proc, username, password)
        if _wait_ready(server):
            return server
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if attempt == 2:
            text = server.log
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"docker-registry did not start on {host}: {text[-2000:]}")
    raise AssertionError("unreachable")


def _wait_ready(server: RegistryServer, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://{server.host}/v2/", timeout=1):
                return True
        except urllib.error.HTTPError as exc:  # 401 from an auth registry: it is up
            return exc.code == 401
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture
def registry() -> Iterator[RegistryServer]:
    """A registry without auth on 127.0.0.1:PORT; stopped and its folder deleted after."""
    server = start_registry()
    yield server
    server.stop()


@pytest.fixture
def auth_registry() -> Iterator[RegistryServer]:
    """A registry with basic auth (`username`/`password` on the object)."""
    server = start_registry(auth=True)
    yield server
    server.stop()


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty docker config folder ($DOCKER_CONFIG): logins in a test never touch ~/.docker."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder
