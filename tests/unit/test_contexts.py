"""Docker contexts from a fake config dir, and the sentences for TLS and ssh failures."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from docker.context.config import get_context_id
from docker.errors import APIError

from dockui.engine.client import EngineUnavailable, SSHError, explain, resolve_host
from dockui.engine.contexts import (
    ContextInfo,
    Target,
    current_context_name,
    list_contexts,
    resolve,
    tls_dir,
)


def add_context(
    cfg: Path,
    name: str,
    host: str,
    *,
    description: str = "",
    skip_verify: bool = False,
    tls: tuple[str, ...] = (),
) -> Path:
    """Write a context the way `docker context create` (20.10) does."""
    meta = cfg / "contexts" / "meta" / get_context_id(name)
    meta.mkdir(parents=True)
    doc = {
        "Name": name,
        "Metadata": {"Description": description} if description else {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}},
    }
    (meta / "meta.json").write_text(json.dumps(doc))
    if tls:
        d = cfg / "contexts" / "tls" / get_context_id(name) / "docker"
        d.mkdir(parents=True)
        for part in tls:
            (d / f"{part}.pem").write_text(f"-----BEGIN {part}-----\n")
    return meta / "meta.json"


def set_current(cfg: Path, name: str) -> None:
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.json").write_text(json.dumps({"auths": {}, "currentContext": name}))


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    d = tmp_path / "docker-config"
    d.mkdir()
    add_context(d, "staging", "tcp://127.0.0.1:23760", description="stage box")
    add_context(d, "remote", "ssh://deploy@127.0.0.1:2222")
    return d


def env(cfg: Path, **extra: str) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(cfg), "HOME": str(cfg.parent), **extra}


# -- which context is current: the docker CLI's order -----------------------------------
def test_default_when_nothing_is_set(cfg):
    assert current_context_name(env(cfg)) == "default"


def test_config_current_context(cfg):
    set_current(cfg, "staging")
    assert current_context_name(env(cfg)) == "staging"


def test_docker_context_beats_the_config(cfg):
    set_current(cfg, "staging")
    assert current_context_name(env(cfg, DOCKER_CONTEXT="remote")) == "remote"


def test_docker_host_beats_docker_context_like_the_cli(cfg):
    # docker 20.10 (and today's CLI): "DOCKER_HOST environment variable overrides the
    # active context" - DOCKER_HOST means the default context with that host.
    set_current(cfg, "staging")
    e = env(cfg, DOCKER_CONTEXT="remote", DOCKER_HOST="unix:///tmp/x.sock")
    assert current_context_name(e) == "default"
    target = resolve(environ=e)
    assert (target.name, target.host, target.source) == (
        "default",
        "unix:///tmp/x.sock",
        "DOCKER_HOST",
    )


def test_empty_variables_count_as_unset(cfg):
    set_current(cfg, "staging")
    assert current_context_name(env(cfg, DOCKER_HOST="", DOCKER_CONTEXT="")) == "staging"


def test_flags_beat_everything(cfg):
    e = env(cfg, DOCKER_CONTEXT="remote", DOCKER_HOST="unix:///tmp/x.sock")
    assert current_context_name(e, context="staging") == "staging"
    assert current_context_name(e, host="tcp://127.0.0.1:1") == "default"
    assert resolve(context="staging", environ=e).host == "tcp://127.0.0.1:23760"
    assert resolve(host="tcp://127.0.0.1:1", environ=e).host == "tcp://127.0.0.1:1"


def test_host_and_context_together_conflict(cfg):
    with pytest.raises(EngineUnavailable, match="not both"):
        resolve(context="staging", host="tcp://127.0.0.1:1", environ=env(cfg))


def test_docker_context_default_means_default(cfg):
    set_current(cfg, "staging")
    assert resolve(environ=env(cfg, DOCKER_CONTEXT="default")).host == "unix:///var/run/docker.sock"


def test_home_docker_dir_is_used_without_docker_config(tmp_path):
    add_context(tmp_path / ".docker", "homectx", "tcp://127.0.0.1:5")
    set_current(tmp_path / ".docker", "homectx")
    target = resolve(environ={"HOME": str(tmp_path)})
    assert (target.name, target.host, target.source) == (
        "homectx",
        "tcp://127.0.0.1:5",
        "config.json",
    )


# -- listing -------------------------------------------------------------------------------
def test_list_has_default_first_then_sorted_names(cfg):
    set_current(cfg, "staging")
    rows = list_contexts(env(cfg))
    assert [r.name for r in rows] == ["default", "remote", "staging"]
    default, remote, staging = rows
    assert default.host == "unix:///var/run/docker.sock" and not default.current
    assert default.description == "Current DOCKER_HOST based configuration"
    assert staging.current and staging.description == "stage box"
    assert staging.source.endswith("meta.json") and Path(staging.source).exists()
    assert remote.host == "ssh://deploy@127.0.0.1:2222" and not remote.tls
    assert staging.label == "staging (tcp://127.0.0.1:23760)" and default.label == default.host
    assert all(isinstance(r, ContextInfo) for r in rows)


def test_list_default_follows_docker_host(cfg):
    rows = list_contexts(env(cfg, DOCKER_HOST="tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY="1"))
    assert rows[0].host == "tcp://127.0.0.1:2376" and rows[0].current and rows[0].tls
    assert rows[0].source == "DOCKER_HOST"


def test_list_marks_tls_contexts(cfg):
    add_context(cfg, "secure", "tcp://127.0.0.1:2376", tls=("ca", "cert", "key"))
    add_context(cfg, "insecure", "tcp://127.0.0.1:2377", skip_verify=True)
    by_name = {r.name: r for r in list_contexts(env(cfg))}
    assert by_name["secure"].tls and by_name["insecure"].tls and not by_name["staging"].tls


def test_no_store_lists_only_default(tmp_path):
    rows = list_contexts({"DOCKER_CONFIG": str(tmp_path / "nothing-here")})
    assert [r.name for r in rows] == ["default"] and rows[0].current


def test_broken_meta_is_listed_with_its_error_and_refused(cfg):
    broken = add_context(cfg, "prod", "tcp://127.0.0.1:1")
    broken.write_text('{"Name": "prod", "Endpoints": ')  # cut short
    rows = list_contexts(env(cfg))
    bad = [r for r in rows if r.error]
    assert len(bad) == 1 and "not valid JSON" in bad[0].error
    assert [r.name for r in rows if not r.error] == ["default", "remote", "staging"]
    # The name of a broken context cannot be read, so asking for it is "unknown".
    with pytest.raises(EngineUnavailable, match="No docker context named 'prod'"):
        resolve(context="prod", environ=env(cfg))


def test_missing_meta_file_and_missing_endpoint(cfg):
    (cfg / "contexts" / "meta" / get_context_id("ghost")).mkdir()
    k8s = add_context(cfg, "k8s-only", "tcp://127.0.0.1:1")
    k8s.write_text(
        json.dumps({"Name": "k8s-only", "Metadata": {}, "Endpoints": {"kubernetes": {}}})
    )
    rows = {r.name: r for r in list_contexts(env(cfg))}
    assert "no Docker endpoint" in rows["k8s-only"].error
    assert any("missing" in r.error for r in rows.values() if r.name not in ("k8s-only",))
    with pytest.raises(EngineUnavailable) as info:
        resolve(context="k8s-only", environ=env(cfg))
    assert (
        info.value.reason == "The docker context 'k8s-only' is broken: it has no Docker endpoint."
    )
    assert "docker context rm k8s-only" in info.value.hint


def test_unknown_name_lists_the_known_ones(cfg):
    with pytest.raises(EngineUnavailable) as info:
        resolve(context="prod", environ=env(cfg))
    assert info.value.reason == "No docker context named 'prod' (known: default, remote, staging)."


def test_unknown_name_from_env_or_config_says_where_it_came_from(cfg):
    with pytest.raises(EngineUnavailable) as info:
        resolve(environ=env(cfg, DOCKER_CONTEXT="prod"))
    assert "DOCKER_CONTEXT=prod" in info.value.hint
    set_current(cfg, "gone")
    with pytest.raises(EngineUnavailable) as info:
        resolve(environ=env(cfg))
    assert "currentContext" in info.value.hint and str(cfg / "config.json") in info.value.hint


def test_unreadable_config_json_is_ignored_like_the_cli(cfg):
    (cfg / "config.json").write_text("{nope")
    assert current_context_name(env(cfg)) == "default"


def test_stored_default_is_never_listed(cfg):
    add_context(cfg, "default", "tcp://127.0.0.1:9")
    rows = list_contexts(env(cfg))
    assert [r.name for r in rows].count("default") == 1
    assert rows[0].host == "unix:///var/run/docker.sock"


# -- resolving TLS -------------------------------------------------------------------------
def test_context_tls_material_becomes_a_tls_config(cfg):
    add_context(cfg, "secure", "tcp://127.0.0.1:2376", tls=("ca", "cert", "key"))
    target = resolve(context="secure", environ=env(cfg))
    assert isinstance(target, Target) and target.label == "secure (tcp://127.0.0.1:2376)"
    d = tls_dir("secure", env(cfg))
    assert target.cert_path == str(d) and target.tls_verify
    assert target.tls_config.ca_cert == str(d / "ca.pem")
    assert target.tls_config.cert == (str(d / "cert.pem"), str(d / "key.pem"))
    assert target.tls_config.verify is True
    cli = target.cli_env({"PATH": "/usr/bin", "DOCKER_CONTEXT": "secure"})
    assert cli == {
        "PATH": "/usr/bin",
        "DOCKER_HOST": "tcp://127.0.0.1:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(d),
    }


def test_context_ca_only_and_skip_verify(cfg):
    add_context(cfg, "ca-only", "tcp://127.0.0.1:2376", tls=("ca",))
    add_context(cfg, "skip", "tcp://127.0.0.1:2377", skip_verify=True)
    ca_only = resolve(context="ca-only", environ=env(cfg))
    assert ca_only.tls_config.cert is None and ca_only.tls_config.ca_cert.endswith("ca.pem")
    skip = resolve(context="skip", environ=env(cfg))
    assert skip.tls_config.verify is False and not skip.tls_verify
    assert skip.cli_env({})["DOCKER_TLS"] == "1"


def test_plain_tcp_context_and_ssh_context_have_no_tls(cfg):
    assert resolve(context="staging", environ=env(cfg)).tls_config is None
    add_context(cfg, "ssh-tls", "ssh://u@127.0.0.1", tls=("ca", "cert", "key"))
    assert resolve(context="ssh-tls", environ=env(cfg)).tls_config is None


def test_default_tls_from_env(cfg, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    for part in ("ca", "cert", "key"):
        (certs / f"{part}.pem").write_text("x")
    e = env(
        cfg,
        DOCKER_HOST="tcp://127.0.0.1:2376",
        DOCKER_TLS_VERIFY="1",
        DOCKER_CERT_PATH=str(certs),
    )
    target = resolve(environ=e)
    assert target.tls_config.ca_cert == str(certs / "ca.pem") and target.cert_path == str(certs)
    assert target.label == "tcp://127.0.0.1:2376"
    # DOCKER_TLS_VERIFY on a unix socket means nothing.
    assert resolve(environ={**e, "DOCKER_HOST": "unix:///x.sock"}).tls_config is None


def test_default_tls_with_missing_files_says_which(cfg, tmp_path):
    certs = tmp_path / "half"
    certs.mkdir()
    (certs / "ca.pem").write_text("x")
    e = env(
        cfg, DOCKER_HOST="tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs)
    )
    with pytest.raises(EngineUnavailable) as info:
        resolve(environ=e)
    assert "cert.pem, key.pem are missing from" in info.value.reason
    assert str(certs) in info.value.reason


def test_resolve_host_follows_the_active_context(cfg):
    set_current(cfg, "staging")
    assert resolve_host(None, env(cfg)) == "tcp://127.0.0.1:23760"
    assert resolve_host("unix:///y.sock", env(cfg)) == "unix:///y.sock"
    set_current(cfg, "gone")  # broken choice: fall back to DOCKER_HOST / the socket
    assert resolve_host(None, env(cfg)) == "unix:///var/run/docker.sock"


# -- sentences for TLS failures ------------------------------------------------------------
def _ssl(message: str) -> Exception:
    """The shape requests gives: ConnectionError/SSLError wrapping ssl's error."""
    import requests

    inner = ssl.SSLError(1, message)
    try:
        raise requests.exceptions.SSLError(inner)
    except requests.exceptions.SSLError as outer:
        outer.__context__ = inner
        return outer


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate", "not signed by the CA"),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.2'", "hostname mismatch"),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired", "has expired"),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number", "answers plain HTTP"),
        ("[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required", "rejected dockui's TLS client certificate"),
        ("[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate", "rejected dockui's TLS client certificate"),
        ("EOF occurred in violation of protocol (_ssl.c:2427)", "rejected dockui's TLS client certificate"),
    ],
)  # fmt: skip
def test_tls_failures_become_sentences(message, words):
    err = explain("tcp://127.0.0.1:2376", _ssl(message))
    assert words in err.reason, err.reason
    assert "Traceback" not in str(err) and "_ssl.c" not in err.reason


