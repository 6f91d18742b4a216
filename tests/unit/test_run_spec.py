"""Run: parsing the dialog's rows, validating a spec without an engine, the equivalent
`docker run` line, URLs, and the one-sentence engine errors."""

from __future__ import annotations

import shlex
import socket
from types import SimpleNamespace

import pytest

from dockui.engine.run import (
    PortMapping,
    Problem,
    RunSpec,
    VolumeMount,
    docker_cli_line,
    engine_is_local,
    parse_restart,
    run_error_sentence,
    urls_for,
    validate,
)


@pytest.mark.parametrize(
    ("text", "mapping"),
    [
        ("4000:80", PortMapping("", 4000, 80, "tcp")),
        ("80", PortMapping("", None, 80, "tcp")),
        ("127.0.0.1:4000:80/udp", PortMapping("127.0.0.1", 4000, 80, "udp")),
        ("127.0.0.1::80", PortMapping("127.0.0.1", None, 80, "tcp")),
        ("[::1]:4000:80", PortMapping("::1", 4000, 80, "tcp")),
        ("53:53/UDP", PortMapping("", 53, 53, "udp")),
    ],
)
def test_port_mapping_parse_and_text_round_trip(text, mapping):
    assert PortMapping.parse(text) == mapping
    assert PortMapping.parse(mapping.text()) == mapping


@pytest.mark.parametrize("text", ["abc:80", "4000:http", "1:2:3:4", "[::1:4000:80"])
def test_port_mapping_parse_errors_are_sentences(text):
    with pytest.raises(ValueError, match=r"\."):
        PortMapping.parse(text)


def test_volume_mount_parse():
    assert VolumeMount.parse("/srv/data:/data:ro") == VolumeMount("/srv/data", "/data", True)
    assert VolumeMount.parse("cache:/root/.cache") == VolumeMount("cache", "/root/.cache")
    assert VolumeMount("cache", "/c").is_bind is False
    assert VolumeMount("./data", "/d").is_bind is True
    assert VolumeMount("~/x", "/x").host_path.startswith("/")
    with pytest.raises(ValueError):
        VolumeMount.parse("/only-one-part")


@pytest.mark.parametrize(
    ("policy", "parsed"),
    [
        ("no", ("no", 0)),
        ("", ("no", 0)),
        ("always", ("always", 0)),
        ("unless-stopped", ("unless-stopped", 0)),
        ("on-failure", ("on-failure", 0)),
        ("on-failure:5", ("on-failure", 5)),
    ],
)
def test_restart_policies(policy, parsed):
    assert parse_restart(policy) == parsed


@pytest.mark.parametrize("policy", ["sometimes", "always:3", "on-failure:x", "on-failure:-1"])
def test_bad_restart_policies(policy):
    with pytest.raises(ValueError):
        parse_restart(policy)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_good_spec_has_no_problems(tmp_path):
    spec = RunSpec(
        "my-python-app",
        name="web-1",
        ports=[PortMapping("", free_port(), 80), PortMapping("127.0.0.1", None, 443)],
        env=["NAME=dockui", "EMPTY=", "HOME"],
        volumes=[VolumeMount(str(tmp_path), "/data", True), VolumeMount("cache", "/cache")],
        restart="on-failure:3",
        command="gunicorn -b '0.0.0.0:80' app:app",
    )
    assert validate(spec) == []


