"""The image audit on synthetic exports: each detector, the package parsers, masking, the
final-filesystem view (deleted / replaced files and databases) and the scanner parsers."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
import struct
import tarfile

import pytest

from dockui.engine import audit as A
from dockui.engine import scanner as S
from tests.unit.test_layer_analysis import d, f, opq, sha, tar_bytes, wh

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS = "AKIA" + "QWERTYUIOPASDFGH"
SLACK = "xoxb-" + "123456789012-abcdefghijkl"
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun" * 3
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n"
ENV_SECRET = "s3cr3t-Env-Value-42"
ARG_SECRET = "arg-Secret-Value-99"

DPKG_STATUS = """\
Package: libc6
Status: install ok installed
Priority: required
Version: 2.36-9+deb12u4
Description: GNU C Library
 more text: with a colon

Package: oldpkg
Status: deinstall ok config-files
Version: 1.0

Package: zlib1g
Status: install ok installed
Version: 1:1.2.13.dfsg-1
"""

APK_INSTALLED = """\
C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64

C:Q1def=
P:busybox
V:1.36.1-r15
"""

METADATA = """\
Metadata-Version: 2.1
Name: requests
Version: 2.31.0
Summary: Python HTTP for Humans.

Name: not-this
"""


def export(layer_tars: list[bytes], config: dict, history: list[dict]) -> bytes:
    doc = {
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(t)}" for t in layer_tars]},
        "history": history,
    }
    raw = json.dumps(doc).encode()
    out = io.BytesIO()
    paths = []
    with tarfile.open(fileobj=out, mode="w") as tar:
        for layer in layer_tars:
            lid = sha(layer)
            tar.addfile(*d(lid))
            tar.addfile(*f(f"{lid}/layer.tar", layer))
            paths.append(f"{lid}/layer.tar")
        tar.addfile(*f(f"{sha(raw)}.json", raw))
        manifest = [{"Config": f"{sha(raw)}.json", "RepoTags": ["demo:1"], "Layers": paths}]
        tar.addfile(*f("manifest.json", json.dumps(manifest).encode()))
    return out.getvalue()


def run(history: list[dict], config: dict, *layers: list) -> A.AuditReport:
    tars = [tar_bytes(members) for members in layers]
    return A.audit_image_stream(io.BytesIO(export(tars, config, history)), image="demo:1")


def step(created_by: str, empty: bool = False) -> dict:
    return {"created_by": created_by, "empty_layer": empty} if empty else {"created_by": created_by}


BASE_HISTORY = [step("ADD rootfs.tar /")]


def by_rule(report: A.AuditReport, rule: str) -> list[A.Finding]:
    return [x for x in report.findings if x.rule == rule]


def everything(report: A.AuditReport) -> str:
    return json.dumps(A.to_json(report))


# -------------------------------------------------------------------------------------------
# masking


def test_mask_shows_a_prefix_and_the_length_only() -> None:
    assert A.mask(GITHUB) == "ghp_…(40 chars)"
    assert A.mask("short") == "…(5 chars)"
    assert A.mask("tenchars!!") == "te…(10 chars)"


def test_redactor_masks_known_values_tokens_and_secret_assignments() -> None:
    redact = A.Redactor()
    redact.add("hunter2-password")
    text = redact(f"RUN login --pw hunter2-password && echo {AWS} && DB_PASSWORD=abc123xyz x")
    assert "hunter2-password" not in text and AWS not in text and "abc123xyz" not in text
    assert "AKIA…(20 chars)" in text and "DB_PASSWORD=ab…" not in text
    assert "DB_PASSWORD=" in text


# -------------------------------------------------------------------------------------------
# secrets in files


def test_private_key_token_and_deleted_file_name_their_layers() -> None:
    history = [
        *BASE_HISTORY,
        step("COPY id_rsa /root/.ssh/id_rsa"),
        step(f"RUN /bin/sh -c echo {GITHUB} > /app/token.txt"),
        step("RUN /bin/sh -c rm /app/token.txt"),
    ]
    report = run(
        history,
        {"User": "app"},
        [d("bin"), f("bin/sh", b"\x7fELF\0\0binary")],
        [d("root/.ssh"), f("root/.ssh/id_rsa", PEM.encode(), mode=0o600)],
        [d("app"), f("app/token.txt", f"token={GITHUB}\n".encode())],
        [wh("app/token.txt")],
    )
    key = by_rule(report, "secret.private-key")
    assert len(key) == 1 and key[0].severity == A.HIGH
    assert key[0].path == "/root/.ssh/id_rsa" and key[0].layer == 1
    assert key[0].instruction.startswith("COPY id_rsa")
    assert key[0].value.startswith("-----BEGIN RSA PRIVATE KEY----- MIIE…")
    token = by_rule(report, "secret.token")
    assert [t.path for t in token] == ["/app/token.txt"]
    assert token[0].layer == 2 and token[0].value == "ghp_…(40 chars)"
    assert token[0].fate == "deleted in layer 3, but still shipped in layer 2"
    # The RUN that wrote the token has it in its history too: found, and redacted everywhere.
    assert by_rule(report, "secret.history")
    text = everything(report)
    assert GITHUB not in text and PEM_BODY[:40] not in text
    assert "ghp_…(40 chars)" in token[0].instruction


def test_whole_directory_removed_later_still_ships_the_file() -> None:
    history = [*BASE_HISTORY, step("COPY . /src"), step("RUN rm -rf /src")]
    report = run(
        history,
        {"User": "1000"},
        [d("etc")],
        [d("src"), f("src/aws.txt", f"aws_access_key_id = {AWS}\n".encode())],
        [wh("src")],
    )
    (finding,) = by_rule(report, "secret.token")
    assert finding.fate.startswith("deleted in layer 2") and AWS not in everything(report)


def test_credential_files_and_env_files() -> None:
    docker_config = json.dumps({"auths": {"registry.example": {"auth": "dXNlcjpwYXNzd29yZA=="}}})
    members = [
        d("root/.aws"),
        f(
            "root/.aws/credentials",
            b"[default]\naws_secret_access_key = abcdEFGHijklMNOPqrstUVWX\n",
        ),
        d("root/.docker"),
        f("root/.docker/config.json", docker_config.encode()),
        f("root/.npmrc", b"//registry.npmjs.org/:_authToken=npm_abcdefghijklmnop\n"),
        f("root/.pypirc", b"[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n"),
        f("root/.git-credentials", b"https://me:tok3n-value@github.com\n"),
        f("root/.netrc", b"machine example.com login me password n3trc-pass\n"),
        d("app"),
        f("app/.env", b"DEBUG=1\nDATABASE_PASSWORD=pg-pass-123\n"),
        f("app/.env.example", b"DATABASE_PASSWORD=changeme\n"),
        f("app/settings.yaml", b"db:\n  password: yaml-pass-456\n"),
        f("app/readme.txt", b"password=notconfig\n"),
        f("root/.docker/empty.json", b"{}"),
    ]
    report = run([*BASE_HISTORY, step("COPY . /")], {"User": "app"}, [d("etc")], members)
    creds = {x.path for x in by_rule(report, "secret.credentials-file")}
    assert creds == {
        "/root/.aws/credentials",
        "/root/.docker/config.json",
        "/root/.npmrc",
        "/root/.pypirc",
        "/root/.git-credentials",
        "/root/.netrc",
    }
    assert [x.path for x in by_rule(report, "secret.env-file")] == ["/app/.env"]
    passwords = {x.path: x for x in by_rule(report, "secret.password")}
    assert set(passwords) == {"/app/.env", "/app/settings.yaml"}  # not .txt, not the example
    assert passwords["/app/.env"].severity == A.HIGH
    text = everything(report)
    for raw in (
        "dXNlcjpwYXNzd29yZA==",
        "pg-pass-123",
        "yaml-pass-456",
        "tok3n-value",
        "n3trc-pass",
    ):
        assert raw not in text


def test_slack_token_binary_files_and_caps() -> None:
    big = b"x" * (A.TEXT_CAP + 10) + SLACK.encode()
    members = [
        d("opt"),
        f("opt/notes.md", f"hook: {SLACK}\n".encode()),
        f("opt/blob.bin", b"\0\0\0" + SLACK.encode()),  # binary: not scanned
        f("opt/big.log", big),  # over the cap: not read
        d("usr/share/doc/x"),
        f("usr/share/doc/x/README", SLACK.encode()),  # skipped prefix
    ]
    report = run([*BASE_HISTORY, step("COPY . /")], {"User": "app"}, [d("etc")], members)
    assert [x.path for x in by_rule(report, "secret.token")] == ["/opt/notes.md"]
    assert report.scanned.files_read >= 2


def test_keys_in_package_test_data_are_low() -> None:
    members = [
        d("usr/lib/python3/test"),
        f("usr/lib/python3/test/keycert.pem", PEM.encode()),
    ]
    report = run([*BASE_HISTORY, step("RUN install")], {"User": "app"}, [d("etc")], members)
    (key,) = by_rule(report, "secret.private-key")
    assert key.severity == A.LOW and not report.failed("high")


# -------------------------------------------------------------------------------------------
# secrets in config and history


def test_env_build_args_labels_and_history_tokens() -> None:
    config = {
        "User": "app",
        "Env": ["PATH=/usr/bin", f"API_TOKEN={ENV_SECRET}", "PASSWORD_FILE=/run/secrets/db"],
        "Labels": {"maintainer": "me", "deploy.key": AWS},
    }
    history = [
        *BASE_HISTORY,
        step(f"ENV API_TOKEN={ENV_SECRET}", empty=True),
        step(f"|2 NPM_TOKEN={ARG_SECRET} VERSION=1.2 /bin/sh -c npm install"),
        step(f"RUN |1 GH={GITHUB} /bin/sh -c git clone # buildkit"),
        step("ARG DB_PASSWORD=argdefault-pass", empty=True),
        step(f"LABEL deploy.key={AWS}", empty=True),
    ]
    report = run(history, config, [d("etc")], [d("app")], [d("x")])
    (env,) = by_rule(report, "secret.env")
    assert env.title == "a secret value in ENV API_TOKEN" and env.value == "s3cr…(19 chars)"
    assert env.instruction.startswith("ENV API_TOKEN=")
    args = by_rule(report, "secret.build-arg")
    assert {x.title.split(" recorded")[0] for x in args} == {
        "build ARG NPM_TOKEN",
        "build ARG GH",
        "build ARG DB_PASSWORD",
    }
    assert all(x.instruction for x in args)
    (label,) = by_rule(report, "secret.label")
    assert "deploy.key" in label.title and label.value == "AKIA…(20 chars)"
    text = everything(report)
    for raw in (ENV_SECRET, ARG_SECRET, GITHUB, AWS, "argdefault-pass"):
        assert raw not in text
    assert report.failed("high")


# -------------------------------------------------------------------------------------------
# posture


def test_posture_root_ports_shell_form_healthcheck() -> None:
    config = {
        "ExposedPorts": {"80/tcp": {}, "8080/tcp": {}},
        "Cmd": ["/bin/sh", "-c", "httpd -f"],
    }
    report = run(BASE_HISTORY, config, [d("etc")])
    rules = {x.rule: x for x in report.findings}
    assert rules["posture.root"].title == "runs as root (no USER instruction)"
    assert [x.title for x in by_rule(report, "posture.privileged-port")] == [
        "exposes privileged port 80/tcp"
    ]
    assert "posture.shell-form" in rules and "posture.no-healthcheck" in rules
    for user in ("root", "0", "0:0", "root:root"):
        assert by_rule(run(BASE_HISTORY, {"User": user}, [d("etc")]), "posture.root")
    healthy = {"User": "1000:1000", "Cmd": ["httpd"], "Healthcheck": {"Test": ["CMD", "true"]}}
    assert run(BASE_HISTORY, healthy, [d("etc")]).findings == []


def test_setuid_setgid_and_world_writable_from_the_final_filesystem() -> None:
    history = [*BASE_HISTORY, step("RUN chmod u+s /bin/tool"), step("RUN rm /bin/gone")]
    report = run(
        history,
        {"User": "app"},
        [d("bin"), f("bin/tool", b"t"), f("bin/gone", b"g", mode=0o4755), d("tmp", 0o1777)],
        [
            f("bin/tool", b"t", mode=0o4755),
            f("bin/wall", b"w", mode=0o2755),
            d("srv/open", 0o777),
            d("srv/sticky", 0o1777),
            f("srv/open/file", b"x", mode=0o666),
            d("tmp/sub", 0o777),
            d("var/tmp", 0o777),
        ],
        [wh("bin/gone")],
    )
    setuid = by_rule(report, "posture.setuid")
    assert [(x.path, x.layer) for x in setuid] == [("/bin/tool", 1)]
    assert setuid[0].instruction == "RUN chmod u+s /bin/tool"
    assert [x.path for x in by_rule(report, "posture.setgid")] == ["/bin/wall"]
    assert sorted(x.path for x in by_rule(report, "posture.world-writable")) == [
        "/srv/open",
        "/srv/open/file",
    ]


# -------------------------------------------------------------------------------------------
# inventory


def test_package_parsers() -> None:
    assert A.parse_dpkg_status(DPKG_STATUS) == [
        ("libc6", "2.36-9+deb12u4"),
        ("zlib1g", "1:1.2.13.dfsg-1"),
    ]
    assert A.parse_apk_installed(APK_INSTALLED) == [("musl", "1.2.4-r2"), ("busybox", "1.36.1-r15")]
    assert A.parse_python_metadata(METADATA) == ("requests", "2.31.0")
    assert A.parse_python_metadata("Summary: x\n") is None


def rpm_header(name: str, version: str, release: str, epoch: int | None = None) -> bytes:
    entries, store = [], b""
    for tag, value in ((1000, name), (1001, version), (1002, release)):
        entries.append(struct.pack(">iiii", tag, 6, len(store), 1))
        store += value.encode() + b"\0"
    if epoch is not None:
        store += b"\0" * (-len(store) % 4)
        entries.append(struct.pack(">iiii", 1003, 4, len(store), 1))
        store += struct.pack(">i", epoch)
    return struct.pack(">ii", len(entries), len(store)) + b"".join(entries) + store


def rpmdb(headers: list[bytes]) -> bytes:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)"
    )
    conn.executemany("INSERT INTO Packages (blob) VALUES (?)", [(h,) for h in headers])
    conn.commit()
    data = conn.serialize()
    conn.close()
    return data


def test_rpm_sqlite_database() -> None:
    data = rpmdb(
        [rpm_header("bash", "5.1.8", "6.el9"), rpm_header("openssl", "3.0.7", "24.el9", 1)]
    )
    data_pub = rpmdb([rpm_header("gpg-pubkey", "1", "2")])
    assert A.parse_rpmdb_sqlite(data) == [("bash", "5.1.8-6.el9"), ("openssl", "1:3.0.7-24.el9")]
    assert A.parse_rpmdb_sqlite(data_pub) == []
    with pytest.raises(ValueError):
        A.parse_rpmdb_sqlite(b"not a database" * 100)
    report = run(
        [*BASE_HISTORY, step("RUN dnf install")],
        {"User": "app"},
        [d("var/lib/rpm"), f("var/lib/rpm/Packages", b"\0bdb")],
        [d("usr/lib/sysimage/rpm"), f("usr/lib/sysimage/rpm/rpmdb.sqlite", data)],
    )
    assert [(p.type, p.name, p.version, p.layer) for p in report.packages] == [
        ("rpm", "bash", "5.1.8-6.el9", 1),
        ("rpm", "openssl", "1:3.0.7-24.el9", 1),
    ]
    assert any("BerkeleyDB" in note for note in report.notes)


def test_inventory_is_the_final_filesystem() -> None:
    old_status = "Package: libc6\nStatus: install ok installed\nVersion: 2.31\n"
    history = [*BASE_HISTORY, step("RUN apt-get install"), step("RUN pip install")]
    report = run(
        history,
        {"User": "app"},
        [
            d("var/lib/dpkg"),
            f("var/lib/dpkg/status", old_status.encode()),
            d("lib/apk/db"),
            f("lib/apk/db/installed", APK_INSTALLED.encode()),
            d("usr/lib/python3/site-packages/old-1.0.dist-info"),
            f(
                "usr/lib/python3/site-packages/old-1.0.dist-info/METADATA",
                b"Name: old\nVersion: 1.0\n",
            ),
        ],
        [
            f("var/lib/dpkg/status", DPKG_STATUS.encode()),  # supersedes the base's
            d("var/lib/dpkg/status.d"),
            f("var/lib/dpkg/status.d/base", b"Package: base-files\nVersion: 12.4\n"),
            f("var/lib/dpkg/status.d/base.md5sums", b"abc  /etc/x\n"),
        ],
        [
            wh("lib/apk"),  # apk database gone
            wh("usr/lib/python3/site-packages/old-1.0.dist-info"),
            d("usr/lib/python3/site-packages/requests-2.31.0.dist-info"),
            f(
                "usr/lib/python3/site-packages/requests-2.31.0.dist-info/METADATA",
                METADATA.encode(),
            ),
            d("usr/lib/python3/site-packages/legacy.egg-info"),
            f(
                "usr/lib/python3/site-packages/legacy.egg-info/PKG-INFO",
                b"Name: legacy\nVersion: 0.9\n",
            ),
        ],
    )
    assert [(p.type, p.name, p.version, p.layer) for p in report.packages] == [
        ("deb", "base-files", "12.4", 1),
        ("deb", "libc6", "2.36-9+deb12u4", 1),
        ("deb", "zlib1g", "1:1.2.13.dfsg-1", 1),
        ("pypi", "legacy", "0.9", 2),
        ("pypi", "requests", "2.31.0", 2),
    ]
    doc = A.to_json(report)
    assert doc["packages"][0] == {
        "type": "deb",
        "name": "base-files",
        "version": "12.4",
        "layer": 1,
        "source": "/var/lib/dpkg/status.d/base",
    }
    assert doc["scanned"]["caps"]["text_file_bytes"] == A.TEXT_CAP


def test_gzip_oci_layers_are_read_too() -> None:
    layer = tar_bytes([d("app"), f("app/key.pem", PEM.encode())])
    from tests.unit.test_layer_analysis import oci_export

    data = oci_export([tar_bytes([d("etc")]), layer])
    report = A.audit_image_stream(io.BytesIO(data))
    assert [x.path for x in by_rule(report, "secret.private-key")] == ["/app/key.pem"]
    assert gzip  # the OCI helper compresses layers with gzip


def test_layer_analysis_reads_no_contents_without_a_reader() -> None:
    from dockui.engine import layers as L

    seen: list[str] = []

    class Reader:
        def wants(self, entry: L.LayerEntry) -> int:
            seen.append(entry.path)
            return 3

        def take(self, source: str, entry: L.LayerEntry, data: bytes, truncated: bool) -> None:
            seen.append(f"{entry.path}={data.decode()}:{truncated}")

    layer = tar_bytes([d("a"), f("a/x", b"hello"), opq("a")])
    entries, _ = L.read_layer_tar(io.BytesIO(layer), contents=Reader(), source="s")
    plain, _ = L.read_layer_tar(io.BytesIO(layer))
    assert seen == ["/a/x", "/a/x=hel:True"]
    assert entries == plain  # the same entries, checksums included


# -------------------------------------------------------------------------------------------
# scanners


def test_trivy_json_is_parsed_without_secret_matches() -> None:
    doc = {
        "SchemaVersion": 2,
        "Trivy": {"Version": "0.76.0"},
        "Results": [
            {
                "Target": "demo (debian 12.4)",
                "Class": "os-pkgs",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-2024-0001",
                        "PkgName": "libc6",
                        "InstalledVersion": "2.36-9",
                        "FixedVersion": "2.36-9+deb12u4",
                        "Severity": "CRITICAL",
                        "Title": "glibc: \x1b[31mbad\x1b[0m overflow",
                    },
                    {"VulnerabilityID": "CVE-2024-0002", "PkgName": "zlib1g", "Severity": "LOW"},
                ],
            },
            {
                "Target": "/app/.env",
                "Class": "secret",
                "Secrets": [
                    {
                        "RuleID": "github-pat",
                        "Severity": "CRITICAL",
                        "Title": "GitHub Personal Access Token",
                        "StartLine": 2,
                        "Match": f"TOKEN={GITHUB}",
                    }
                ],
            },
        ],
    }
    result = S.parse_trivy(doc)
    assert result.version == "0.76.0" and result.total == 3
    assert result.counts == {"critical": 2, "high": 0, "medium": 0, "low": 1, "unknown": 0}
    assert result.findings[0].kind == "secret" and result.findings[0].target == "/app/.env:2"
    assert result.findings[1].title == "glibc: bad overflow"
    assert GITHUB not in json.dumps(result.to_json())


def test_grype_json_is_parsed() -> None:
    doc = {
        "descriptor": {"name": "grype", "version": "0.121.2"},
        "matches": [
            {
                "vulnerability": {
                    "id": "CVE-2023-1",
                    "severity": "High",
                    "fix": {"versions": ["1.2.4"], "state": "fixed"},
                },
                "artifact": {"name": "musl", "version": "1.2.3", "type": "apk"},
            },
            {
                "vulnerability": {"id": "CVE-2023-2", "severity": "Negligible"},
                "artifact": {"name": "x", "version": "1"},
            },
        ],
    }
    result = S.parse_grype(doc)
    assert result.counts["high"] == 1 and result.counts["low"] == 1
    top = result.findings[0]
    assert (top.id, top.package, top.installed, top.fixed) == (
        "CVE-2023-1",
        "musl",
        "1.2.3",
        "1.2.4",
    )


def test_no_scanner_on_path_says_how_to_install_one(tmp_path) -> None:
    result = S.run_scanner("demo:1", path=str(tmp_path))
    assert result.status == S.MISSING and "install trivy" in result.message
    result = S.run_scanner("demo:1", tool="grype", path=str(tmp_path))
    assert result.status == S.MISSING and result.message.startswith("grype is not on PATH")


def test_a_scanner_that_hangs_is_stopped(tmp_path) -> None:
    fake = tmp_path / "grype"
    fake.write_text("#!/bin/sh\necho 'loading db' >&2\nexec sleep 30\n")
    fake.chmod(0o755)
    lines: list[str] = []
    result = S.run_scanner("demo:1", path=str(tmp_path), timeout=1, progress=lines.append)
    assert result.status == S.TIMEOUT and result.seconds < 5
    assert "did not finish within 1 s" in result.message and lines == ["loading db"]


def test_a_scanner_that_fails_gives_its_sentence(tmp_path) -> None:
    fake = tmp_path / "grype"
    fake.write_text(
        "#!/bin/sh\necho '1 error occurred: failed to load vulnerability db: db does not exist' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    result = S.run_scanner("demo:1", path=str(tmp_path), timeout=10)
    assert result.status == S.FAILED
    assert "db does not exist" in result.message


# -------------------------------------------------------------------------------------------
# settings


def test_audit_settings_are_validated() -> None:
    from dockui import config

    settings = config.loads(
        '[audit]\nfail_on = "medium"\nignore = ["posture.no-healthcheck"]\nscanner = "none"\n'
        "scanner_timeout = 30\n"
    )
    assert settings.audit == config.AuditSettings(
        "medium", ("posture.no-healthcheck",), "none", 30.0
    )
    assert config.loads("").audit.fail_on == "high"
    with pytest.raises(config.SettingsError, match=r"line 2.*must be one of high, medium, low"):
        config.loads('[audit]\nfail_on = "critical"\n')
    with pytest.raises(config.SettingsError, match=r"did you mean 'posture\.root'"):
        config.loads('[audit]\nignore = ["posture.rot"]\n')
