import errno

import pytest
from docker.errors import DockerException

from dockui.engine.client import EngineUnavailable, explain, negotiate_version, resolve_host


def test_negotiate_version():
    assert negotiate_version("1.41") == "1.41"  # this machine's engine
    assert negotiate_version("1.51", "1.24") == "1.44"  # newer engine: our newest
    assert negotiate_version("1.40", "1.41") == "1.41"  # never below the engine's minimum
    with pytest.raises(ValueError, match="dockui needs"):
        negotiate_version("1.20", "1.12")  # older than docker-py speaks
    assert negotiate_version("1.100", "1.24") == "1.44"


def test_version_constants_are_docker_pys():
    """Written out so a local engine connects without importing docker-py: kept in step."""
    import docker.constants
    import docker.context.config

    from dockui.engine import client, contexts

    assert client.API_NEWEST == docker.constants.DEFAULT_DOCKER_API_VERSION
    assert client.API_OLDEST == docker.constants.MINIMUM_DOCKER_API_VERSION
    assert contexts.METAFILE == docker.context.config.METAFILE
    for name in ("default", "staging", "prod-eu", "ünïcode"):
        assert contexts.get_context_id(name) == docker.context.config.get_context_id(name)


def test_resolve_host():
    assert resolve_host("tcp://h:1", {"DOCKER_HOST": "unix:///x"}) == "tcp://h:1"
    assert resolve_host(None, {"DOCKER_HOST": "unix:///x"}) == "unix:///x"
    assert resolve_host(None, {}) == "unix:///var/run/docker.sock"


def _wrapped(err: BaseException) -> DockerException:
    try:
        try:
            raise err
        except BaseException as inner:
            raise DockerException("Error while fetching server API version") from inner
    except DockerException as outer:
        return outer


@pytest.mark.parametrize(
    ("host", "exc", "words"),
    [
        ("unix:///var/run/docker.sock", FileNotFoundError(errno.ENOENT, "No such file or directory"), "does not exist"),
        ("unix:///var/run/docker.sock", PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
        ("tcp://127.0.0.1:1", ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused"),
        ("bogus://x", DockerException("Invalid bind address format: bogus://x"), "not a Docker engine address"),
        ("tcp://h:2375", OSError("timed out"), "did not answer in time"),
    ],
)  # fmt: skip
def test_explain_turns_errors_into_sentences(host, exc, words):
    err = explain(host, _wrapped(exc))
    assert isinstance(err, EngineUnavailable)
    assert words in err.reason
    assert "Traceback" not in str(err)


def test_permission_hint_names_the_fix():
    err = explain("unix:///var/run/docker.sock", PermissionError(errno.EACCES, "denied"))
    assert "docker' group" in err.hint
