"""Registry references, progress events and error sentences. The events are the JSON this
project's engine (20.10, API 1.41) streamed while pushing to and pulling from Debian's
docker-registry 2.8 (tests/data/registry/events.json)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from dockui.engine.registry import (
    INDEX_SERVER,
    InvalidReference,
    LayerProgress,
    Reference,
    StatusText,
    StreamState,
    credentials_for,
    explain_registry_error,
    normalize_registry,
    parse_event,
    parse_reference,
    store_credentials,
    validate_push_reference,
    validate_reference,
)

EVENTS = json.loads((Path(__file__).parents[1] / "data" / "registry" / "events.json").read_text())
DIGEST = "sha256:422a35911e776aec90229d7f42c2e79319229162ad8caa8c8f7818d9c55870f0"


# -- references ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", Reference("", "busybox", "latest")),
        ("library/busybox:1.36", Reference("", "library/busybox", "1.36")),
        ("localhost/app", Reference("localhost", "app", "latest")),
        ("localhost:5000/team/app:v1", Reference("localhost:5000", "team/app", "v1")),
        ("127.0.0.1:5000/a/b/c:1.0-rc_1", Reference("127.0.0.1:5000", "a/b/c", "1.0-rc_1")),
        ("registry.example.com/app", Reference("registry.example.com", "app", "latest")),
        ("[::1]:5000/app:x", Reference("[::1]:5000", "app", "x")),
        ("my-reg.io/a__b/c.d/e-f---g:T", Reference("my-reg.io", "a__b/c.d/e-f---g", "T")),
        (
            f"127.0.0.1:5000/app@{DIGEST}",
            Reference("127.0.0.1:5000", "app", None, DIGEST),
        ),
        (f"app:1.0@{DIGEST}", Reference("", "app", "1.0", DIGEST)),
    ],
)
def test_valid_references(text: str, expected: Reference) -> None:
    ref = parse_reference(text)
    assert ref == expected
    assert parse_reference(str(ref)) == ref


def test_reference_parts() -> None:
    ref = parse_reference("127.0.0.1:5000/team/app:v1")
    assert ref.repository == "127.0.0.1:5000/team/app"
    assert ref.registry_host == "127.0.0.1:5000"
    assert ref.ref == "v1"
    assert parse_reference("team/app").registry_host == "docker.io"
    assert parse_reference("app", default_tag=None).tag is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("my app", "space"),
        ("http://localhost:5000/app", "URL scheme"),
        ("MyApp", "lowercase"),
        ("localhost:5000/MyApp", "lowercase"),
        ("app:", "no tag"),
        ("app:-bad", "Invalid tag"),
        ("app:" + "x" * 129, "Invalid tag"),
        ("team//app", "empty path component"),
        ("team/app/", "empty path component"),
        ("localhost:5000/", "no repository"),
        ("localhost:50a0/app", "port"),
        ("localhost:99999/app", "out of range"),
        ("bad_host.io/app", "Invalid registry host"),
        ("-bad.io/app", "Invalid registry host"),
        ("app!/x", "Invalid name component"),
        ("a..b", "Invalid name component"),
        ("app@sha256:1234", "Invalid digest"),
        ("app@sha256:" + "A" * 64, "lowercase hex"),
        ("a" * 64, "image id"),
        ("a/" * 130 + "a", "longer than 255"),
    ],
)
def test_invalid_references_say_why(text: str, words: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert words in str(caught.value)
    assert validate_reference(text) == str(caught.value)


def test_push_reference_takes_no_digest() -> None:
    assert validate_push_reference("localhost:5000/app:1") is None
    assert "digest" in (validate_push_reference(f"localhost:5000/app@{DIGEST}") or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:5000", "localhost:5000"),
        ("http://127.0.0.1:5000/", "127.0.0.1:5000"),
        ("https://ghcr.io", "ghcr.io"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("docker.io", "docker.io"),
    ],
)
def test_normalize_registry(text: str, expected: str) -> None:
    assert normalize_registry(text) == expected


@pytest.mark.parametrize("text", ["", "localhost:5000/app", "bad host", "reg:port"])
def test_bad_registry_addresses(text: str) -> None:
    with pytest.raises(InvalidReference):
        normalize_registry(text)


# -- progress events ----------------------------------------------------------------------------
def _feed(name: str) -> StreamState:
    state = StreamState()
    for message in EVENTS[name]:
        state.feed(message)
    return state


def test_first_push_reports_bytes_per_layer_and_the_digest() -> None:
    state = StreamState()
    seen: list[LayerProgress] = []
    for message in EVENTS["push1"]:
        event = state.feed(message)
        if isinstance(event, LayerProgress):
            seen.append(event)
    assert state.error is None
    assert state.digest == DIGEST and state.size == 1154
    assert list(state.layers) == ["e27731ab5343", "731e1e7e8968", "81f2eab69c19", "b038e28e0c8e"]
    assert all(layer.phase == "pushed" and layer.done for layer in state.layers.values())
    pushing = [e for e in seen if e.phase == "pushing" and e.id == "731e1e7e8968"]
    assert pushing[0].current == 33280 and pushing[0].total == 3072000
    assert pushing[0].fraction == pytest.approx(33280 / 3072000)
    # The engine sends a bogus total of 3 bytes for tiny layers: no fraction is invented.
    tiny = next(e for e in seen if e.id == "e27731ab5343" and e.phase == "pushing")
    assert tiny.current == 512 and tiny.total == 3 and tiny.fraction is None
    assert {e.phase for e in seen} >= {"preparing", "pushing", "pushed"}


def test_second_push_says_layers_already_exist() -> None:
    state = _feed("push2")
    assert {layer.phase for layer in state.layers.values()} == {"exists"}
    assert next(iter(state.layers.values())).status == "Layer already exists"
    assert state.digest == DIGEST


def test_push_to_another_repository_mounts_layers() -> None:
    state = _feed("push_mount")
    layer = state.layers["e27731ab5343"]
    assert layer.phase == "mounted" and layer.mounted_from == "cap/img" and layer.done


def test_pull_goes_through_download_and_extract() -> None:
    state = StreamState()
    phases: dict[str, list[str]] = {}
    statuses: list[str] = []
    for message in EVENTS["pull1"]:
        event = state.feed(message)
        if isinstance(event, LayerProgress):
            phases.setdefault(event.id, []).append(event.phase)
        elif isinstance(event, StatusText):
            statuses.append(event.text)
    assert statuses[0] == "Pulling from cap/img (v1)"  # the id there is the tag, not a layer
    assert "v1" not in state.layers
    assert phases["bf3cfd2b2471"] == ["exists"]
    assert phases["1495bf6dd977"][:2] == ["waiting", "downloading"]
    assert "extracting" in phases["1495bf6dd977"] and phases["1495bf6dd977"][-1] == "complete"
    assert state.digest == DIGEST
    assert statuses[-1].startswith("Status: Downloaded newer image")
    assert not state.up_to_date


def test_pull_of_what_is_there_is_up_to_date() -> None:
    state = _feed("pull2")
    assert state.up_to_date and state.digest == DIGEST and not state.layers


def test_stream_errors_are_kept_not_shown() -> None:
    state = _feed("push_nohost")
    assert state.error and "no such host" in state.error
    assert parse_event(EVENTS["errors"]["push_x509"]) is None


def test_control_characters_from_the_engine_are_dropped() -> None:
    event = parse_event({"status": "Pushing\x1b[31m", "id": "0123456789ab"})
    assert isinstance(event, LayerProgress) and "\x1b" not in event.status


# -- error sentences ----------------------------------------------------------------------------
ERR = EVENTS["errors"]


def _msg(key: str) -> str:
    value = ERR[key]
    return value["errorDetail"]["message"] if isinstance(value, dict) else value


@pytest.mark.parametrize(
    ("key", "registry", "action", "words"),
    [
        ("push_no_credentials", "127.0.0.1:5997", "push", "needs a login"),
        ("pull_no_credentials", "127.0.0.1:5997", "pull", "needs a login"),
        ("push_wrong_password", "127.0.0.1:5997", "push", "unauthorized"),
        ("pull_wrong_password", "127.0.0.1:5997", "pull", "unauthorized"),
        ("login_wrong_password", "127.0.0.1:5997", "login", "unauthorized (wrong username"),
        ("pull_missing_tag", "127.0.0.1:5999", "pull", "Not found"),
        ("pull_no_host", "nosuchhost.invalid:5000", "pull", "No such host: nosuchhost.invalid"),
        ("pull_refused", "127.0.0.1:5998", "pull", "connection refused"),
        ("push_http_registry", "192.0.2.2:5997", "push", "insecure-registries"),
        ("push_x509", "192.0.2.2:5996", "push", "TLS error"),
    ],
)
def test_error_sentences(key: str, registry: str, action: str, words: str) -> None:
    sentence = explain_registry_error(_msg(key), registry, action=action)
    assert words in sentence
    assert "\n" not in sentence and "Traceback" not in sentence


def test_insecure_registry_hint_names_daemon_json() -> None:
    sentence = explain_registry_error(_msg("push_http_registry"), "192.0.2.2:5997")
    assert "plain HTTP" in sentence and "/etc/docker/daemon.json" in sentence
    assert '"insecure-registries": ["192.0.2.2:5997"]' in sentence


def test_not_found_names_the_reference() -> None:
    sentence = explain_registry_error(
        _msg("pull_missing_tag"), "127.0.0.1:5999", action="pull", reference="x/y:nope"
    )
    assert sentence.startswith("Not found: x/y:nope is not in 127.0.0.1:5999")


# -- credentials in the docker config -----------------------------------------------------------
def test_credentials_are_stored_like_docker_login(tmp_path: Path) -> None:
    path = str(tmp_path / "cfg" / "config.json")
    assert credentials_for("127.0.0.1:5000", path=path) is None
    where = store_credentials("127.0.0.1:5000", "alice", "pa:ss", path=path)
    assert where == path
    data = json.loads(Path(path).read_text())
    assert data["auths"]["127.0.0.1:5000"] == {"auth": base64.b64encode(b"alice:pa:ss").decode()}
    assert os.stat(path).st_mode & 0o777 == 0o600
    found = credentials_for("127.0.0.1:5000", path=path)
    assert found and found["username"] == "alice" and found["password"] == "pa:ss"
    # Other settings in the file survive; Docker Hub's key is the v1 index URL.
    data["psFormat"] = "table {{.ID}}"
    Path(path).write_text(json.dumps(data))
    store_credentials("docker.io", "bob", "pw", path=path)
    data = json.loads(Path(path).read_text())
    assert data["psFormat"] == "table {{.ID}}" and INDEX_SERVER in data["auths"]
    assert credentials_for("docker.io", path=path)["username"] == "bob"  # type: ignore[index]


def test_credentials_go_to_the_configured_helper(tmp_path: Path, monkeypatch) -> None:
    """A real docker-credential-* program (a small script keeping secrets in a file)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    store_file = tmp_path / "helper-store.json"
    helper = bin_dir / "docker-credential-dockuitest"
    helper.write_text(
        f"""#!/usr/bin/env python3
import json, sys
path = {str(store_file)!r}
try:
    data = json.load(open(path))
except FileNotFoundError:
    data = {{}}
op = sys.argv[1]
body = sys.stdin.read()
if op == "store":
    item = json.loads(body)
    data[item["ServerURL"]] = [item["Username"], item["Secret"]]
    json.dump(data, open(path, "w"))
elif op == "get":
    server = body.strip()
    if server not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    user, secret = data[server]
    print(json.dumps({{"ServerURL": server, "Username": user, "Secret": secret}}))
elif op == "erase":
    data.pop(body.strip(), None)
    json.dump(data, open(path, "w"))
"""
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "dockuitest"}))
    where = store_credentials("127.0.0.1:5000", "carol", "hunter2", path=str(path))
    assert where == "docker-credential-dockuitest"
    assert "hunter2" not in path.read_text()  # the secret is with the helper only
    assert json.loads(store_file.read_text())["127.0.0.1:5000"] == ["carol", "hunter2"]
    found = credentials_for("127.0.0.1:5000", path=str(path))
    assert found and found["username"] == "carol" and found["password"] == "hunter2"


# -- keys -----------------------------------------------------------------------------------------
def test_registry_bindings_have_ids_a_settings_file_can_remap(tmp_path: Path) -> None:
    from dockui.app import binding_ids
    from dockui.config import keymap, loads

    ids = binding_ids()
    ours = {"images.push", "images.pull", "images.login", "images.catalog"}
    ours |= {"transfer.back", "transfer.copy", "login.submit", "login.cancel"}
    ours |= {"catalog.pull", "catalog.close"}
    assert ours <= ids
    settings = loads(
        '[keys]\n"images.push" = "U"\n"images.pull" = ["ctrl+l", "F"]\n', known_bindings=ids
    )
    assert keymap(settings) == {"images.push": "U", "images.pull": "ctrl+l,F"}


def test_the_audit_key_stays_free_in_the_images_pane() -> None:
    from dockui.widgets.panes import ImagesPane

    # `a` belongs to the audit, and to nothing else in the images pane
    assert [b.id for b in ImagesPane.BINDINGS if b.key == "a"] == ["images.audit"]
