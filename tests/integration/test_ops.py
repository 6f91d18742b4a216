"""Daily operations against the real engine: actions, exec, inspect, stats, housekeeping.

Every object carries dockui.test=1; the prune tests add a label unique to this run and prune
by it, so nothing else on the host (not even other test runs' objects) can be touched."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from dockui.engine import housekeeping as hk
from dockui.engine.actions import (
    ContainerAction,
    OperationError,
    exec_shell_command,
    project_action,
    run_action,
)
from dockui.engine.client import Engine, connect
from dockui.engine.inspect import MASK, inspect_container, top
from dockui.engine.stats import StatsPoller
from tests.conftest import BASE_IMAGE, TEST_LABEL, build_image, docker_cli, unique, wait_for

pytestmark = pytest.mark.engine

RUN = uuid.uuid4().hex[:10]
RUN_LABEL = {"dockui.test.ops": RUN}
RUN_FILTER = {"label": [f"dockui.test.ops={RUN}"]}
A = ContainerAction


@pytest.fixture(scope="module")
def engine(docker_client: Any) -> Iterator[Engine]:
    e = connect()
    yield e
    e.close()


def state(client: Any, cid: str) -> str:
    return client.api.inspect_container(cid)["State"]["Status"]


# -- actions ---------------------------------------------------------------------------------------
def test_each_action_changes_the_engine_state(engine, docker_client, make_container):
    c = make_container()
    api = docker_client.api

    def do(action: ContainerAction, **kw: Any) -> None:
        (result,) = run_action(engine, action, [c.id], timeout=0, **kw)
        assert result.ok, result.message
        assert result.message == f"{c.name} {action.past}" and result.id == c.id

    do(A.STOP)
    assert state(docker_client, c.id) == "exited"
    do(A.START)
    assert state(docker_client, c.id) == "running"
    do(A.PAUSE)
    assert state(docker_client, c.id) == "paused"
    do(A.UNPAUSE)
    assert state(docker_client, c.id) == "running"
    started = api.inspect_container(c.id)["State"]["StartedAt"]
    do(A.RESTART)
    after = api.inspect_container(c.id)["State"]
    assert after["Status"] == "running" and after["StartedAt"] != started
    do(A.KILL)
    assert state(docker_client, c.id) == "exited"
    assert api.inspect_container(c.id)["State"]["ExitCode"] == 137
    do(A.REMOVE)
    with pytest.raises(docker.errors.NotFound):
        api.inspect_container(c.id)


def test_bulk_action_reports_each_container(engine, docker_client, make_container):
    boxes = [make_container() for _ in range(3)]
    exited = make_container("true", start=False)
    gone = make_container(start=False)
    gone.remove()
    seen: list[Any] = []
    lock = threading.Lock()

    def collect(result: Any) -> None:
        with lock:
            seen.append(result)

    targets = [*(b.id for b in boxes), exited.name, gone.id]
    results = run_action(engine, A.KILL, targets, collect)
    assert [r.id for r in results][:3] == [b.id for b in boxes]  # in the order asked
    assert [r.ok for r in results] == [True, True, True, False, False]
    assert results[3].message == f"{exited.name} is not running"
    assert results[4].message == f"{gone.id[:12]} no longer exists"
    assert sorted(r.message for r in seen) == sorted(r.message for r in results)
    for b in boxes:
        assert state(docker_client, b.id) == "exited"


def test_removing_a_running_container_needs_force(engine, docker_client, make_container):
    c = make_container()
    (refused,) = run_action(engine, A.REMOVE, [c.id])
    assert not refused.ok
    assert refused.message == f"{c.name} is running: stop it first, or use force"
    assert state(docker_client, c.id) == "running"
    (forced,) = run_action(engine, A.REMOVE, [c.id], force=True)
    assert forced.ok
    with pytest.raises(docker.errors.NotFound):
        docker_client.api.inspect_container(c.id)


def test_remove_with_volumes_deletes_anonymous_volumes(engine, docker_client, make_container):
    c = make_container(start=False, volumes=["/scratch"])
    (mount,) = docker_client.api.inspect_container(c.id)["Mounts"]
    assert docker_client.volumes.get(mount["Name"])
    (result,) = run_action(engine, A.REMOVE_WITH_VOLUMES, [c.id])
    assert result.ok
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get(mount["Name"])


def test_a_container_that_vanished_mid_action(engine, docker_client, make_container):
    c = make_container(start=False)
    (summary,) = engine.list_containers(ids=[c.id])  # what the UI had on screen
    c.remove()
    (result,) = run_action(engine, A.START, [summary])
    assert not result.ok and result.message == f"{c.name} no longer exists"


def test_project_action_acts_on_its_project_only(engine, docker_client, make_container):
    project = f"dockui-proj-{RUN}"
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": "web"}
    web = [
        make_container(labels={**labels, "com.docker.compose.container-number": str(i)})
        for i in (1, 2)
    ]
    done = make_container("true", labels=labels)  # a one-shot service, already exited
    other = make_container(labels={"com.docker.compose.project": f"other-{RUN}"})
    wait_for(lambda: state(docker_client, done.id) == "exited")
    listed = engine.list_containers()
    results = project_action(engine, A.STOP, project, listed, timeout=0)
    assert sorted(r.id for r in results) == sorted(w.id for w in web)  # the exited one skipped
    assert all(r.ok for r in results)
    assert state(docker_client, other.id) == "running"


# -- exec ------------------------------------------------------------------------------------------
def test_exec_shell_command_picks_bash_when_present(engine, make_container):
    c = make_container()
    argv, env = exec_shell_command(engine, c.id)
    assert argv[1:] == ["exec", "-it", c.id, "sh"]
    assert env["DOCKER_HOST"] == engine.info.host
    assert env["DOCKER_API_VERSION"] == engine.info.api_version
    # The argv works against this engine (run without a terminal: -i only).
    out = subprocess.run(
        [argv[0], "exec", "-i", c.id, "sh", "-c", "echo from-$HOSTNAME"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == f"from-{c.id[:12]}"
    c.exec_run(
        ["sh", "-c", "printf '#!/bin/sh\\nexec /bin/sh \"$@\"\\n' > /bin/bash; chmod +x /bin/bash"]
    )
    assert exec_shell_command(engine, c.id)[0][-1] == "bash"


def test_exec_in_a_stopped_container_says_so(engine, make_container):
    c = make_container(start=False)
    with pytest.raises(OperationError, match=rf"^{c.name} is not running$"):
        exec_shell_command(engine, c.id)
    (summary,) = engine.list_containers(ids=[c.id])
    with pytest.raises(OperationError, match=rf"^{c.name} is not running$"):
        exec_shell_command(engine, summary)


# -- inspect and top -----------------------------------------------------------------------------
def test_inspect_masks_secret_env_and_reads_health(engine, make_container):
    c = make_container(
        environment={"DB_PASSWORD": "hunter2", "KEYBOARD_LAYOUT": "us", "APP_MODE": "prod"},
        healthcheck={"test": ["CMD-SHELL", "echo checked"], "interval": 500_000_000},
    )
    wait_for(lambda: inspect_container(engine, c.id).health.log, timeout=10)
    d = inspect_container(engine, c.id)
    env = {e.key: e for e in d.env}
    assert env["DB_PASSWORD"].secret and env["DB_PASSWORD"].shown() == MASK
    assert not env["KEYBOARD_LAYOUT"].secret and not env["APP_MODE"].secret
    assert "hunter2" not in d.json_text() and "hunter2" in d.json_text(reveal=True)
    assert d.name == c.name and d.running and d.image == BASE_IMAGE
    assert d.health.status in ("starting", "healthy")
    assert d.health.log[-1].output == "checked" and d.health.log[-1].ok
    assert d.networks and d.networks[0].name == "bridge" and d.networks[0].ip_address


def test_top_lists_processes_and_refuses_a_stopped_container(engine, make_container):
    c = make_container("sh -c 'sleep 4242 & sleep 4343'")

    def both() -> Any:
        procs = top(engine, c.id)
        commands = " ".join(procs.column("CMD"))
        return procs if "sleep 4242" in commands and "sleep 4343" in commands else None

    procs = wait_for(both, timeout=10)
    assert "PID" in procs.titles and len(procs.processes) >= 2
    assert all(pid.isdigit() for pid in procs.column("PID"))
    stopped = make_container(start=False)
    with pytest.raises(OperationError, match="is not running"):
        top(engine, stopped.id, name=stopped.name)
    with pytest.raises(OperationError, match="no longer exists"):
        inspect_container(engine, "dockui-no-such-container")


# -- stats vs docker stats ---------------------------------------------------------------------
def parse_size(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]*)", text.strip()).groups()
    scale = {"B": 1, "kB": 1e3, "KiB": 1024, "MB": 1e6, "MiB": 1024**2, "GB": 1e9, "GiB": 1024**3}
    return float(number) * scale[unit or "B"]


def test_stats_agree_with_docker_stats(engine, make_container):
    burner = make_container("sh -c 'while :; do :; done'")
    holder = make_container(
        "sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=50 && sleep 100000'"
    )
    wait_for(lambda: holder.exec_run("ls /dev/shm/fill").exit_code == 0, timeout=10)
    ids = [burner.id, holder.id]
    samples: dict[str, list[Any]] = {i: [] for i in ids}
    poller = StatsPoller(
        engine, lambda: ids, lambda i, s: samples[i].append(s), interval=1.0
    ).start()
    try:
        try:
            wait_for(lambda: all(len(samples[i]) >= 2 for i in ids), timeout=20)
        except AssertionError:
            raise AssertionError(
                f"{poller.stats} {[len(samples[i]) for i in ids]} "
                f"{[state(engine.client, i) for i in ids]}"
            ) from None
        began = time.time()
        out = docker_cli("stats", "--no-stream", "--format", "{{json .}}", *ids)
        ended = time.time()
        wait_for(lambda: samples[burner.id][-1].read >= ended, timeout=5)
    finally:
        poller.close()
    cli = {row["ID"]: row for row in map(json.loads, out.splitlines())}
    # Ours during the CLI's window (it measures ~1 s between two engine readings). Other load
    # on the host makes a busy loop's share move from second to second: the CLI's figure
    # must fall within 10 points of what we saw in that window.
    window = [
        s.cpu_percent
        for s in samples[burner.id]
        if s.cpu_percent is not None and began - 1.5 <= s.read <= ended + 1.5
    ]
    cli_cpu = float(cli[burner.id[:12]]["CPUPerc"].rstrip("%"))
    assert window and min(window) - 10 <= cli_cpu <= max(window) + 10, (window, cli_cpu)
    assert sum(window) / len(window) > 5 * max(0.5, samples[holder.id][-1].cpu_percent or 0)
    mem = samples[holder.id][-1]
    cli_used, cli_limit = (parse_size(p) for p in cli[holder.id[:12]]["MemUsage"].split("/"))
    assert mem.mem_usage >= 50 * 1024**2  # /dev/shm pages count, as in docker stats
    assert abs(mem.mem_usage - cli_used) <= 0.10 * cli_used, (mem.mem_usage, cli_used)
    assert abs(mem.mem_limit - cli_limit) <= 0.01 * cli_limit
    assert mem.pids == int(cli[holder.id[:12]]["PIDs"])
    assert poller.stats["errors"] == 0


def test_stats_poller_forgets_a_container_that_stops(engine, make_container):
    c = make_container()
    gone = threading.Event()
    poller = StatsPoller(
        engine, lambda: [c.id], lambda i, s: None, interval=0.2, on_gone=lambda i: gone.set()
    ).start()
    try:
        wait_for(lambda: poller.latest(c.id), timeout=5)
        c.kill()
        assert gone.wait(5)
        assert poller.history(c.id) == ()
    finally:
        poller.close()


def test_a_local_round_is_delivered_in_one_call(engine, make_container):
    """On a local socket a round's readings reach the app in one hand-over (one message
    to the UI thread per round, not one per container), each container once."""
    cs = [make_container() for _ in range(3)]
    ids = [c.id for c in cs]
    batches: list[list[str]] = []
    singles: list[str] = []
    poller = StatsPoller(
        engine,
        lambda: ids,
        lambda i, s: singles.append(i),
        interval=0.3,
        on_samples=lambda batch: batches.append([cid for cid, _ in batch]),
    ).start()
    try:
        wait_for(lambda: len(batches) >= 2, timeout=10)
    finally:
        poller.close()
    assert engine.socket_path is not None and singles == []
    assert all(sorted(b) == sorted(ids) for b in batches[:2]), batches


def test_local_stats_answer_like_docker_py_and_survive_dropped_sockets(engine, make_container):
    """The local-socket path (all of a round in flight from one thread): the same payload as
    docker-py's one-shot stats, 404 for a container that is gone, kept sockets reused, and
    a kept socket the engine dropped replaced without an error."""
    from dockui.engine.stats import LocalStats

    assert engine.socket_path is not None  # the test engine is local
    boxes = [make_container() for _ in range(3)]
    ids = [b.id for b in boxes]
    local = LocalStats(engine.socket_path, engine.info.api_version)
    try:
        answers = local.fetch([*ids, "no-such-container"])
        for cid in ids:
            status, body = answers[cid]
            raw = json.loads(body)
            reference = engine.api.stats(cid, stream=False, one_shot=True)
            assert status == 200 and raw["id"] == reference["id"] == cid
            assert raw["memory_stats"].keys() == reference["memory_stats"].keys()
        assert answers["no-such-container"][0] == 404
        kept = list(local._idle)
        assert len(kept) == 4  # every answer left its socket reusable
        for sock in kept:
            sock.shutdown(socket.SHUT_RDWR)  # as if the engine had dropped them all
        again = local.fetch(ids)
        assert all(not isinstance(a, Exception) and a[0] == 200 for a in again.values())
        assert len(local._idle) == 4  # three fresh ones, and the dropped one not tried yet
    finally:
        local.close()
    # The poller on a local engine never starts its thread pool.
    samples: list[str] = []
    poller = StatsPoller(engine, lambda: ids, lambda i, s: samples.append(i), interval=0.3)
    try:
        poller.start()
        wait_for(lambda: set(samples) == set(ids), timeout=10)
        assert not poller._pool._threads and poller.stats["errors"] == 0
    finally:
        poller.close()


# -- housekeeping ----------------------------------------------------------------------------------
def run_labels(**extra: str) -> dict[str, str]:
    return {**TEST_LABEL, **RUN_LABEL, **extra}


def test_prune_containers_frees_what_the_preview_said(engine, docker_client, make_container):
    victim = make_container(
        "dd if=/dev/zero of=/blob bs=1024 count=2048", labels=RUN_LABEL, name=unique("prune-me")
    )
    keeper = make_container("true", name=unique("keep-me"))  # dockui.test only: not ours to prune
    running = make_container(labels=RUN_LABEL)  # running: never pruned
    wait_for(
        lambda: (
            state(docker_client, victim.id) == "exited"
            and state(docker_client, keeper.id) == "exited"
        ),
        timeout=10,
    )
    preview = hk.prune_preview(engine, "containers", RUN_FILTER)
    assert preview.items == (victim.name,)
    assert preview.bytes >= 2 * 1024 * 1024
    result = hk.prune(engine, "containers", RUN_FILTER)
    assert result.removed == (victim.id,)
    assert result.space_reclaimed == preview.bytes
    assert state(docker_client, keeper.id) == "exited"
    assert state(docker_client, running.id) == "running"


def test_prune_volumes_and_networks_by_label(engine, docker_client, make_container):
    api = docker_client.api
    mine = api.create_volume(unique("vol"), labels=run_labels())["Name"]
    other = api.create_volume(unique("vol-keep"), labels=TEST_LABEL)["Name"]
    try:
        make_container(
            "dd if=/dev/zero of=/data/blob bs=1024 count=1024",
            volumes={mine: {"bind": "/data"}},
            labels=RUN_LABEL,
        ).wait(timeout=30)
        # Still referenced by that exited container: not prunable yet.
        assert mine not in hk.prune_preview(engine, "volumes", RUN_FILTER).items
        hk.prune(engine, "containers", RUN_FILTER)
        preview = hk.prune_preview(engine, "volumes", RUN_FILTER)
        assert preview.items == (mine,)
        assert preview.bytes >= 1024 * 1024
        listed = {
            v.name: v for v in hk.list_volumes(engine, {"label": "dockui.test=1"}, with_usage=True)
        }
        assert listed[mine].size == preview.bytes and listed[mine].ref_count == 0
        result = hk.prune(engine, "volumes", RUN_FILTER)
        assert result.removed == (mine,)
        assert result.space_reclaimed == preview.bytes
        assert docker_client.volumes.get(other)  # labelled for tests, but not this run
    finally:
        for name in (mine, other):
            try:
                api.remove_volume(name)
            except docker.errors.NotFound:
                pass

    net_mine = api.create_network(unique("net"), labels=run_labels())["Id"]
    net_other = api.create_network(unique("net-keep"), labels=TEST_LABEL)["Id"]
    try:
        preview = hk.prune_preview(engine, "networks", RUN_FILTER)
        assert len(preview.items) == 1
        result = hk.prune(engine, "networks", RUN_FILTER)
        assert result.removed == preview.items
        assert api.inspect_network(net_other)
        with pytest.raises(docker.errors.NotFound):
            api.inspect_network(net_mine)
        listed = hk.list_networks(engine, with_containers=True)
        assert {"bridge", "host", "none"} <= {n.name for n in listed if n.builtin}
        with pytest.raises(OperationError, match="bridge is built in and cannot be removed"):
            hk.remove_network(engine, "bridge")
    finally:
        for net in (net_mine, net_other):
            try:
                api.remove_network(net)
            except docker.errors.NotFound:
                pass


def test_images_tag_remove_and_prune_dangling(engine, docker_client, make_container):
    tag = f"dockui-test/ops-{RUN}:v"
    dockerfile = f"FROM {BASE_IMAGE}\nLABEL dockui.test.ops={RUN}\nRUN dd if=/dev/zero of=/blob bs=1024 count=1500 && echo {{}} > /id\n"
    first = build_image(docker_client, dockerfile.replace("{}", "one"), {}, tag).id
    second = build_image(docker_client, dockerfile.replace("{}", "two"), {}, tag).id
    assert first != second  # the tag moved: the first image is dangling now

    # tag: validated before the engine sees it, then applied
    with pytest.raises(hk.InvalidReference, match="lowercase"):
        hk.tag_image(engine, second, "Dockui-Test/Bad:1")
    extra = hk.tag_image(engine, second, f"dockui-test/ops-{RUN}-extra:1")
    assert extra in docker_client.images.get(second).tags

    # remove: refused while a container uses it, a sentence naming the container
    user = docker_client.containers.create(second, "true", labels=run_labels(), name=unique("user"))
    try:
        with pytest.raises(OperationError) as info:
            hk.remove_image(engine, second)
        assert str(info.value) == (
            f"{second.removeprefix('sha256:')[:12]} has several tags: remove them one at a time, "
            "or use force to remove all"
        )
        removal = hk.remove_image(engine, extra)
        assert removal.untagged == (extra,) and removal.deleted == ()
        with pytest.raises(OperationError) as info:
            hk.remove_image(engine, tag)
        assert (
            str(info.value)
            == f"{tag} is used by container {user.name}: remove it first, or use force"
        )
    finally:
        user.remove(force=True)

    # prune dangling, this run's label only: the first image goes, the tagged one stays
    preview = hk.prune_preview(engine, "images", RUN_FILTER)
    assert preview.items == (first.removeprefix("sha256:")[:12],)
    assert preview.bytes >= 1500 * 1024 and not preview.exact
    result = hk.prune(engine, "images", RUN_FILTER)
    assert first in result.removed and second not in result.removed
    assert result.space_reclaimed >= 1500 * 1024
    assert abs(result.space_reclaimed - preview.bytes) <= 0.05 * preview.bytes
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(first)
    removal = hk.remove_image(engine, tag)
    assert removal.untagged == (tag,) and second in removal.deleted
    with pytest.raises(OperationError, match="no longer exists"):
        hk.remove_image(engine, tag)


def test_disk_usage_is_consistent(engine, docker_client, make_container):
    running = make_container()
    u = hk.disk_usage(engine)
    for row in u.rows():
        assert row.total >= 0 and row.size >= 0 and row.reclaimable >= 0
        assert row.active <= row.total and row.reclaimable <= row.size, row
    assert u.images.total == len(u.raw["Images"]) and u.containers.total == len(u.raw["Containers"])
    assert u.containers.active >= 1 and u.images.active >= 1
    assert running.id in {c["Id"] for c in u.raw["Containers"]}
    assert u.images.size == u.raw["LayersSize"] > 0
    previews = {
        k: hk.prune_preview(engine, k, df=u.raw) for k in ("containers", "volumes", "build_cache")
    }
    assert previews["containers"].bytes == u.containers.reclaimable
    assert previews["volumes"].bytes <= u.volumes.reclaimable
    assert previews["build_cache"].bytes <= u.build_cache.size