def test_every_field_is_validated(tmp_path):
    port = free_port()
    spec = RunSpec(
        "",
        name="-bad name",
        ports=[
            PortMapping("", port, 80),
            PortMapping("", port, 8080),  # same host port twice
            PortMapping("127.0.0.1", port, 81),  # overlaps the wildcard one
            PortMapping("", port, 53, "udp"),  # another protocol: fine
            PortMapping("", 0, 80),
            PortMapping("", 70000, 80),
            PortMapping("", None, 0),
            PortMapping("not-an-ip", 4001, 80),
            PortMapping("", 4002, 80, "http"),
        ],
        env=["GOOD=1", "1BAD=2", "=x", "WITH SPACE=3"],
        volumes=[
            VolumeMount(str(tmp_path / "missing"), "/data"),
            VolumeMount(str(tmp_path), "relative/path"),
            VolumeMount(str(tmp_path), "/data"),
            VolumeMount("bad volume!", "/v"),
        ],
        restart="sometimes",
        command="echo 'unclosed",
    )
    got = validate(spec)
    assert got == [
        Problem("image", "Choose an image to run."),
        Problem(
            "name",
            "Name '-bad name' is not valid: use letters, digits, '_', '.' and '-', at least two "
            "characters, starting with a letter or digit.",
        ),
        Problem("ports", f"Host port {port}/tcp is mapped twice (rows 1 and 2).", 1),
        Problem("ports", f"Host port {port}/tcp is mapped twice (rows 1 and 3).", 2),
        Problem("ports", "Host port 0 must be a number 1-65535.", 4),
        Problem("ports", "Host port 70000 must be a number 1-65535.", 5),
        Problem("ports", "Container port 0 must be a number 1-65535.", 6),
        Problem("ports", "Host IP 'not-an-ip' is not an IP address.", 7),
        Problem("ports", "Protocol 'http' must be tcp or udp.", 8),
        Problem(
            "env",
            "'1BAD' is not a valid variable name (letters, digits and '_', not starting with a "
            "digit).",
            1,
        ),
        Problem("env", "Environment entry '=x' has no name.", 2),
        Problem(
            "env",
            "'WITH SPACE' is not a valid variable name (letters, digits and '_', not starting "
            "with a digit).",
            3,
        ),
        Problem("volumes", f"Host path {tmp_path / 'missing'} does not exist.", 0),
        Problem("volumes", "Container path 'relative/path' must be absolute (/...).", 1),
        Problem("volumes", "Two volumes mount at /data (rows 1 and 3).", 2),
        Problem(
            "volumes",
            "'bad volume!' is neither a host path (start it with / or ./) nor a valid volume name.",
            3,
        ),
        Problem(
            "restart",
            "Restart policy 'sometimes' is not one of no, always, unless-stopped, on-failure[:N].",
        ),
        Problem("command", "The command cannot be split into words: No closing quotation."),
    ]


def test_a_port_held_by_another_program_is_reported():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert validate(RunSpec("img", ports=[PortMapping("", port, 80)])) == [
            Problem("ports", f"Port {port} is in use by another program on this machine.", 0)
        ]
        # UDP on the same number is another port.
        assert validate(RunSpec("img", ports=[PortMapping("", port, 80, "udp")])) == []


def test_a_host_ip_that_is_not_ours_is_reported():
    spec = RunSpec("img", ports=[PortMapping("192.0.2.10", free_port(), 80)])
    assert validate(spec) == [
        Problem("ports", "Host IP 192.0.2.10 is not an address of this machine.", 0)
    ]


def fake_engine(host: str) -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(host=host))


def test_engine_locality():
    assert engine_is_local(None)
    assert engine_is_local(fake_engine("unix:///var/run/docker.sock"))
    assert engine_is_local(fake_engine("tcp://127.0.0.1:2375"))
    assert not engine_is_local(fake_engine("tcp://build-box:2376"))
    assert not engine_is_local(fake_engine("ssh://me@server"))


