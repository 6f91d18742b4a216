"""Dockerfile advice: every rule fires on a minimal bad Dockerfile, on the right line, with a
concrete fix, and stays silent on a well-written one. Plus `dockui lint`'s output and exit
codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dockui import lint_cli
from dockui.engine.dockerfile import parse
from dockui.engine.lint import (
    RULES,
    SEVERITIES,
    Finding,
    is_secret_name,
    lint,
    lint_text,
    run_commands,
    shell_commands,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "dockerfiles"
GOOD = sorted(DATA.glob("good-*.Dockerfile"))

# A Dockerfile that passes every rule; each test below breaks one thing in it.
CLEAN = """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
USER 10001
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]
"""


def ids(text: str) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in lint_text(text)]


def only(text: str, rule: str) -> list[Finding]:
    return [f for f in lint_text(text) if f.rule == rule]


def test_clean_baseline_has_no_findings() -> None:
    assert lint_text(CLEAN) == []


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_fixtures_have_no_findings(path: Path) -> None:
    assert lint_text(path.read_text()) == []


def test_bad_everything_triggers_every_rule() -> None:
    findings = lint_text((DATA / "bad-everything.Dockerfile").read_text())
    assert {f.rule for f in findings} == set(RULES) - {"DUI000"}
    for finding in findings:
        assert finding.message and finding.fix
        assert finding.severity == RULES[finding.rule].severity


def test_findings_sorted_by_line() -> None:
    findings = lint_text((DATA / "bad-everything.Dockerfile").read_text())
    assert [f.line for f in findings] == sorted(f.line for f in findings)


def test_rules_table() -> None:
    assert list(RULES) == [f"DUI{n:03d}" for n in range(len(RULES))]
    for rule in RULES.values():
        assert rule.severity in SEVERITIES
        assert rule.title and rule.rationale
        assert all(code.startswith("DL") for code in rule.hadolint)


# ---------------------------------------------------------------------------------------------
# DUI000 syntax


def test_syntax_problems_are_findings() -> None:
    findings = lint_text("FROM alpine:3.20\nRUNN echo hi\nUSER 1000\n")
    assert [(f.rule, f.line, f.severity) for f in findings] == [("DUI000", 2, "error")]


# ---------------------------------------------------------------------------------------------
# DUI001 base tag


@pytest.mark.parametrize(
    ("base", "fires"),
    [
        ("python", True),
        ("python:latest", True),
        ("docker.io/library/python:latest", True),
        ("python:3.12-slim", False),
        ("python@sha256:0123abcd", False),
        ("python:latest@sha256:0123abcd", False),
    ],
)
def test_base_tag(base: str, fires: bool) -> None:
    found = only(CLEAN.replace("python:3.12-slim", base, 1), "DUI001")
    assert bool(found) == fires
    if fires:
        assert found[0].line == 1
        assert "python:3.12-slim" in found[0].fix


def test_base_tag_ignores_scratch_stages_and_unresolved_variables() -> None:
    text = (
        "ARG BASE\n"
        "FROM golang:1.22 AS build\n"
        "FROM build AS test\n"
        "FROM $BASE AS other\n"
        "FROM scratch\n"
        "COPY --from=build /app /app\n"
        "USER 65532\n"
        'ENTRYPOINT ["/app"]\n'
    )
    assert only(text, "DUI001") == []


def test_base_tag_resolves_arg_defaults() -> None:
    found = only("ARG BASE=alpine\nFROM $BASE\nUSER 1\n", "DUI001")
    assert [(f.line, f.message.split(":")[0]) for f in found] == [(2, "FROM alpine has no tag")]
    assert "alpine:3.20" in found[0].fix


# ---------------------------------------------------------------------------------------------
# DUI002 slim base


@pytest.mark.parametrize(
    ("base", "suggestion"),
    [
        ("python:3.12", "python:3.12-slim"),
        ("python:3.12-bookworm", "python:3.12-slim-bookworm"),
        ("python:3", "python:3-slim"),
        ("node:20", "node:20-slim"),
        ("node:20-bookworm", "node:20-bookworm-slim"),
        ("node:lts", "node:lts-slim"),
        ("ruby:3.3", "ruby:3.3-slim"),
        ("perl:5.40", "perl:5.40-slim"),
        ("openjdk:17-jdk", "openjdk:17-jdk-slim"),
        ("eclipse-temurin:21", "eclipse-temurin:21-jre"),
        ("eclipse-temurin:21-jdk-jammy", "eclipse-temurin:21-jre-jammy"),
        ("docker.io/library/python:3.12", "docker.io/library/python:3.12-slim"),
    ],
)
def test_slim_base_fires(base: str, suggestion: str) -> None:
    found = only(CLEAN.replace("python:3.12-slim", base, 1), "DUI002")
    assert [f.line for f in found] == [1]
    assert found[0].fix.startswith(f"FROM {suggestion}.")


@pytest.mark.parametrize(
    "base",
    [
        "python:3.12-slim-bookworm",
        "python:3.12-alpine",
        "node:20-alpine",
        "node:20-bookworm-slim",
        "eclipse-temurin:21-jre",
        "php:8.3-cli",
        "debian:bookworm",
        "ghcr.io/acme/python:3.12",
        "python:3.12-windowsservercore",
    ],
)
def test_slim_base_silent(base: str) -> None:
    assert only(CLEAN.replace("python:3.12-slim", base, 1), "DUI002") == []


def test_slim_base_only_for_the_shipped_stage() -> None:
    text = "FROM python:3.12 AS build\nRUN pip wheel --no-cache-dir -w /w flask\n" + CLEAN
    assert only(text, "DUI002") == []
    chained = "FROM python:3.12 AS base\nFROM base\nUSER 1\n"
    assert [f.line for f in only(chained, "DUI002")] == [1]


# ---------------------------------------------------------------------------------------------
# DUI003 root


def test_no_user_fires_on_the_final_from() -> None:
    text = CLEAN.replace("USER 10001\n", "")
    found = only(text, "DUI003")
    assert [f.line for f in found] == [1]
    assert "USER 10001" in found[0].fix


def test_user_root_fires_on_the_user_line() -> None:
    text = CLEAN.replace("USER 10001", "USER root")
    assert [f.line for f in only(text, "DUI003")] == [6]
    text = CLEAN.replace("USER 10001", "USER 0:0")
    assert [f.line for f in only(text, "DUI003")] == [6]


def test_user_inherited_from_a_parent_stage() -> None:
    text = 'FROM python:3.12-slim AS base\nUSER 10001\nFROM base\nCMD ["python"]\n'
    assert only(text, "DUI003") == []


def test_user_in_another_stage_does_not_count() -> None:
    text = 'FROM python:3.12-slim AS build\nUSER 10001\nFROM python:3.12-slim\nCMD ["python"]\n'
    assert [f.line for f in only(text, "DUI003")] == [3]


@pytest.mark.parametrize(
    "text",
    [
        'FROM gcr.io/distroless/static-debian12:nonroot\nENTRYPOINT ["/app"]\n',
        "FROM nginxinc/nginx-unprivileged:1.27-alpine\n",
        "FROM bitnami/postgresql:16\n",
        'FROM debian:12-slim\nENTRYPOINT ["gosu", "app", "server"]\n',
        'FROM alpine:3.20\nENTRYPOINT ["/sbin/su-exec", "app"]\nCMD ["server"]\n',
        "FROM debian:12-slim\nUSER app\nUSER root\nRUN true\nUSER app:app\n",
    ],
)
def test_user_silent(text: str) -> None:
    assert only(text, "DUI003") == []


def test_user_scratch_suggests_a_numeric_id() -> None:
    found = only('FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n', "DUI003")
    assert [f.line for f in found] == [1]
    assert "65532" in found[0].fix


# ---------------------------------------------------------------------------------------------
# DUI004 secrets


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "PASSWORD",
        "MYSQL_ROOT_PASSWD",
        "DB_PASS",
        "GITHUB_TOKEN",
        "NPM_AUTHTOKEN",
        "API_KEY",
        "apiKey",
        "stripeSecretKey",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "SECRET",
        "app-secret",
        "GCP_CREDENTIALS",
        "SSH_PRIVATE_KEY",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "KEYBOARD_LAYOUT",
        "MONKEY",
        "TOKENIZERS_PARALLELISM",
        "PASSENGER_APP_ENV",
        "PUBLIC_KEY",
        "SSH_PUB_KEY",
        "PASSWORD_FILE",
        "POSTGRES_PASSWORD_FILE",
        "SECRETS_DIR",
        "GPG_KEY",
        "TOKEN_URL",
        "KEY_SIZE",
        "PATH",
        "PWD",
        "SECRET_KEY_BASE_PATH",
        "",
    ],
)
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_secret_in_env_and_arg() -> None:
    text = CLEAN.replace(
        "WORKDIR /app\n",
        "WORKDIR /app\nENV APP_ENV=prod DB_PASSWORD=hunter2\nARG NPM_TOKEN\nENV EMPTY_TOKEN=\n",
    )
    found = only(text, "DUI004")
    assert [(f.line, f.severity) for f in found] == [(3, "error"), (4, "error")]
    assert "DB_PASSWORD" in found[0].message and "docker inspect" in found[0].message
    assert "--mount=type=secret" in found[1].fix


def test_secret_in_builder_stage_still_counts() -> None:
    text = "FROM node:20-slim AS build\nARG NPM_TOKEN\nRUN npm ci\n" + CLEAN
    assert [f.line for f in only(text, "DUI004")] == [2]


# ---------------------------------------------------------------------------------------------
# DUI005 copy order


@pytest.mark.parametrize(
    ("install", "manifest"),
    [
        ("pip install --no-cache-dir -r requirements.txt", "requirements.txt"),
        ("pip install --no-cache-dir -rrequirements/prod.txt", "requirements/prod.txt"),
        ("npm ci", "package.json package-lock.json"),
        ("npm install", "package.json package-lock.json"),
        ("yarn install --frozen-lockfile", "package.json yarn.lock"),
        ("bundle install", "Gemfile Gemfile.lock"),
        ("go mod download", "go.mod go.sum"),
        ("composer install --no-dev", "composer.json composer.lock"),
        ("poetry install --no-root", "pyproject.toml poetry.lock"),
    ],
)
def test_copy_before_install_fires_on_the_copy(install: str, manifest: str) -> None:
    text = f"FROM debian:12-slim\nWORKDIR /app\nCOPY . .\nRUN {install}\nUSER 1\n"
    found = only(text, "DUI005")
    assert [f.line for f in found] == [3]
    assert f"COPY {manifest} ./" in found[0].fix
    assert "line 4" in found[0].message


def test_copy_before_install_absolute_manifest_path() -> None:
    text = "FROM python:3.12-slim\nCOPY . /app\nRUN pip install --no-cache-dir -r /app/req.txt\n"
    (found,) = only(text, "DUI005")
    assert "`COPY req.txt /app/`" in found.fix


@pytest.mark.parametrize(
    "text",
    [
        CLEAN,
        # installing the project itself after its dependencies is the right order
        CLEAN.replace('CMD ["gunicorn"', 'RUN pip install --no-cache-dir -e .\nCMD ["gunicorn"'),
        # copying from another stage is not the build context
        "FROM python:3.12-slim AS b\nFROM python:3.12-slim\nCOPY --from=b . .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\nUSER 1\n",
        # a named global package is not the manifest
        "FROM node:20-slim\nCOPY . .\nRUN npm install -g serve\nUSER 1\n",
        # the install is in another stage
        "FROM node:20-slim AS a\nCOPY . .\nFROM node:20-slim\nRUN npm ci\nUSER 1\n",
    ],
)
def test_copy_order_silent(text: str) -> None:
    assert only(text, "DUI005") == []


# ---------------------------------------------------------------------------------------------
# DUI006 / DUI007 apt


APT_GOOD = (
    "RUN apt-get update \\\n"
    "    && apt-get install -y --no-install-recommends curl \\\n"
    "    && rm -rf /var/lib/apt/lists/*\n"
)


def test_apt_clean_is_silent() -> None:
    text = CLEAN.replace("WORKDIR /app\n", "WORKDIR /app\n" + APT_GOOD)
    assert lint_text(text) == []


def test_apt_lists_left_behind() -> None:
    text = CLEAN.replace(
        "WORKDIR /app\n",
        "WORKDIR /app\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
    )
    found = only(text, "DUI006")
    assert [f.line for f in found] == [3]
    assert "rm -rf /var/lib/apt/lists/*" in found[0].fix


def test_apt_lists_cache_mount_and_builder_stage_are_fine() -> None:
    mounted = CLEAN.replace(
        "WORKDIR /app\n",
        "WORKDIR /app\nRUN --mount=type=cache,target=/var/lib/apt,sharing=locked "
        "apt-get update && apt-get install -y --no-install-recommends curl\n",
    )
    assert only(mounted, "DUI006") == []
    builder = "FROM debian:12 AS build\nRUN apt-get update && apt-get install -y gcc\n" + CLEAN
    assert only(builder, "DUI006") == [] and only(builder, "DUI007") == []


def test_apt_recommends() -> None:
    text = CLEAN.replace(
        "WORKDIR /app\n",
        "WORKDIR /app\nRUN apt-get update && apt-get install -y curl git "
        "&& rm -rf /var/lib/apt/lists/*\n",
    )
    found = only(text, "DUI007")
    assert [(f.line, f.severity) for f in found] == [(3, "info")]
    assert found[0].fix == "apt-get install -y --no-install-recommends curl git"
    with_option = text.replace("install -y", "install -y -o APT::Install-Recommends=false")
    assert only(with_option, "DUI007") == []


# ---------------------------------------------------------------------------------------------
# DUI008 pip


@pytest.mark.parametrize(
    "command",
    [
        "pip install -r requirements.txt",
        "pip3 install flask",
        "python -m pip install flask",
        "python3.12 -m pip install --upgrade pip",
        "sh -c 'pip install flask'",
    ],
)
def test_pip_cache_fires(command: str) -> None:
    text = CLEAN.replace("pip install --no-cache-dir -r requirements.txt", command)
    found = only(text, "DUI008")
    assert [f.line for f in found] == [4]
    assert "--no-cache-dir" in found[0].fix


@pytest.mark.parametrize(
    "replacement",
    [
        "pip install --no-cache-dir -r requirements.txt",
        "PIP_NO_CACHE_DIR=1 pip install -r requirements.txt",
        "--mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt",
        "pipx install poetry",
        "python -m pipx install poetry",
        "pip wheel -w /wheels flask",
    ],
)
def test_pip_cache_silent(replacement: str) -> None:
    text = CLEAN.replace("pip install --no-cache-dir -r requirements.txt", replacement)
    assert only(text, "DUI008") == []


def test_pip_cache_env_in_stage_or_parent() -> None:
    text = CLEAN.replace("--no-cache-dir ", "").replace(
        "WORKDIR /app\n", "WORKDIR /app\nENV PIP_NO_CACHE_DIR=1\n"
    )
    assert only(text, "DUI008") == []
    parent = (
        "FROM python:3.12-slim AS base\nENV PIP_NO_CACHE_DIR=1\n"
        "FROM base\nRUN pip install flask\nUSER 1\n"
    )
    assert only(parent, "DUI008") == []


def test_pip_cache_in_builder_stage_is_fine() -> None:
    text = "FROM python:3.12-slim AS build\nRUN pip install --prefix=/install flask\n" + CLEAN
    assert only(text, "DUI008") == []


# ---------------------------------------------------------------------------------------------
# DUI009 ADD


def test_add_plain_files() -> None:
    text = CLEAN.replace("COPY . .", "ADD --chown=10001:10001 . .")
    found = only(text, "DUI009")
    assert [f.line for f in found] == [5]
    assert found[0].fix == "COPY --chown=10001:10001 . ."


@pytest.mark.parametrize(
    "source",
    [
        "https://example.com/tool.tar.gz",
        "https://github.com/acme/repo.git",
        "rootfs.tar.xz",
        "vendor.tgz",
        "$ARCHIVE",
    ],
)
def test_add_silent(source: str) -> None:
    text = CLEAN.replace("COPY . .", f"ADD {source} /opt/")
    assert only(text, "DUI009") == []


def test_add_zip_is_not_extracted() -> None:
    (found,) = only(CLEAN.replace("COPY . .", "ADD bundle.zip /opt/"), "DUI009")
    assert ".zip" in found.message


# ---------------------------------------------------------------------------------------------
# DUI010 RUN runs


def test_three_runs_in_a_row() -> None:
    text = CLEAN.replace(
        "COPY . .\n",
        "COPY . .\nRUN mkdir -p /data\n# a comment does not break the run\nRUN chown 10001 /data\n"
        "RUN chmod 700 /data\n",
    )
    found = only(text, "DUI010")
    assert [(f.line, f.severity) for f in found] == [(8, "info")]
    assert "lines 6, 8, 9" in found[0].message


def test_apt_update_and_install_split() -> None:
    text = CLEAN.replace(
        "WORKDIR /app\n",
        "WORKDIR /app\nRUN apt-get update\n"
        "RUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
    )
    found = only(text, "DUI010")
    assert [f.line for f in found] == [4]
    assert "apt-get" in found[0].message


@pytest.mark.parametrize(
    "block",
    [
        "RUN mkdir /data\nRUN chown 1 /data\n",  # two short RUNs: fine for dockui
        "RUN mkdir /a\nRUN --mount=type=cache,target=/c make\nRUN chmod 700 /a\n",  # flags differ
        "RUN mkdir /a\nCOPY x /a/\nRUN mkdir /b\nWORKDIR /b\nRUN mkdir /c\n",  # not in a row
    ],
)
def test_run_runs_silent(block: str) -> None:
    assert only(CLEAN.replace("COPY . .\n", "COPY . .\n" + block), "DUI010") == []


# ---------------------------------------------------------------------------------------------
# DUI011 compilers


def test_compilers_in_single_stage_build() -> None:
    text = CLEAN.replace(
        "WORKDIR /app\n",
        "WORKDIR /app\nRUN apt-get update && apt-get install -y --no-install-recommends "
        "build-essential libpq-dev && rm -rf /var/lib/apt/lists/*\n",
    )
    found = only(text, "DUI011")
    assert [f.line for f in found] == [3]
    assert "build-essential" in found[0].message and "multi-stage" in found[0].fix


def test_compilers_apk_virtual_and_purged() -> None:
    alpine = (
        "FROM python:3.12-alpine\nRUN apk add --no-cache --virtual .build-deps gcc musl-dev\n"
        "USER 1\n"
    )
    assert [f.line for f in only(alpine, "DUI011")] == [2]
    purged = alpine.replace(
        "musl-dev\n", "musl-dev && pip install --no-cache-dir x && apk del .build-deps\n"
    )
    assert only(purged, "DUI011") == []


def test_compilers_in_multi_stage_build_are_fine() -> None:
    text = "FROM debian:12 AS build\nRUN apt-get update && apt-get install -y gcc make\n" + CLEAN
    assert only(text, "DUI011") == []


@pytest.mark.parametrize("base", ["golang:1.22", "rust:1.82", "maven:3.9-eclipse-temurin-21"])
def test_toolchain_image_as_final_base(base: str) -> None:
    found = only(f"FROM {base}\nCOPY . .\nUSER 1\n", "DUI011")
    assert [f.line for f in found] == [1]
    assert "COPY --from=build" in found[0].fix
    staged = f"FROM {base} AS build\nFROM debian:12-slim\nUSER 1\n"
    assert only(staged, "DUI011") == []


# ---------------------------------------------------------------------------------------------
# DUI012 shell-form CMD/ENTRYPOINT


def test_shell_form_cmd_with_exec_form_fix() -> None:
    text = CLEAN.replace(
        'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]', "CMD gunicorn -b :8000 app:app"
    )
    (found,) = only(text, "DUI012")
    assert found.line == 8
    assert found.fix == 'CMD ["gunicorn", "-b", ":8000", "app:app"]'


def test_shell_form_entrypoint_with_shell_features() -> None:
    text = CLEAN.replace(
        'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]',
        "ENTRYPOINT gunicorn --bind 0.0.0.0:$PORT app:app",
    )
    (found,) = only(text, "DUI012")
    assert found.fix == (
        'ENTRYPOINT ["/bin/sh", "-c", "exec gunicorn --bind 0.0.0.0:$PORT app:app"]'
    )


def test_single_quoted_json_is_shell_form() -> None:
    text = CLEAN.replace(
        'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]', "CMD ['gunicorn', 'app:app']"
    )
    (found,) = only(text, "DUI012")
    assert "not valid JSON" in found.message
    assert found.fix == 'CMD ["gunicorn", "app:app"]'


def test_shell_form_in_a_builder_stage_is_fine() -> None:
    text = "FROM alpine:3.20 AS dev\nCMD sh\n" + CLEAN
    assert only(text, "DUI012") == []


# ---------------------------------------------------------------------------------------------
# DUI013 cd


def test_cd_in_run() -> None:
    text = CLEAN.replace("COPY . .\n", "COPY . .\nRUN cd /app/static && ./build.sh\n")
    (found,) = only(text, "DUI013")
    assert found.line == 6
    assert found.fix.startswith("WORKDIR /app/static")


@pytest.mark.parametrize(
    "run",
    [
        "RUN cd /tmp/src && ./configure && make install && cd / && rm -rf /tmp/src",
        "RUN mkdir /opt/x && cd /opt/x && make && cd .. && rm -rf /opt/x",
        "RUN tar xf v1.tgz && cd v1 && make install",
        'RUN d="$(mktemp -d)" && cd "$(mktemp -d)" && true',
    ],
)
def test_cd_silent(run: str) -> None:
    assert only(CLEAN.replace("COPY . .\n", f"COPY . .\n{run}\n"), "DUI013") == []


# ---------------------------------------------------------------------------------------------
# DUI014 EXPOSE


@pytest.mark.parametrize(
    ("cmd", "port"),
    [
        ('CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]', "EXPOSE 8000"),
        ('CMD ["gunicorn", "app:app"]', "EXPOSE 8000"),
        ('CMD ["uvicorn", "main:app", "--port", "9000"]', "EXPOSE 9000"),
        ('CMD ["flask", "run", "--host=0.0.0.0"]', "EXPOSE 5000"),
        ('CMD ["python", "-m", "flask", "run", "--port=5001"]', "EXPOSE 5001"),
        ('CMD ["python", "manage.py", "runserver", "0.0.0.0:8080"]', "EXPOSE 8080"),
        ("CMD python app.py", "EXPOSE <port>"),
        ('CMD ["node", "server.js"]', "EXPOSE <port>"),
        ('CMD ["java", "-jar", "/app.jar"]', "EXPOSE <port>"),
        ('CMD ["busybox", "httpd", "-f", "-p", "80"]', "EXPOSE 80"),
        ('CMD ["nginx", "-g", "daemon off;"]', "EXPOSE 80"),
        (
            'ENTRYPOINT ["/docker-entrypoint.sh"]\nCMD ["gunicorn", "-b", ":7000", "a:b"]',
            "EXPOSE 7000",
        ),
        ('CMD ["sh", "-c", "exec uvicorn main:app --port $PORT"]', "EXPOSE 8000"),
    ],
)
def test_server_without_expose(cmd: str, port: str) -> None:
    text = CLEAN.replace("EXPOSE 8000\n", "").replace(
        'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]', cmd
    )
    found = only(text, "DUI014")
    assert len(found) == 1, lint_text(text)
    assert found[0].fix.startswith(port)
    assert found[0].severity == "info"


@pytest.mark.parametrize(
    "text",
    [
        CLEAN,
        CLEAN.replace("EXPOSE 8000\n", "").replace(
            'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]', 'CMD ["python", "worker.py"]'
        ),
        CLEAN.replace("EXPOSE 8000\n", "").replace(
            'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]', 'CMD ["celery", "-A", "x"]'
        ),
        'FROM nginx:1.27-alpine\nCOPY site /usr/share/nginx/html\nCMD ["nginx", "-g", "daemon off;"]\n',
        'FROM alpine:3.20 AS base\nEXPOSE 80\nFROM base\nUSER 1\nCMD ["httpd", "-f"]\n',
    ],
)
def test_expose_silent(text: str) -> None:
    assert only(text, "DUI014") == []


# ---------------------------------------------------------------------------------------------
# DUI015 apk


def test_apk_cache() -> None:
    text = "FROM alpine:3.20\nRUN apk add curl\nUSER 1\n"
    (found,) = only(text, "DUI015")
    assert found.line == 2 and found.fix == "apk add --no-cache curl"
    assert only(text.replace("apk add", "apk add --no-cache"), "DUI015") == []
    cleaned = "FROM alpine:3.20\nRUN apk update && apk add curl && rm -rf /var/cache/apk/*\n"
    assert only(cleaned, "DUI015") == []


# ---------------------------------------------------------------------------------------------
# suppression, ignore, heredocs


def test_inline_ignore_comment() -> None:
    text = "# needs root to bind port 80\n# dockui ignore=DUI003\nFROM debian:12-slim\n"
    assert only(text, "DUI003") == []
    assert only(text.replace("# dockui ignore=DUI003\n", ""), "DUI003") != []


def test_global_ignore_comment_and_ignore_argument() -> None:
    bad = (DATA / "bad-everything.Dockerfile").read_text()
    text = "# dockui global ignore=DUI010, DUI014\n" + bad
    assert {"DUI010", "DUI014"}.isdisjoint({f.rule for f in lint_text(text)})
    assert "DUI001" not in {f.rule for f in lint(parse(bad), ignore=["dui001"])}


def test_heredoc_script_is_linted() -> None:
    text = "FROM debian:12-slim\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nUSER 1\n"
    assert {f.rule for f in lint_text(text)} == {"DUI006", "DUI007"}
    python_body = (
        "FROM python:3.12-slim\nRUN python3 <<PY\nimport os; os.system('cd /x')\nPY\nUSER 1\n"
    )
    assert lint_text(python_body) == []


# ---------------------------------------------------------------------------------------------
# the shell reader


def test_shell_commands_split_operators_and_unwrap() -> None:
    script = (
        "set -eux; sudo -E apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y x "
        "2>&1 | tee /log || echo failed > /dev/null\n"
        "# a comment && rm -rf /\n"
        "if [ -f a ]; then cd /b; fi; (cd /c && make) & echo $(cd /d; pwd) `ls`"
    )
    names = [cmd.name for cmd in shell_commands(script)]
    assert names == [
        "set", "apt-get", "apt-get", "tee", "echo", "[", "cd", "cd", "make", "echo", "cd",
        "pwd", "ls",
    ]  # fmt: skip
    install = shell_commands(script)[2]
    assert install.assignments == ("DEBIAN_FRONTEND=noninteractive",)
    assert install.args == ("install", "-y", "x")
    assert install.subcommand() == "install"


def test_shell_commands_quotes_and_nested_shell() -> None:
    (echo,) = shell_commands("echo 'a && b' \"c; d\" e\\ f")
    assert echo.args == ("a && b", "c; d", "e f")
    nested = shell_commands("bash -c 'cd /x && pip install y'")
    assert [c.name for c in nested] == ["cd", "pip"]
    assert [c.name for c in shell_commands("env A=1 B=2 exec tini -- gunicorn app")] == ["gunicorn"]


def test_run_commands_of_exec_form() -> None:
    df = parse('FROM a:1\nRUN ["/bin/sh", "-c", "cd /x && make"]\nRUN ["pip", "install", "y"]\n')
    runs = [i for i in df.instructions if i.keyword == "RUN"]
    assert [c.name for c in run_commands(runs[0])] == ["cd", "make"]
    assert [c.words for c in run_commands(runs[1])] == [("pip", "install", "y")]


# ---------------------------------------------------------------------------------------------
# dockui lint


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = lint_cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "bad-everything.Dockerfile"
    code, out, err = run_cli([str(path)], capsys)
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}:2 DUI001 warning ")
    assert lines[1].startswith("    fix: Pin a version")
    assert f"{path}:3 DUI004 error   ENV DB_PASSWORD" in out
    assert "\x1b[" not in out  # not a terminal: no colour
    assert lines[-1].startswith(f"{path}: 16 findings (2 errors, 11 warnings, 3 info)")


def test_cli_clean_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "good-python.Dockerfile"
    assert run_cli([str(path)], capsys) == (0, f"{path}: no findings\n", "")


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([str(DATA / "bad-everything.Dockerfile"), "--json"], capsys)
    assert code == 1
    rows = json.loads(out)
    assert len(rows) == 16
    first = rows[0]
    assert {"id", "severity", "line", "message", "fix", "title", "file"} <= set(first)
    assert first["id"] == "DUI001" and first["line"] == 2
    assert first["title"] == RULES["DUI001"].title
    assert first["hadolint"] == ["DL3006"]  # untagged; `:latest` would be DL3007


@pytest.mark.parametrize(
    ("fail_on", "code"), [("error", 1), ("warning", 1), ("info", 1), ("none", 0)]
)
def test_cli_fail_on(fail_on: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / "bad-everything.Dockerfile")
    assert run_cli([path, "--fail-on", fail_on], capsys)[0] == code


def test_cli_fail_on_threshold_with_only_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(CLEAN.replace("EXPOSE 8000\n", ""))  # DUI014 is info
    assert run_cli([str(path)], capsys)[0] == 0
    assert run_cli([str(path), "--fail-on", "info"], capsys)[0] == 1


def test_cli_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / "bad-everything.Dockerfile")
    code, out, _ = run_cli(
        [path, "--json", "--ignore", "DUI001,dui002", "--ignore", "DUI004"], capsys
    )
    assert {row["id"] for row in json.loads(out)}.isdisjoint({"DUI001", "DUI002", "DUI004"})
    code, out, err = run_cli([path, "--ignore", "DUI999"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("dockui lint: unknown rule id 'DUI999'") and err.count("\n") == 1


def test_cli_missing_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli([], capsys) == (2, "", "dockui lint: no Dockerfile at ./Dockerfile\n")
    assert run_cli(["nope/Dockerfile"], capsys) == (
        2,
        "",
        "dockui lint: no Dockerfile at nope/Dockerfile\n",
    )


def test_cli_default_file_directory_and_containerfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Containerfile").write_text(CLEAN)
    assert run_cli([], capsys) == (0, "Containerfile: no findings\n", "")
    (tmp_path / "Dockerfile").write_text("FROM python\nUSER 1\n")
    code, out, _ = run_cli([], capsys)
    assert code == 1 and out.startswith("./Dockerfile:1 DUI001")
    code, out, _ = run_cli([str(tmp_path)], capsys)
    assert code == 1 and out.startswith(f"{tmp_path / 'Dockerfile'}:1 DUI001")


def test_cli_directory_named_dockerfile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ctx" / "Dockerfile").mkdir(parents=True)
    code, out, err = run_cli([str(tmp_path / "ctx")], capsys)
    assert code == 2 and out == "" and "is a directory" in err


def test_cli_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(CLEAN)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # chmod 0 does not stop root
    code, out, err = run_cli([str(path)], capsys)
    assert (code, out) == (2, "")
    assert err == f"dockui lint: cannot read {path}: permission denied\n"
    monkeypatch.setattr(
        Path, "read_bytes", lambda self: (_ for _ in ()).throw(OSError(5, "I/O error"))
    )
    code, _, err = run_cli([str(path)], capsys)
    assert code == 2 and err == f"dockui lint: cannot read {path}: I/O error\n"


def test_cli_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class FakeStdin:
        buffer = io.BytesIO(b"FROM python:latest\nUSER 1\n")

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    code, out, _ = run_cli(["-"], capsys)
    assert code == 1 and out.startswith("-:1 DUI001 warning")


def test_cli_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    args = lint_cli.build_parser().parse_args([str(DATA / "bad-everything.Dockerfile")])
    out = Terminal()
    assert lint_cli.run(args, stdout=out) == 1
    assert "\x1b[33mwarning\x1b[0m" in out.getvalue() and "\x1b[1mDUI001\x1b[0m" in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    lint_cli.run(args, stdout=plain)
    assert "\x1b[" not in plain.getvalue()


def test_cli_control_characters_are_neutralised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM python:3.12-slim\nENV API_KEY\x1b]0;pwned\x07=1\nUSER 1\n")
    _, out, _ = run_cli([str(path)], capsys)
    assert "\x1b" not in out and "\x07" not in out


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["--fail-on", "sometimes"], capsys)
    assert code == 2 and "invalid choice" in err


def test_cli_rules_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--rules"], capsys)
    assert code == 0
    assert out.splitlines()[1].startswith("DUI001 warning Base image without a tag")
    code, out, _ = run_cli(["--rules", "--json"], capsys)
    assert [row["id"] for row in json.loads(out)] == list(RULES)


def test_cli_subcommand_registration() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="dockui")
    lint_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lint", "x", "--json", "--fail-on", "error"])
    assert args.func is lint_cli.run and args.dockerfile == "x" and args.json


def test_cli_as_a_process_never_shows_a_traceback(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dockui.lint_cli", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr == f"dockui lint: no Dockerfile at {tmp_path / 'missing'}\n"


def test_lint_never_raises_on_garbage() -> None:
    import random

    rng = random.Random(99)
    pieces = [
        "FROM python\n", "FROM a:1 AS b\n", "RUN ", "CMD ", "ENTRYPOINT ", "COPY . .\n",
        "ADD x y\n", "USER root\n", "ENV A_KEY=1\n", "ARG TOKEN\n", "EXPOSE ", "<<EOF\n",
        "EOF\n", "\\\n", "&&", "||", "|", ";", "$(", ")", "`", "'", '"', "[", "]", "cd ",
        "apt-get install ", "pip install ", "apk add ", "sh -c ", "-r", "\n", " ", "#",
    ]  # fmt: skip
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        findings = lint_text(text)
        assert all(f.rule in RULES and f.line >= 1 for f in findings)