def test_plain_http_to_a_tls_port():
    exc = APIError(
        '400 Client Error: Bad Request ("Client sent an HTTP request to an HTTPS server.")'
    )
    err = explain("tcp://127.0.0.1:2376", exc)
    assert "requires TLS" in err.reason and "DOCKER_TLS_VERIFY" in err.hint


def test_tls_sentence_names_the_context_and_cert_dir():
    target = Target(
        "prod", "tcp://127.0.0.1:2376", None, "prod (tcp://127.0.0.1:2376)", cert_path="/c"
    )
    err = explain(
        target.host, _ssl("certificate verify failed: self signed certificate"), target=target
    )
    assert err.host == "prod (tcp://127.0.0.1:2376)" and "ca.pem in /c" in err.reason


# -- sentences for ssh failures ------------------------------------------------------------
@pytest.mark.parametrize(
    ("stderr", "code", "words"),
    [
        ("root@127.0.0.1: Permission denied (publickey).", 255, "ssh refused the login as root@127.0.0.1: Permission denied (publickey)."),
        ("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.", 255, "is not known yet"),
        ("@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.", 255, "has CHANGED"),
        ("ssh: connect to host 127.0.0.1 port 2222: Connection refused", 255, "Nothing accepts ssh connections at 127.0.0.1:2222"),
        ("ssh: Could not resolve hostname box: Name or service not known", 255, "cannot resolve the host name"),
        ("ssh: connect to host 127.0.0.1 port 2222: Connection timed out", 255, "could not reach"),
        ("bash: line 1: docker: command not found", 127, "has no `docker` command"),
        ("failed to open the raw stream connection: dial unix /var/run/docker.sock: connect: permission denied", 1, "cannot reach its engine"),
        ("kex_exchange_identification: read: Connection reset by peer", 255, "ssh to root@127.0.0.1 failed: kex_exchange"),
    ],
)  # fmt: skip
def test_ssh_failures_become_sentences(stderr, code, words):
    exc = ConnectionError("Connection aborted.")
    exc.__context__ = SSHError("ssh failed", stderr, code)
    err = explain("ssh://root@127.0.0.1:2222", exc)
    assert words in err.reason, err.reason
    assert err.hint