def test_docker_cli_line_quotes_everything(tmp_path):
    data = tmp_path / "my data"
    spec = RunSpec(
        "my-python-app:1.0",
        name="web-1",
        ports=[
            PortMapping("", 4000, 80),
            PortMapping("127.0.0.1", 5353, 53, "udp"),
            PortMapping("::1", None, 443),
            PortMapping("", None, 8080),
        ],
        env=["GREETING=hello world", "QUOTE=it's", "HOME"],
        volumes=[VolumeMount(str(data), "/data", True), VolumeMount("cache", "/cache")],
        restart="on-failure:3",
        command="""sh -c 'echo "$GREETING" && sleep 1'""",
        labels={"team": "web ops"},
    )
    line = docker_cli_line(spec)
    assert line == (
        "docker run -d --name web-1 -p 4000:80 -p 127.0.0.1:5353:53/udp -p '[::1]::443' "
        "-p 8080 -e 'GREETING=hello world' -e 'QUOTE=it'\"'\"'s' -e HOME "
        f"-v '{data}:/data:ro' -v cache:/cache --restart on-failure:3 --label 'team=web ops' "
        """my-python-app:1.0 sh -c 'echo "$GREETING" && sleep 1'"""
    )
    words = shlex.split(line)
    assert words[-3:] == ["sh", "-c", 'echo "$GREETING" && sleep 1']
    assert "GREETING=hello world" in words


def test_docker_cli_line_minimal_and_colon_paths():
    assert docker_cli_line(RunSpec("busybox")) == "docker run -d busybox"
    assert docker_cli_line(RunSpec("")) == "docker run -d IMAGE"
    spec = RunSpec("img", volumes=[VolumeMount("/srv/a:b", "/data", True)], restart="no")
    assert docker_cli_line(spec) == (
        "docker run -d --mount type=bind,source=/srv/a:b,target=/data,readonly img"
    )
    # A half-typed command is still shown.
    assert (
        docker_cli_line(RunSpec("img", command="echo 'half"))
        == "docker run -d img echo ''\"'\"'half'"
    )


def test_urls_prefer_web_ports_and_show_ipv4_ipv6_twins_once():
    published = [
        PortMapping("0.0.0.0", 4000, 80),
        PortMapping("::", 4000, 80),
        PortMapping("0.0.0.0", 4443, 443),
        PortMapping("0.0.0.0", 5432, 5432),
        PortMapping("0.0.0.0", 5353, 53, "udp"),
        PortMapping("192.168.1.5", 8081, 8080),
    ]
    assert urls_for(published) == [
        "http://localhost:4000",
        "https://localhost:4443",
        "http://192.168.1.5:8081",
    ]
    # No web-like port: every TCP port is offered.
    assert urls_for([PortMapping("0.0.0.0", 6000, 5432)]) == ["http://localhost:6000"]
    assert urls_for([PortMapping("0.0.0.0", 4000, 80)], fake_engine("tcp://box:2376")) == [
        "http://box:4000"
    ]


class FakeAPIError(Exception):
    def __init__(self, explanation: str) -> None:
        super().__init__(f"500 Server Error: {explanation}")
        self.explanation = explanation


@pytest.mark.parametrize(
    ("engine_says", "sentence", "field"),
    [
        (
            "driver failed programming external connectivity on endpoint web (abc): Bind for "
            "0.0.0.0:4000 failed: port is already allocated",
            "Port 4000 is already allocated on the host.",
            "ports",
        ),
        (
            "driver failed programming external connectivity on endpoint web (abc): Error "
            "starting userland proxy: listen tcp4 0.0.0.0:4001: bind: address already in use",
            "Port 4001 is in use by another program on the host.",
            "ports",
        ),
        (
            'Conflict. The container name "/web-1" is already in use by container "abc". You '
            "have to remove (or rename) that container to be able to reuse that name.",
            "The name web-1 is already used by another container.",
            "name",
        ),
        ("No such image: nope:latest", "Image nope:latest is not on this engine.", "image"),
        (
            'invalid mount config for type "bind": bind source path does not exist: /srv/x',
            "Host path /srv/x does not exist.",
            "volumes",
        ),
        (
            "failed to create shim: OCI runtime create failed: runc create failed: unable to "
            'start container process: exec: "gunicron": executable file not found in $PATH: '
            "unknown",
            "The command gunicron is not in the image.",
            "command",
        ),
        ("something odd happened", "Something odd happened.", None),
    ],
)
def test_engine_errors_become_one_sentence(engine_says, sentence, field):
    spec = RunSpec("nope:latest", name="web-1")
    assert run_error_sentence(FakeAPIError(engine_says), spec) == (sentence, field)
