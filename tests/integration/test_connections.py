"""Every way the docker CLI reaches an engine, against real parts on this machine's loopback.

One session fixture runs scripts/test-engines.sh: a second dockerd serving TLS on
127.0.0.1 (certificates made with openssl for the run) and an sshd on 127.0.0.1 that
lets root in with a generated key; `ssh://` then reaches the main engine through
`docker system dial-stdio`, as it would on a server.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from dockui.engine.client import ConnectionInfo, EngineUnavailable, connect
from dockui.engine.contexts import list_contexts
from dockui.engine.logs import LogFollower
from dockui.engine.watch import (
    Connected,
    ContainersChanged,
    Disconnected,
    ImagesChanged,
    Watcher,
)
from tests.conftest import BASE_IMAGE, DOCKER_CLI, ROOT, TEST_LABEL, unique, wait_for

pytestmark = pytest.mark.engine

SCRIPT = ROOT / "scripts" / "test-engines.sh"


@pytest.fixture(scope="session")
def engines(docker_client: Any) -> Iterator[dict[str, str]]:
    """The TLS dockerd and the sshd; torn down (engine, its containerd, bridge, files)
    even when a test or the start-up fails."""
    where = tempfile.mkdtemp(prefix="dkui-", dir="/tmp")
    try:
        out = subprocess.run(
            ["bash", str(SCRIPT), "up", where], capture_output=True, text=True, timeout=300
        )
        if out.returncode != 0:
            pytest.fail(f"scripts/test-engines.sh up failed:\n{out.stderr}\n{out.stdout}")
        info = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        # The TLS engine starts empty and nothing can be pulled: give it the base image.
        setup = docker.APIClient(base_url=info["TLS_SOCK"], version="auto", timeout=60)
        setup.load_image(b"".join(docker_client.api.get_image(BASE_IMAGE)))
        setup.close()
        yield info
    finally:
        subprocess.run(["bash", str(SCRIPT), "down", where], capture_output=True, timeout=120)


def base_env(tmp: Path) -> dict[str, str]:
    """No DOCKER_* from the outside; a private HOME so no real docker config leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    return env


def tls_env(engines: dict[str, str], tmp: Path, certs: str | None = None) -> dict[str, str]:
    return {
        **base_env(tmp),
        "DOCKER_HOST": f"tcp://127.0.0.1:{engines['TLS_PORT']}",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": certs or engines["CERTS"],
    }


def ssh_env(engines: dict[str, str], tmp: Path, bin_dir: str | None = None) -> dict[str, str]:
    env = base_env(tmp)
    env["PATH"] = f"{bin_dir or engines['SSH_BIN']}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def ssh_url(engines: dict[str, str]) -> str:
    return f"ssh://root@127.0.0.1:{engines['SSH_PORT']}"


def cli(*args: str, env: dict[str, str]) -> str:
    assert DOCKER_CLI
    full = {**env, "DOCKER_API_VERSION": "1.41"}
    out = subprocess.run([DOCKER_CLI, *args], capture_output=True, text=True, env=full, timeout=60)
    assert out.returncode == 0, f"docker {' '.join(args)}: {out.stderr}"
    return out.stdout


def ssh_children() -> list[tuple[int, str]]:
    """ssh processes this test process started and has not reaped (zombies included)."""
    me, found = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == me and comm == "ssh":
            found.append((int(pid), state))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self) -> None:
        self.updates: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, update: Any) -> None:
        with self.lock:
            self.updates.append(update)

    def of(self, kind: type) -> list[Any]:
        with self.lock:
            return [u for u in self.updates if isinstance(u, kind)]


