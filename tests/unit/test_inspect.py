"""Pure logic of the daily-operations engine modules: secret detection and the inspect model
(dockui/engine/inspect.py), confirmation texts, refusal sentences and compose grouping
(actions.py), image references and disk-usage arithmetic (housekeeping.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockui.engine.actions import (
    ActionResult,
    ContainerAction,
    applicable,
    confirm_text,
    destructive,
    explain_refusal,
    group_by_project,
)
from dockui.engine.housekeeping import (
    InvalidReference,
    PrunePreview,
    matches_labels,
    parse_reference,
    usage_from_df,
    validate_reference,
)
from dockui.engine.inspect import (
    MASK,
    details_from_inspect,
    is_secret,
    is_secret_key,
    mask,
)
from dockui.engine.models import ContainerSummary

# -- secrets -----------------------------------------------------------------------------------
SECRET_KEYS = [
    "PASSWORD", "DB_PASSWORD", "MYSQL_ROOT_PASSWORD", "POSTGRES_PASSWORD_FILE", "DB_PASS",
    "REDIS_PASSWD", "SMTP_PW", "API_KEY", "APIKEY", "STRIPE_SECRET_KEY", "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "NPM_AUTH_TOKEN", "GHTOKEN", "DBPASSWORD", "JWT_SECRET",
    "SECRET", "CLIENT_SECRET", "GOOGLE_APPLICATION_CREDENTIALS", "DOCKER_CREDS", "SSH_PRIVATE_KEY",
    "PRIVATE_KEY", "SENTRY_DSN", "PASSWORD_SALT", "SIGNING_KEY", "dbPassword", "apiToken",
    "app.secret", "GPG_KEY",  # GPG_KEY is a public fingerprint in python images: masked anyway
]  # fmt: skip

NOT_SECRET_KEYS = [
    "PATH", "HOME", "PWD", "HOSTNAME", "LANG", "TERM", "KEYBOARD_LAYOUT", "KEYMAP",
    "TOKENIZERS_PARALLELISM", "PASSENGER_APP_ENV", "BYPASS_PROXY", "MONKEY", "TURKEY_MODE",
    "NODE_ENV", "SSH_AUTH_SOCK", "PUBLIC_KEY_URL", "SSH_PUBLIC_KEY", "KEYCLOAK_URL",
    "SECRETARY_NAME", "PASSPORT_DIR", "COMPASS_URL",
]  # fmt: skip


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_keys_are_flagged(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", NOT_SECRET_KEYS)
def test_ordinary_keys_are_not(key: str) -> None:
    assert not is_secret_key(key)


def test_a_password_inside_a_url_is_secret_whatever_the_key() -> None:
    assert is_secret("DATABASE_URL", "postgres://app:hunter2@db:5432/app")
    assert is_secret("REDIS_URL", "redis://:s3cret@cache:6379/0")
    assert not is_secret("DATABASE_URL", "postgres://db:5432/app")
    assert not is_secret("HOMEPAGE", "https://example.com/a:b@c")  # '@' after the path
    assert not is_secret("PATH", "/usr/bin:/bin")


def test_mask_hides_the_length_too() -> None:
    assert mask("x") == mask("a much longer secret value") == MASK == "••••••"
    assert mask("") == ""


# -- the inspect model -----------------------------------------------------------------------
def inspect_doc() -> dict[str, Any]:
    return {
        "Id": "d1aa49cea025de4910145ca740b5f5be5a2057e1a84aeead07a8705be9d63d74",
        "Created": "2026-11-25T12:40:11.370224555Z",
        "Path": "sleep",
        "Args": ["1000"],
        "State": {
            "Status": "running",
            "Running": True,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "Dead": False,
            "Pid": 25830,
            "ExitCode": 0,
            "Error": "",
            "StartedAt": "2026-11-25T12:40:11.622473096Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
            "Health": {
                "Status": "unhealthy",
                "FailingStreak": 2,
                "Log": [
                    {
                        "Start": "2026-11-25T12:40:12.623111716Z",
                        "End": "2026-11-25T12:40:12.700111762Z",
                        "ExitCode": 0,
                        "Output": "ok\n",
                    },
                    {
                        "Start": "2026-11-25T12:40:13.701794062Z",
                        "End": "2026-11-25T12:40:13.777160473Z",
                        "ExitCode": 1,
                        "Output": "curl: (7) refused\n\x1b]0;pwned\x07second line\n",
                    },
                ],
            },
        },
        "Image": "sha256:e8c2a1b4943906a2b70da95788088a4dabd821cb4d9c66c4290aba0bbbb2b5f0",
        "Name": "/web-1",
        "RestartCount": 3,
        "Platform": "linux",
        "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5}},
        "Mounts": [
            {
                "Type": "bind",
                "Source": "/srv/data",
                "Destination": "/data",
                "Mode": "ro",
                "RW": False,
                "Propagation": "rprivate",
            },
            {
                "Type": "volume",
                "Name": "pgdata",
                "Source": "/var/lib/docker/volumes/pgdata/_data",
                "Destination": "/var/lib/postgresql/data",
                "Driver": "local",
                "Mode": "z",
                "RW": True,
                "Propagation": "",
            },
        ],
        "Config": {
            "Hostname": "d1aa49cea025",
            "User": "app",
            "Tty": False,
            "Env": [
                "DB_PASSWORD=hunter2",
                "KEYBOARD_LAYOUT=us",
                "GREETING=\x1b[2Jhello",
                "DATABASE_URL=postgres://app:hunter2@db/app",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ],
            "Cmd": ["sleep", "1000"],
            "Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 1000000000},
            "Image": "myapp:1.0",
            "WorkingDir": "/srv",
            "Entrypoint": ["/entry.sh"],
            "Labels": {"com.docker.compose.project": "shop", "evil\x1b[31m": "x"},
        },
        "NetworkSettings": {
            "Ports": {
                "80/tcp": [
                    {"HostIp": "0.0.0.0", "HostPort": "8080"},
                    {"HostIp": "::", "HostPort": "8080"},
                ],
                "443/tcp": None,
            },
            "Networks": {
                "shop_default": {
                    "NetworkID": "916116d89607",
                    "Gateway": "172.18.0.1",
                    "IPAddress": "172.18.0.2",
                    "IPPrefixLen": 16,
                    "MacAddress": "02:42:ac:12:00:02",
                    "Aliases": ["web", "d1aa49cea025"],
                }
            },
        },
    }


def test_details_from_inspect_overview_fields() -> None:
    d = details_from_inspect(inspect_doc())
    assert d.name == "web-1" and d.short_id == "d1aa49cea025"
    assert d.image == "myapp:1.0" and d.state == "running" and d.running
    assert d.command == ("sleep", "1000") and d.entrypoint == ("/entry.sh",)
    assert d.restart_policy == "on-failure:5" and d.restart_count == 3
    assert d.finished_at is None and d.started_at is not None
    assert d.compose_project == "shop"
    rows = dict(d.overview())
    assert rows["State"] == "running (unhealthy)"
    assert rows["Ports"] == "8080→80/tcp, 443/tcp"
    assert rows["Restart policy"] == "on-failure:5"
    assert rows["Networks"] == "shop_default"


def test_env_is_split_flagged_and_cleaned() -> None:
    env = {e.key: e for e in details_from_inspect(inspect_doc()).env}
    assert env["DB_PASSWORD"].secret and env["DB_PASSWORD"].value == "hunter2"
    assert env["DB_PASSWORD"].shown() == MASK and env["DB_PASSWORD"].shown(reveal=True) == "hunter2"
    assert env["DATABASE_URL"].secret
    assert not env["KEYBOARD_LAYOUT"].secret and env["KEYBOARD_LAYOUT"].shown() == "us"
    assert not env["PATH"].secret
    assert env["GREETING"].value == "hello"  # the clear-screen sequence is gone


def test_json_masks_secrets_until_revealed() -> None:
    d = details_from_inspect(inspect_doc())
    hidden = d.json_text()
    assert "hunter2" not in hidden and f"DB_PASSWORD={MASK}" in hidden
    assert "KEYBOARD_LAYOUT=us" in hidden
    assert "DB_PASSWORD=hunter2" in d.json_text(reveal=True)
    assert json.loads(hidden)["Id"] == d.id
    assert "\x1b" not in hidden and "\x1b" not in d.json_text(reveal=True)
    assert d.raw["Config"]["Env"][0] == "DB_PASSWORD=hunter2"  # raw stays complete


def test_mounts_networks_ports_and_labels() -> None:
    d = details_from_inspect(inspect_doc())
    bind, vol = d.mounts
    assert (bind.type, bind.source, bind.destination, bind.rw) == (
        "bind",
        "/srv/data",
        "/data",
        False,
    )
    assert (vol.type, vol.name, vol.driver, vol.rw) == ("volume", "pgdata", "local", True)
    (net,) = d.networks
    assert (net.name, net.ip_address, net.prefix_len, net.gateway) == (
        "shop_default",
        "172.18.0.2",
        16,
        "172.18.0.1",
    )
    assert net.aliases == ("web", "d1aa49cea025")
    assert {p.label() for p in d.ports} == {"8080→80/tcp", "443/tcp"}
    assert all("\x1b" not in k for k, _ in d.labels)


def test_health_log_is_parsed_oldest_first_and_cleaned() -> None:
    h = details_from_inspect(inspect_doc()).health
    assert h is not None
    assert (h.status, h.failing_streak) == ("unhealthy", 2)
    assert h.test == ("CMD-SHELL", "curl -f localhost")
    first, second = h.log
    assert first.ok and first.output == "ok"
    assert not second.ok and second.exit_code == 1
    assert second.output == "curl: (7) refused\nsecond line"  # OSC title stripped
    assert second.end is not None and second.start is not None and second.end > second.start


def test_a_container_without_health_check_and_exited() -> None:
    doc = inspect_doc()
    del doc["State"]["Health"]
    doc["State"].update(
        Status="exited", Running=False, ExitCode=137, OOMKilled=True, Pid=0,
        FinishedAt="2026-11-25T13:00:00Z",
    )  # fmt: skip
    d = details_from_inspect(doc)
    assert d.health is None and d.finished_at is not None
    rows = dict(d.overview())
    assert rows["State"] == "exited, exit code 137, killed: out of memory"
    assert "Finished" in rows and "PID" not in rows


# -- actions: what the dialogs say ----------------------------------------------------------------
def test_confirm_text_names_what_will_go() -> None:
    R = ContainerAction
    assert (
        confirm_text(R.REMOVE, ["web-1", "web-2", "db"])
        == "Remove 3 containers: web-1, web-2, db? Their writable layers are deleted."
    )
    assert (
        confirm_text(R.REMOVE, ["web-1"])
        == "Remove container web-1? Its writable layer is deleted."
    )
    assert confirm_text(R.REMOVE_WITH_VOLUMES, ["db"]) == (
        "Remove container db? Its writable layer and anonymous volumes are deleted; "
        "named volumes are kept."
    )
    assert confirm_text(R.KILL, ["a", "b"]) == (
        "Kill 2 containers: a, b? They get SIGKILL, with no chance to shut down cleanly."
    )
    assert confirm_text(R.STOP, ["a"]).startswith("Stop container a? Its processes get SIGTERM")
    assert confirm_text(R.START, ["a"]) == "Start container a?"
    assert confirm_text(R.REMOVE, ["a"], force=True).endswith("If it runs, it is killed first.")
    many = confirm_text(R.REMOVE, [f"w{i}" for i in range(12)])
    assert many.startswith("Remove 12 containers: w0, w1, w2, w3, w4 and 7 more?")


def test_destructive_actions() -> None:
    assert {a for a in ContainerAction if destructive(a)} == {
        ContainerAction.KILL,
        ContainerAction.REMOVE,
        ContainerAction.REMOVE_WITH_VOLUMES,
    }
    assert ContainerAction.REMOVE_WITH_VOLUMES.label == "Remove with volumes"
    assert ContainerAction("stop") is ContainerAction.STOP
    assert ContainerAction.STOP.past == "stopped" and ContainerAction.KILL.progressive == "Killing"


class APIError(Exception):
    def __init__(self, status: int, explanation: str) -> None:
        super().__init__(f"{status} Server Error: {explanation}")
        self.status_code = status
        self.explanation = explanation


CID = "3fabaf41c70e5fe7452cd3a38d77da58a14504f1eb13f0bce619867b5e53ae3f"


@pytest.mark.parametrize(
    ("status", "engine_says", "sentence"),
    [
        (409, f"You cannot remove a running container {CID}. Stop the container before attempting removal or force remove", "web-1 is running: stop it first, or use force"),
        (409, f"You cannot remove a paused container {CID}. Unpause and then stop the container before attempting removal or force remove", "web-1 is paused: unpause and stop it first, or use force"),
        (404, f"No such container: {CID}", "web-1 no longer exists"),
        (404, f"Cannot kill container: {CID}: No such container: {CID}", "web-1 no longer exists"),
        (409, f"Container {CID} is already paused", "web-1 is already paused"),
        (500, f"Container {CID} is not paused", "web-1 is not paused"),
        (409, f"Cannot kill container: {CID}: Container {CID} is not running", "web-1 is not running"),
        (409, "cannot start a paused container, try unpause instead", "web-1 is paused: unpause it instead"),
        (409, f"Container {CID} is paused, unpause the container before exec", "web-1 is paused: unpause it first"),
        (500, "driver failed programming external connectivity on endpoint web-1: Bind for 0.0.0.0:80 failed: port is already allocated", "web-1 cannot start: a port it publishes is already in use on the host"),
        (500, f"Cannot pause container {CID}: OCI runtime pause failed: container not running: unknown", "web-1 is not running"),
        (500, "something \x1b[31mnew\x1b[0m", "web-1: something new"),
        (500, f"driver failed on {CID}", "web-1: driver failed on 3fabaf41c70e"),
    ],
)  # fmt: skip
def test_engine_refusals_become_one_sentence(status: int, engine_says: str, sentence: str) -> None:
    assert explain_refusal(APIError(status, engine_says), "web-1") == sentence


def summary(name: str, state: str = "running", **labels: str) -> ContainerSummary:
    return ContainerSummary(
        id=name * 4,
        name=name,
        image="img",
        image_id="sha256:1",
        command="",
        created=0.0,
        state=state,
        status="",
        labels=tuple(sorted(labels.items())),
    )


def compose(name: str, project: str, service: str, number: str, state: str = "running") -> Any:
    return summary(
        name,
        state,
        **{
            "com.docker.compose.project": project,
            "com.docker.compose.service": service,
            "com.docker.compose.container-number": number,
        },
    )


def test_group_by_project_orders_projects_then_loose_containers() -> None:
    web2 = compose("shop-web-2", "shop", "web", "2")
    web10 = compose("shop-web-10", "shop", "web", "10")
    db = compose("shop-db-1", "shop", "db", "1")
    api = compose("blog-api-1", "blog", "api", "1")
    loose_b, loose_a = summary("zeta"), summary("alpha")
    groups = group_by_project([web10, loose_b, db, web2, api, loose_a])
    assert list(groups) == ["blog", "shop", None]
    assert [c.name for c in groups["shop"]] == ["shop-db-1", "shop-web-2", "shop-web-10"]
    assert [c.name for c in groups[None]] == ["alpha", "zeta"]


def test_applicable_actions_by_state() -> None:
    running, paused, exited = summary("a"), summary("b", "paused"), summary("c", "exited")
    A = ContainerAction
    assert applicable(A.STOP, running) and not applicable(A.STOP, exited)
    assert applicable(A.START, exited) and not applicable(A.START, running)
    assert applicable(A.UNPAUSE, paused) and not applicable(A.UNPAUSE, running)
    assert applicable(A.PAUSE, running) and not applicable(A.PAUSE, paused)
    assert all(applicable(A.RESTART, c) for c in (running, paused, exited))
    assert applicable(A.REMOVE, exited) and applicable(A.REMOVE, running)


def test_action_result_is_frozen() -> None:
    r = ActionResult("id", "web-1", True, "web-1 stopped")
    with pytest.raises(AttributeError):
        r.ok = False  # type: ignore[misc]


# -- housekeeping: references, label filters, disk usage ------------------------------------------
@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("myapp", ("myapp", "latest")),
        ("myapp:1.0", ("myapp", "1.0")),
        ("team/my-app_x.y:v1.2-rc_3", ("team/my-app_x.y", "v1.2-rc_3")),
        ("localhost:5000/app", ("localhost:5000/app", "latest")),
        ("registry.example.com:5000/a/b:tag", ("registry.example.com:5000/a/b", "tag")),
        ("Registry.Example.com/app:1", ("Registry.Example.com/app", "1")),  # domains may be upper
        ("a__b/c---d:T_1", ("a__b/c---d", "T_1")),
    ],
)
def test_valid_references(ref: str, parsed: tuple[str, str]) -> None:
    assert parse_reference(ref) == parsed
    assert validate_reference(ref) is None


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("", "empty"),
        ("MyApp:1", "lowercase"),
        ("app:-x", "Invalid tag"),
        ("app:" + "x" * 129, "Invalid tag"),
        ("app@sha256:" + "a" * 64, "digest"),
        ("a//b", "empty path component"),
        ("my app", "space"),
        ("-app", "Invalid name component"),
        ("app_:1", "Invalid name component"),
        ("app:", "Invalid tag"),
    ],
)
def test_invalid_references_say_why(ref: str, why: str) -> None:
    with pytest.raises(InvalidReference, match=why):
        parse_reference(ref)
    assert why in (validate_reference(ref) or "")


def test_label_filters_match_like_the_engine() -> None:
    labels = {"dockui.test": "1", "tier": "web"}
    assert matches_labels(labels, None)
    assert matches_labels(labels, {"label": "dockui.test=1"})
    assert matches_labels(labels, {"label": ["dockui.test=1", "tier"]})
    assert not matches_labels(labels, {"label": ["dockui.test=1", "tier=db"]})
    assert not matches_labels(None, {"label": "dockui.test"})


DF = {
    "LayersSize": 1000,
    "Images": [
        {"Id": "sha256:a", "RepoTags": ["app:1"], "Containers": 2, "Size": 600, "SharedSize": 100},
        {"Id": "sha256:b", "RepoTags": ["<none>:<none>"], "Containers": 0, "Size": 300, "SharedSize": 100},
        {"Id": "sha256:c", "RepoTags": ["tool:2"], "Containers": 0, "Size": 200, "SharedSize": -1},
    ],
    "Containers": [
        {"Id": "1", "Names": ["/up"], "State": "running", "SizeRw": 50},
        {"Id": "2", "Names": ["/paused"], "State": "paused", "SizeRw": 5},
        {"Id": "3", "Names": ["/down"], "State": "exited", "SizeRw": 20, "Labels": {"x": "1"}},
        {"Id": "4", "Names": ["/new"], "State": "created"},
    ],
    "Volumes": [
        {"Name": "used", "Driver": "local", "UsageData": {"Size": 70, "RefCount": 1}},
        {"Name": "free", "Driver": "local", "UsageData": {"Size": 30, "RefCount": 0}},
        {"Name": "unknown", "Driver": "local", "UsageData": {"Size": -1, "RefCount": 0}},
    ],
    "BuildCache": [
        {"ID": "k1", "Size": 40, "InUse": True, "Shared": False},
        {"ID": "k2", "Size": 60, "InUse": False, "Shared": False},
        {"ID": "k3", "Size": 10, "InUse": False, "Shared": True},
    ],
    "BuilderSize": 100,
}  # fmt: skip


def test_disk_usage_rows_use_the_docker_cli_arithmetic() -> None:
    u = usage_from_df(DF)
    # Images: size = LayersSize; reclaimable = size - unique size of images in use (600-100)
    assert (u.images.total, u.images.active, u.images.size, u.images.reclaimable) == (
        3,
        1,
        1000,
        500,
    )
    # Containers: running and paused ones are active; the rest is reclaimable
    assert (u.containers.total, u.containers.active, u.containers.size) == (4, 2, 75)
    assert u.containers.reclaimable == 20
    # Volumes: unknown sizes (-1) are left out; unused ones are reclaimable
    assert (u.volumes.total, u.volumes.active, u.volumes.size, u.volumes.reclaimable) == (
        3,
        1,
        100,
        30,
    )
    # Build cache: BuilderSize minus what is in use and not shared
    assert (u.build_cache.total, u.build_cache.active, u.build_cache.size) == (3, 1, 100)
    assert u.build_cache.reclaimable == 60
    assert u.images.reclaimable_percent == 50
    assert u.total_size == 1275 and u.total_reclaimable == 610
    for row in u.rows():
        assert 0 <= row.reclaimable <= row.size and 0 <= row.active <= row.total


def test_prune_preview_sentences() -> None:
    assert PrunePreview("volumes", ("a", "b"), 2_500_000).sentence() == (
        "Prune 2 unused volumes, freeing 2.5 MB?"
    )
    assert PrunePreview("images", ("abc",), 1_200, exact=False).sentence() == (
        "Prune 1 dangling image, freeing about 1.2 kB?"
    )
    assert PrunePreview("networks", ("n",), 0).sentence() == "Prune 1 unused network?"
    assert (
        PrunePreview("containers", (), 0).sentence() == "Nothing to prune: no stopped containers."
    )
