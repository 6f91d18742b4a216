"""Push and pull against a real registry (Debian's docker-registry on a loopback port), with
and without basic auth; the sentences for a wrong password, an unknown host and a missing
tag; a cancelled push leaves no thread behind and no manifest in the registry."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import pytest

from dockui.engine.client import Engine, connect
from dockui.engine.registry import (
    LayerProgress,
    RegistryError,
    StatusText,
    Transfer,
    TransferCancelled,
    TransferDone,
    TransferFailed,
    credentials_for,
    list_repositories,
    list_tags,
    login,
)
from tests.conftest import BASE_IMAGE, build_image
from tests.registry import RegistryServer

pytestmark = pytest.mark.engine


def dockerfile(megabytes: int) -> str:
    return (
        f"FROM {BASE_IMAGE}\n"
        f"RUN dd if=/dev/urandom of=/blob bs=1048576 count={megabytes} 2>/dev/null\n"
        f'RUN echo "{uuid.uuid4().hex}" > /id.txt\n'
    )


@pytest.fixture
def engine(docker_client: Any) -> Any:
    found = connect()
    yield found
    found.close()


@pytest.fixture
def image_for(docker_client: Any) -> Any:
    """Build a labelled test image tagged for a registry; every tag made is removed after."""
    made: list[str] = []

    def make(repository: str, megabytes: int = 3) -> tuple[str, str]:
        tag = f"{repository}:{uuid.uuid4().hex[:8]}"
        image = build_image(docker_client, dockerfile(megabytes), {}, tag)
        made.append(tag)
        return tag, image.id

    yield make
    for tag in made:
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:
            pass


def run(engine: Engine, kind: str, reference: str) -> tuple[list[Any], Any]:
    events = list(Transfer(engine, kind, reference))  # type: ignore[arg-type]
    return events[:-1], events[-1]


def remove_local(docker_client: Any, tag: str, image_id: str) -> None:
    docker_client.images.remove(tag)
    with pytest.raises(Exception, match=r"No such image|not found"):
        docker_client.images.get(image_id)


def test_push_remove_pull_round_trip(registry: RegistryServer, engine, image_for, docker_client):
    tag, image_id = image_for(f"{registry.host}/dockui-test/roundtrip")
    started = time.monotonic()
    events, done = run(engine, "push", tag)
    push_s = time.monotonic() - started
    assert isinstance(done, TransferDone), done
    assert done.digest and done.digest.startswith("sha256:") and done.image_id == image_id
    layers = {e.id: e for e in events if isinstance(e, LayerProgress)}
    assert len(layers) >= 3  # busybox + the blob + the id file
    assert all(layer.phase == "pushed" for layer in layers.values())
    pushing = [e for e in events if isinstance(e, LayerProgress) and e.phase == "pushing"]
    assert any(e.total and e.total > 1_000_000 for e in pushing)  # the 3 MB blob, with bytes

    # A second push of the same image: every layer already exists, the digest is the same.
    again_events, again = run(engine, "push", tag)
    assert isinstance(again, TransferDone) and again.digest == done.digest
    final = {e.id: e.phase for e in again_events if isinstance(e, LayerProgress)}
    assert set(final.values()) == {"exists"}

    repo, _, version = tag.rpartition(":")
    assert list_tags(registry.host, repo.split("/", 1)[1]) == [version]
    assert "dockui-test/roundtrip" in list_repositories(registry.host)

    remove_local(docker_client, tag, image_id)
    started = time.monotonic()
    events, pulled = run(engine, "pull", tag)
    pull_s = time.monotonic() - started
    assert isinstance(pulled, TransferDone), pulled
    assert pulled.image_id == image_id and pulled.digest == done.digest
    phases = {e.phase for e in events if isinstance(e, LayerProgress)}
    assert "exists" in phases  # the busybox base layer stayed
    assert "complete" in phases
    assert any(isinstance(e, StatusText) and "Downloaded newer image" in e.text for e in events)
    digests = docker_client.images.get(image_id).attrs["RepoDigests"]
    assert f"{repo}@{done.digest}" in digests
    print(f"\npush {push_s:.2f} s, pull {pull_s:.2f} s (3 MB layer)")

    # Pulling by digest names the same image.
    _, by_digest = run(engine, "pull", f"{repo}@{done.digest}")
    assert isinstance(by_digest, TransferDone) and by_digest.image_id == image_id


def test_login_push_pull_with_basic_auth(
    auth_registry: RegistryServer,
    engine,
    image_for,
    docker_client,
    docker_config,
    caplog,
    capfd,
):
    caplog.set_level(logging.DEBUG)
    password = auth_registry.password
    assert password and auth_registry.username
    tag, image_id = image_for(f"{auth_registry.host}/dockui-test/private")

    # No login yet: the registry wants one.
    _, refused = run(engine, "push", tag)
    assert isinstance(refused, TransferFailed)
    assert "needs a login" in refused.sentence

    # A wrong password: the unauthorized sentence, nothing stored.
    wrong = f"not-{password}"
    with pytest.raises(RegistryError) as caught:
        login(engine, auth_registry.host, auth_registry.username, wrong)
    assert "unauthorized" in str(caught.value) and wrong not in str(caught.value)
    assert not (docker_config / "config.json").exists()

    result = login(engine, f"http://{auth_registry.host}/", auth_registry.username, password)
    assert result.registry == auth_registry.host
    assert password not in result.sentence
    config = json.loads((docker_config / "config.json").read_text())
    assert set(config["auths"]) == {auth_registry.host}
    assert (docker_config / "config.json").stat().st_mode & 0o777 == 0o600
    stored = credentials_for(auth_registry.host)
    assert stored and stored["username"] == auth_registry.username

    _, pushed = run(engine, "push", tag)
    assert isinstance(pushed, TransferDone), pushed
    assert list_tags(auth_registry.host, "dockui-test/private") == [tag.rpartition(":")[2]]
    remove_local(docker_client, tag, image_id)
    _, pulled = run(engine, "pull", tag)
    assert isinstance(pulled, TransferDone), pulled
    assert pulled.image_id == image_id and pulled.digest == pushed.digest

    out, err = capfd.readouterr()
    for text in (out, err, caplog.text, repr(pushed), repr(pulled), repr(result)):
        assert password not in text and wrong not in text


def test_pull_with_wrong_stored_password_says_unauthorized(
    auth_registry: RegistryServer, engine, docker_config
):
    from dockui.engine.registry import store_credentials

    store_credentials(auth_registry.host, auth_registry.username or "", "wrong-password")
    _, failed = run(engine, "pull", f"{auth_registry.host}/dockui-test/nothing:1")
    assert isinstance(failed, TransferFailed)
    assert "unauthorized" in failed.sentence and "wrong-password" not in failed.sentence


@pytest.mark.parametrize("kind", ["push", "pull"])
def test_unknown_host_is_said_quickly(engine, kind, docker_client):
    reference = f"nosuchhost.invalid:5000/dockui-test/x:{uuid.uuid4().hex[:6]}"
    if kind == "push":
        docker_client.api.tag(BASE_IMAGE, *reference.rsplit(":", 1))
    try:
        started = time.monotonic()
        _, failed = run(engine, kind, reference)
        elapsed = time.monotonic() - started
    finally:
        if kind == "push":
            docker_client.images.remove(reference)
    assert isinstance(failed, TransferFailed)
    assert failed.sentence.startswith("No such host: nosuchhost.invalid cannot be resolved")
    assert elapsed < 10, elapsed
    print(f"\n{kind} to an unknown host: {elapsed * 1000:.0f} ms to the sentence")


def test_pull_of_a_missing_tag_says_not_found(registry: RegistryServer, engine, image_for):
    tag, _ = image_for(f"{registry.host}/dockui-test/present")
    _, done = run(engine, "push", tag)
    assert isinstance(done, TransferDone)
    repo = tag.rpartition(":")[0]
    _, missing = run(engine, "pull", f"{repo}:no-such-tag")
    assert isinstance(missing, TransferFailed)
    assert missing.sentence.startswith(f"Not found: {repo}:no-such-tag is not in {registry.host}")
    _, no_repo = run(engine, "pull", f"{registry.host}/dockui-test/absent:1")
    assert isinstance(no_repo, TransferFailed) and no_repo.sentence.startswith("Not found")


def test_push_of_an_untagged_name_says_tag_first(registry: RegistryServer, engine):
    _, failed = run(engine, "push", f"{registry.host}/dockui-test/never-tagged:1")
    assert isinstance(failed, TransferFailed)
    assert "Tag the image first" in failed.sentence


def test_nothing_listening_says_connection_refused(engine):
    from tests.registry import free_port

    _, failed = run(engine, "pull", f"127.0.0.1:{free_port()}/dockui-test/x:1")
    assert isinstance(failed, TransferFailed) and "connection refused" in failed.sentence


def test_cancel_mid_push_stops_the_thread_and_pushes_no_manifest(
    registry: RegistryServer, engine, image_for
):
    tag, _ = image_for(f"{registry.host}/dockui-test/cancel", megabytes=48)
    transfer = Transfer(engine, "push", tag)
    seen: list[Any] = []
    pushing = threading.Event()

    def consume() -> None:
        for event in transfer:
            seen.append(event)
            if isinstance(event, LayerProgress) and event.phase == "pushing":
                pushing.set()

    thread = threading.Thread(target=consume, name="test-push")
    thread.start()
    assert pushing.wait(30), seen
    started = time.monotonic()
    transfer.cancel()
    thread.join(10)
    stopped = time.monotonic() - started
    assert not thread.is_alive()
    assert not transfer.running
    assert isinstance(transfer.outcome, TransferCancelled), transfer.outcome
    assert isinstance(seen[-1], TransferCancelled)
    assert stopped < 5, stopped
    print(f"\ncancel took {stopped * 1000:.0f} ms to end the stream")
    # The engine stopped its side: no manifest, so the tag never appears.
    time.sleep(0.5)
    with pytest.raises(RegistryError, match="Not found"):
        list_tags(registry.host, "dockui-test/cancel")