class PlainTCPForwarder:
    """127.0.0.1:PORT -> a unix socket: the TLS engine's API as plain HTTP over TCP."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.unix_path)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()
        for c in self.conns:
            c.close()


# -- TLS -----------------------------------------------------------------------------------
def test_tls_via_docker_host(engines, tmp_path):
    env = tls_env(engines, tmp_path)
    # requests lets REQUESTS_CA_BUNDLE override a session's CA; the engine's ca.pem must win.
    if Path("/etc/ssl/certs/ca-certificates.crt").exists():
        env["REQUESTS_CA_BUNDLE"] = "/etc/ssl/certs/ca-certificates.crt"
    engine = connect(environ=env, timeout=10)
    try:
        info = engine.info
        assert isinstance(info, ConnectionInfo)
        assert info.transport == "tls" and info.tls and info.context == "default"
        assert info.host == info.display == f"tcp://127.0.0.1:{engines['TLS_PORT']}"
        assert engine.ping()
        assert any(BASE_IMAGE in i.tags for i in engine.list_images())
        # The docker CLI reaches the same engine with the environment the engine hands out.
        version = cli("version", "--format", "{{.Server.Version}}", env=engine.cli_env(env))
        assert version.strip() == info.server_version
    finally:
        engine.close()


def test_tls_via_a_context_by_flag_env_and_config(engines, tmp_path):
    cfg = tmp_path / "docker-config"
    env = {**base_env(tmp_path), "DOCKER_CONFIG": str(cfg)}
    certs = engines["CERTS"]
    endpoint = f"tcp://127.0.0.1:{engines['TLS_PORT']}"
    cli(
        "--config", str(cfg), "context", "create", "tlsctx",
        "--description", "the TLS test engine",
        "--docker", f"host={endpoint},ca={certs}/ca.pem,cert={certs}/cert.pem,key={certs}/key.pem",
        env=env,
    )  # fmt: skip
    # Our listing matches the CLI's.
    listed = cli(
        "--config", str(cfg), "context", "ls", "--format", "{{.Name}}={{.DockerEndpoint}}", env=env
    )
    theirs = {line.split("=", 1)[0].rstrip(" *"): line.split("=", 1)[1] for line in listed.split()}
    ours = {c.name: c.host for c in list_contexts(env)}
    assert ours == theirs
    row = next(c for c in list_contexts(env) if c.name == "tlsctx")
    assert row.tls and row.description == "the TLS test engine" and not row.current

    def check(engine):
        try:
            assert engine.info.context == "tlsctx" and engine.info.transport == "tls"
            assert engine.info.display == f"tlsctx ({endpoint})"
            assert engine.info.host == endpoint
            assert engine.ping() and engine.list_containers() is not None
            out = cli("version", "--format", "{{.Server.Version}}", env=engine.cli_env(env))
            assert out.strip() == engine.info.server_version
        finally:
            engine.close()

    check(connect(context="tlsctx", environ=env))  # --context
    check(connect(environ={**env, "DOCKER_CONTEXT": "tlsctx"}))  # DOCKER_CONTEXT
    cli("--config", str(cfg), "context", "use", "tlsctx", env=env)  # currentContext
    check(connect(environ=env))
    assert next(c for c in list_contexts(env) if c.name == "tlsctx").current


def test_watcher_lists_and_follows_events_over_tls(engines, tmp_path):
    env = tls_env(engines, tmp_path)
    direct = docker.APIClient(base_url=engines["TLS_SOCK"], version="1.41", timeout=30)
    rec = Recorder()
    w = Watcher(rec, None, connector=functools.partial(connect, environ=env), heartbeat_every=1)
    w.start()
    try:
        wait_for(lambda: rec.of(ContainersChanged) and rec.of(ImagesChanged), timeout=15)
        assert rec.of(Connected)[0].info.transport == "tls"
        assert any(BASE_IMAGE in i.tags for i in w.images.values())
        made = direct.create_container(BASE_IMAGE, "true", name=unique(), labels=TEST_LABEL)
        cid = made["Id"]
        wait_for(lambda: cid in w.containers, timeout=5)
        assert w.containers[cid].state == "created"
        tag = f"dockui-test/tls-tag:{unique()}"
        direct.tag(BASE_IMAGE, *tag.split(":"))
        wait_for(lambda: any(tag in i.tags for i in w.images.values()), timeout=5)
        direct.remove_container(cid, force=True)
        wait_for(lambda: cid not in w.containers, timeout=5)
        direct.remove_image(tag)
        assert w.stats["full_lists"] == 1  # events did it all
    finally:
        started = time.monotonic()
        w.stop()
        assert time.monotonic() - started < 2 and not w.running
        direct.close()


def test_wrong_ca_is_a_sentence(engines, tmp_path):
    with pytest.raises(EngineUnavailable) as info:
        connect(environ=tls_env(engines, tmp_path, engines["WRONG_CA"]), timeout=5)
    assert info.value.reason == (
        f"The TLS certificate of the engine at 127.0.0.1:{engines['TLS_PORT']} is not signed "
        f"by the CA dockui trusts (ca.pem in {engines['WRONG_CA']})."
    )


def test_client_certificate_from_another_ca_is_a_sentence(engines, tmp_path):
    with pytest.raises(EngineUnavailable) as info:
        connect(environ=tls_env(engines, tmp_path, engines["OTHER_CLIENT"]), timeout=5)
    assert "rejected dockui's TLS client certificate" in info.value.reason
    assert engines["OTHER_CLIENT"] in info.value.reason


def test_plain_http_to_the_tls_port_is_a_sentence(engines, tmp_path):
    env = {**base_env(tmp_path), "DOCKER_HOST": f"tcp://127.0.0.1:{engines['TLS_PORT']}"}
    with pytest.raises(EngineUnavailable) as info:
        connect(environ=env, timeout=5)
    assert info.value.reason == (
        f"The engine at 127.0.0.1:{engines['TLS_PORT']} requires TLS, but dockui connected "
        "without it."
    )


def test_plain_tcp_works_and_tls_to_it_is_a_sentence(engines, tmp_path):
    forwarder = PlainTCPForwarder(engines["TLS_SOCK"].removeprefix("unix://"))
    try:
        plain = f"tcp://127.0.0.1:{forwarder.port}"
        engine = connect(plain, environ=base_env(tmp_path), timeout=5)
        try:
            assert engine.info.transport == "tcp" and not engine.info.tls and engine.ping()
        finally:
            engine.close()
        with pytest.raises(EngineUnavailable) as info:
            connect(environ={**tls_env(engines, tmp_path), "DOCKER_HOST": plain}, timeout=5)
        assert "answers plain HTTP" in info.value.reason
    finally:
        forwarder.close()


# -- ssh -----------------------------------------------------------------------------------
def test_ssh_lists_pings_and_leaves_no_process(engines, tmp_path, make_container):
    c = make_container()
    env = ssh_env(engines, tmp_path)
    engine = connect(ssh_url(engines), environ=env, timeout=10)
    try:
        assert engine.info.transport == "ssh" and engine.info.display == ssh_url(engines)
        assert c.id in {x.id for x in engine.list_containers()}
        assert engine.ping()
        assert any(BASE_IMAGE in i.tags for i in engine.list_images())
        assert len(ssh_children()) == 1  # pooled: one ssh for all those requests
    finally:
        engine.close()
    wait_for(lambda: not ssh_children(), timeout=5)


def test_ssh_via_a_context(engines, tmp_path):
    cfg = tmp_path / "docker-config"
    env = {**ssh_env(engines, tmp_path), "DOCKER_CONFIG": str(cfg)}
    cli(
        "--config",
        str(cfg),
        "context",
        "create",
        "sshctx",
        "--docker",
        f"host={ssh_url(engines)}",
        env=env,
    )
    engine = connect(context="sshctx", environ=env, timeout=10)
    try:
        assert engine.info.display == f"sshctx ({ssh_url(engines)})" and engine.ping()
    finally:
        engine.close()
    wait_for(lambda: not ssh_children(), timeout=5)


def test_watcher_over_ssh_sees_a_new_container_and_stops_promptly(
    engines, tmp_path, make_container
):
    env = ssh_env(engines, tmp_path)
    rec = Recorder()
    w = Watcher(
        rec,
        ssh_url(engines),
        connector=functools.partial(connect, environ=env),
        heartbeat_every=0.5,
    )
    w.start()
    try:
        wait_for(lambda: rec.of(ContainersChanged), timeout=20)
        assert rec.of(Connected)[0].info.transport == "ssh"
        c = make_container()
        wait_for(lambda: c.id in w.containers and w.containers[c.id].state == "running", timeout=5)
        c.remove(force=True)
        wait_for(lambda: c.id not in w.containers, timeout=5)
        time.sleep(0.6)  # at least one heartbeat ping over ssh
        assert w.stats["full_lists"] == 1
    finally:
        started = time.monotonic()
        w.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 2 and not w.running
    wait_for(lambda: not ssh_children(), timeout=5)


def test_watcher_over_ssh_survives_an_engine_restart(engines, tmp_path):
    """ssh:// to the TLS engine (its root session's DOCKER_HOST points there); restart
    that engine: the watcher says why it is disconnected, reconnects and resyncs."""
    env = ssh_env(engines, tmp_path, engines["SSH_BIN_SECOND"])
    direct = docker.APIClient(base_url=engines["TLS_SOCK"], version="1.41", timeout=30)
    rec = Recorder()
    w = Watcher(
        rec,
        ssh_url(engines),
        connector=functools.partial(connect, environ=env, timeout=5),
        heartbeat_every=0.5,
        backoff=(0.2, 1.0),
    )
    w.start()
    cid = None
    try:
        wait_for(lambda: rec.of(ImagesChanged), timeout=20)
        assert set(w.images) == {i["Id"] for i in direct.images()}  # the TLS engine's
        out = subprocess.run(
            ["bash", str(SCRIPT), "restart", engines["DIR"]], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        wait_for(lambda: rec.of(Disconnected), timeout=5)
        # Made while the watcher is away (or just back): it must show up without help.
        cid = direct.create_container(BASE_IMAGE, "true", name=unique(), labels=TEST_LABEL)["Id"]
        wait_for(lambda: len(rec.of(Connected)) >= 2 and cid in w.containers, timeout=20)
        for d in rec.of(Disconnected):
            assert d.error.reason.endswith(".") and "Traceback" not in str(d.error)
    finally:
        w.stop()
        if cid:
            direct.remove_container(cid, force=True)
        direct.close()
    assert not w.running
    wait_for(lambda: not ssh_children(), timeout=5)


def test_log_follower_over_ssh_closes_promptly(engines, tmp_path, make_container):
    c = make_container(["sh", "-c", "while true; do echo tick; sleep 0.1; done"])
    engine = connect(ssh_url(engines), environ=ssh_env(engines, tmp_path), timeout=10)
    lines: list[Any] = []
    follower = LogFollower(engine, c.id, lines.extend, tail=5).start()
    try:
        wait_for(lambda: any(line.text == "tick" for line in lines), timeout=10)
    finally:
        started = time.monotonic()
        follower.close()
        follower.join(timeout=5)
        assert not follower.alive and time.monotonic() - started < 2
        engine.close()
    wait_for(lambda: not ssh_children(), timeout=5)


def test_ssh_with_a_key_the_server_does_not_know(engines, tmp_path):
    env = ssh_env(engines, tmp_path, engines["SSH_BIN_BADKEY"])
    with pytest.raises(EngineUnavailable) as info:
        connect(ssh_url(engines), environ=env, timeout=10)
    assert info.value.reason == (
        "ssh refused the login as root@127.0.0.1: Permission denied (publickey)."
    )
    assert "ssh-agent" in info.value.hint
    wait_for(lambda: not ssh_children(), timeout=5)


def test_ssh_to_a_host_whose_key_is_unknown(engines, tmp_path):
    wrapper = tmp_path / "bin" / "ssh"
    wrapper.parent.mkdir()
    config = Path(engines["SSH_BIN"]).parent / "ssh" / "ssh_config"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shutil.which("ssh")} -F {config} -o UserKnownHostsFile=/dev/null "$@"\n'
    )
    wrapper.chmod(0o755)
    with pytest.raises(EngineUnavailable) as info:
        connect(
            ssh_url(engines), environ=ssh_env(engines, tmp_path, str(wrapper.parent)), timeout=10
        )
    assert info.value.reason == (
        "The ssh host key of 127.0.0.1 is not known yet, so ssh refused to connect."
    )
    assert f"ssh -p {engines['SSH_PORT']} root@127.0.0.1" in info.value.hint


def test_ssh_connection_refused_and_no_ssh_binary(engines, tmp_path):
    port = free_port()
    with pytest.raises(EngineUnavailable) as info:
        connect(f"ssh://root@127.0.0.1:{port}", environ=ssh_env(engines, tmp_path), timeout=5)
    assert info.value.reason == (
        f"Nothing accepts ssh connections at 127.0.0.1:{port}: connection refused."
    )
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(EngineUnavailable) as info:
        connect(ssh_url(engines), environ={**base_env(tmp_path), "PATH": str(empty)}, timeout=5)
    assert "no `ssh` is installed" in info.value.reason