def test_ssh_host_key_hints_name_the_port():
    exc = SSHError("x", "Host key verification failed.", 255)
    assert "ssh -p 2222 root@127.0.0.1" in explain("ssh://root@127.0.0.1:2222", exc).hint
    changed = SSHError("x", "REMOTE HOST IDENTIFICATION HAS CHANGED\nHost key verification failed.")
    assert "ssh-keygen -R '[127.0.0.1]:2222'" in explain("ssh://root@127.0.0.1:2222", changed).hint


def test_missing_ssh_binary():
    err = explain("ssh://u@127.0.0.1", SSHError("no ssh", missing_binary=True))
    assert "no `ssh` is installed" in err.reason


def test_remote_engine_permission_hint_names_the_docker_group():
    exc = SSHError("x", "dial unix /var/run/docker.sock: connect: permission denied", 1)
    err = explain("ssh://deploy@127.0.0.1", exc)
    assert err.hint == "Add deploy to the docker group on 127.0.0.1."


@pytest.mark.parametrize(
    ("address", "words"),
    [("ssh://", "'ssh://' names no host."), ("ssh://root@127.0.0.1:abc", "has an invalid port")],
)
def test_malformed_ssh_addresses(address, words):
    from dockui.engine.client import connect

    with pytest.raises(EngineUnavailable) as info:
        connect(address, timeout=1, environ={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert words in info.value.reason
