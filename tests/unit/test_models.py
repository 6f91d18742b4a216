import pytest

from dockui.engine.models import (
    ContainerSummary,
    ImageSummary,
    PortBinding,
    clean_instruction,
    format_ports,
    layers_from_history,
    parse_human_duration,
)

NOW = 1_700_000_000.0


def raw_container(**over):
    raw = {
        "Id": "a" * 64,
        "Names": ["/web"],
        "Image": "shop/web:1.4",
        "ImageID": "sha256:" + "b" * 64,
        "Command": "httpd -f",
        "Created": NOW - 600,
        "State": "running",
        "Status": "Up 5 minutes",
        "Ports": [],
        "Labels": {},
    }
    raw.update(over)
    return raw


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Up Less than a second", 0),
        ("Up 1 second", 1),
        ("Up 42 seconds", 42),
        ("Up About a minute", 60),
        ("Up 5 minutes (healthy)", 300),
        ("Up About an hour", 3600),
        ("Up 3 hours (Paused)", 3 * 3600),
        ("Exited (0) 2 days ago", 2 * 86400),
        ("Exited (137) 3 weeks ago", 21 * 86400),
        ("Up 4 months", 120 * 86400),
        ("Up 2 years", 730 * 86400),
        ("Created", None),
    ],
)
def test_parse_human_duration(text, seconds):
    assert parse_human_duration(text) == seconds


def test_running_container_with_health_and_ports():
    c = ContainerSummary.from_api(
        raw_container(
            Status="Up 5 minutes (healthy)",
            Ports=[
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 4000, "Type": "tcp"},
                {"IP": "::", "PrivatePort": 80, "PublicPort": 4000, "Type": "tcp"},
                {"PrivatePort": 443, "Type": "tcp"},
            ],
            Labels={"com.docker.compose.project": "shop"},
        ),
        now=NOW,
    )
    assert c.name == "web" and c.state == "running" and c.running
    assert c.health == "healthy"
    assert c.state_since == NOW - 300
    assert c.ports_text == "4000→80/tcp, 443/tcp"  # IPv4/IPv6 twins shown once
    assert c.compose_project == "shop"


def test_exited_container_exit_code_and_finish_time():
    c = ContainerSummary.from_api(
        raw_container(State="exited", Status="Exited (137) 2 hours ago"), now=NOW
    )
    assert c.exit_code == 137 and not c.running
    assert c.state_since == NOW - 7200


def test_old_engines_without_state_field():
    c = ContainerSummary.from_api(raw_container(State=None, Status="Up 2 minutes (Paused)"))
    assert c.state == "paused"
    c = ContainerSummary.from_api(raw_container(State="", Status="Created"))
    assert c.state == "created" and c.state_since is None


def test_hostile_names_and_labels_are_cleaned():
    c = ContainerSummary.from_api(
        raw_container(Names=["/x\x1b]0;title\x07y"], Labels={"k\x1b[2J": "v\nw"})
    )
    assert c.name == "xy"
    assert c.labels == (("k", "v w"),)


def test_port_labels():
    assert PortBinding(80, "tcp", 4000, "127.0.0.1").label() == "127.0.0.1:4000→80/tcp"
    assert PortBinding(53, "udp").label() == "53/udp"
    assert format_ports(()) == ""


def test_images_dangling_and_tags():
    img = ImageSummary.from_api(
        {"Id": "sha256:" + "c" * 64, "RepoTags": ["<none>:<none>"], "Created": NOW, "Size": 5}
    )
    assert img.dangling and img.display_name == "<none>:<none>" and img.short_id == "c" * 12
    img = ImageSummary.from_api(
        {"Id": "sha256:1", "RepoTags": ["b:2", "a:1"], "Created": "2024-01-02T03:04:05.123456789Z"}
    )
    assert not img.dangling and img.tags == ("a:1", "b:2")
    assert img.created == pytest.approx(1704164645.123456789)


@pytest.mark.parametrize(
    ("created_by", "instruction"),
    [
        ('/bin/sh -c #(nop)  CMD ["/bin/sh"]', 'CMD ["/bin/sh"]'),
        ("/bin/sh -c #(nop) ADD file:abc123 in / ", "ADD file:abc123 in /"),
        ("/bin/sh -c apt-get update &&     apt-get install -y curl", "RUN apt-get update && apt-get install -y curl"),
        ("|2 A=1 B=two /bin/sh -c echo $A", "RUN echo $A"),
        ("/bin/busybox --install -s /bin", "RUN /bin/busybox --install -s /bin"),
        ("/bin/sh -c #(nop)  EXPOSE 443/tcp 80/tcp", "EXPOSE 443/tcp 80/tcp"),
        ("/bin/sh -c #(nop)  EXPOSE map[80/tcp:{}]", "EXPOSE 80/tcp"),
        ("RUN /bin/sh -c pip install -r requirements.txt # buildkit", "RUN pip install -r requirements.txt"),
        ("RUN |1 VERSION=3 /bin/sh -c make # buildkit", "RUN make"),
        ("COPY . . # buildkit", "COPY . ."),
        ("WORKDIR /app", "WORKDIR /app"),
        ("ENV PATH=/usr/local/bin:/usr/bin", "ENV PATH=/usr/local/bin:/usr/bin"),
        ("", ""),
    ],
)  # fmt: skip
def test_clean_instruction(created_by, instruction):
    assert clean_instruction(created_by) == instruction


def test_layers_oldest_first_with_cumulative_sizes():
    history = [  # the engine's order: newest first
        {"Id": "sha256:3", "Created": 3, "CreatedBy": '/bin/sh -c #(nop)  CMD ["sh"]', "Size": 0},
        {"Id": "<missing>", "Created": 2, "CreatedBy": "/bin/sh -c make", "Size": 300},
        {"Id": "<missing>", "Created": 1, "CreatedBy": "/bin/sh -c #(nop) ADD file:x in /", "Size": 1000},
    ]  # fmt: skip
    layers = layers_from_history(history)
    assert [layer.size for layer in layers] == [1000, 300, 0]
    assert [layer.cumulative for layer in layers] == [1000, 1300, 1300]
    assert [layer.index for layer in layers] == [0, 1, 2]
    assert layers[2].empty and not layers[0].empty
    assert layers[1].instruction == "RUN make"
