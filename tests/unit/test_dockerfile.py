"""The Dockerfile parser: every construct BuildKit accepts, with physical line numbers, and
problems (never exceptions) for what it refuses."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dockui.engine.dockerfile import (
    Dockerfile,
    ImageRef,
    Stage,
    expand,
    parse,
    parse_file,
    parse_image_ref,
    parse_port_spec,
    split_words,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "dockerfiles"


def only(df: Dockerfile, keyword: str) -> list:
    return [instr for instr in df.instructions if instr.keyword == keyword]


# ---------------------------------------------------------------------------------------------
# directives


def test_directives_syntax_and_escape() -> None:
    df = parse("# syntax=docker/dockerfile:1.7\n# escape=`\nFROM alpine:3.20\n")
    assert df.syntax == "docker/dockerfile:1.7"
    assert df.escape == "`"
    assert [(d.name, d.value, d.line) for d in df.directives] == [
        ("syntax", "docker/dockerfile:1.7", 1),
        ("escape", "`", 2),
    ]
    assert df.problems == ()
    assert df.comments == ()  # directives are not comments


def test_directive_spacing_and_case() -> None:
    df = parse("#  SYNTAX = docker/dockerfile:1  \nFROM alpine:3.20\n")
    assert df.directive("syntax") == "docker/dockerfile:1"


def test_directives_end_at_first_comment_blank_line_or_instruction() -> None:
    after_comment = parse("# hello\n# escape=`\nFROM alpine:3.20\n")
    assert after_comment.escape == "\\" and after_comment.directives == ()
    assert [c.line for c in after_comment.comments] == [1, 2]
    after_blank = parse("\n# escape=`\nFROM alpine:3.20\n")
    assert after_blank.escape == "\\"
    after_instruction = parse("FROM alpine:3.20\n# syntax=x\n")
    assert after_instruction.syntax is None


def test_unknown_directive_ends_the_block_and_is_a_comment() -> None:
    df = parse("# foo=bar\n# escape=`\nFROM alpine:3.20\n")
    assert df.directives == ()
    assert df.escape == "\\"
    assert [c.text for c in df.comments] == ["foo=bar", "escape=`"]


def test_check_directive_is_known() -> None:
    df = parse("# check=skip=JSONArgsRecommended\n# escape=`\nFROM alpine:3.20\n")
    assert df.directive("check") == "skip=JSONArgsRecommended"
    assert df.escape == "`"


def test_duplicate_and_invalid_directives_are_problems() -> None:
    dup = parse("# escape=`\n# escape=\\\nFROM alpine:3.20\n")
    assert any("only one escape" in p.message and p.line == 2 for p in dup.problems)
    bad = parse("# escape=x\nFROM alpine:3.20\n")
    assert bad.escape == "\\"
    assert [p.line for p in bad.problems] == [1]
    assert "invalid escape" in bad.problems[0].message


def test_byte_order_mark_before_a_directive() -> None:
    df = parse("\ufeff# syntax=docker/dockerfile:1\nFROM alpine:3.20\n")
    assert df.syntax == "docker/dockerfile:1"
    assert df.instructions[0].line == 2


# ---------------------------------------------------------------------------------------------
# lines, comments, continuations


def test_line_numbers_skip_comments_and_blank_lines() -> None:
    df = parse("# a comment\n\nFROM alpine:3.20\n\n   # indented comment\nRUN echo hi\n")
    assert [(i.keyword, i.line, i.end_line) for i in df.instructions] == [
        ("FROM", 3, 3),
        ("RUN", 6, 6),
    ]
    assert [(c.line, c.text) for c in df.comments] == [(1, "a comment"), (5, "indented comment")]


def test_keywords_are_case_insensitive_and_kept_upper() -> None:
    df = parse("from alpine:3.20 as Base\nrun echo hi\n")
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN"]
    assert df.stage_names() == ["base"]


def test_continuation_joins_lines_and_keeps_physical_lines() -> None:
    text = "FROM debian:12\nRUN apt-get update \\\n    && apt-get install -y curl \\\n    && echo done\nUSER 1\n"
    df = parse(text)
    run = only(df, "RUN")[0]
    assert (run.line, run.end_line) == (2, 4)
    assert run.raw == "RUN apt-get update \\\n    && apt-get install -y curl \\\n    && echo done"
    assert run.command == "apt-get update     && apt-get install -y curl     && echo done"
    assert only(df, "USER")[0].line == 5


def test_comment_and_blank_lines_inside_a_continuation_are_skipped() -> None:
    text = (
        "FROM debian:12\n"
        "RUN apt-get update \\\n"
        "    # install curl\n"
        "    && apt-get install -y curl \\\n"
        "\n"
        "    && echo done\n"
        'CMD ["bash"]\n'
    )
    df = parse(text)
    run = only(df, "RUN")[0]
    assert (run.line, run.end_line) == (2, 6)
    assert "install curl" not in run.command
    assert " ".join(run.command.split()) == "apt-get update && apt-get install -y curl && echo done"
    assert only(df, "CMD")[0].line == 7
    assert df.problems == ()


def test_blanks_after_the_continuation_character() -> None:
    df = parse("FROM debian:12\nRUN echo a \\   \n    b\n")
    run = only(df, "RUN")[0]
    assert run.end_line == 3
    assert run.command.split() == ["echo", "a", "b"]


def test_continuation_at_end_of_file_is_a_problem_not_a_crash() -> None:
    df = parse("FROM debian:12\nRUN echo a \\\n")
    assert only(df, "RUN")[0].command.strip() == "echo a"
    assert [p.line for p in df.problems] == [2]


def test_crlf_line_endings() -> None:
    df = parse("FROM debian:12\r\nRUN echo a \\\r\n    b\r\nUSER 1\r\n")
    assert [(i.keyword, i.line) for i in df.instructions] == [
        ("FROM", 1),
        ("RUN", 2),
        ("USER", 4),
    ]
    assert only(df, "USER")[0].args == ("1",)


def test_backtick_escape_directive() -> None:
    df = parse_file(DATA / "windows-escape.Dockerfile")
    assert df.escape == "`"
    assert df.problems == ()
    run = only(df, "RUN")[0]
    assert (run.line, run.end_line) == (4, 6)
    assert "a comment" not in run.command
    assert "Set-Content C:\\app\\hello.txt" in run.command
    copy = only(df, "COPY")[0]
    assert copy.args == ("testfile.txt", "c:\\")  # a backslash is literal with ` escape
    assert only(df, "WORKDIR")[0].args == ("C:\\app",)
    assert df.exposed_ports() == [(8080, "tcp")]
    shell = only(df, "SHELL")[0]
    assert shell.json_form and shell.args[0] == "powershell"


def test_backslash_does_not_continue_with_backtick_escape() -> None:
    df = parse("# escape=`\nFROM x:1\nRUN dir c:\\\nUSER 1\n")
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN", "USER"]


# ---------------------------------------------------------------------------------------------
# heredocs


def test_run_heredoc_body_and_lines() -> None:
    text = "FROM debian:12\nRUN <<EOF\napt-get update\nFROM not-an-instruction\nEOF\nUSER 1\n"
    df = parse(text)
    run = only(df, "RUN")[0]
    assert (run.line, run.end_line) == (2, 5)
    (heredoc,) = run.heredocs
    assert heredoc.name == "EOF"
    assert heredoc.body == "apt-get update\nFROM not-an-instruction"
    assert (heredoc.line, heredoc.end_line) == (3, 5)
    assert len(df.stages) == 1  # the FROM inside the body is not a stage
    assert only(df, "USER")[0].line == 6


def test_heredoc_with_dash_strips_tabs_and_quoted_name() -> None:
    text = 'FROM debian:12\nCOPY <<-"END" /etc/motd\n\thello\n\t\tworld\n\tEND\nRUN true\n'
    df = parse(text)
    copy = only(df, "COPY")[0]
    (heredoc,) = copy.heredocs
    assert heredoc.strip_tabs and heredoc.quoted
    assert heredoc.body == "hello\nworld"
    assert copy.args == ("<<-END", "/etc/motd")
    assert only(df, "RUN")[0].line == 6


def test_two_heredocs_on_one_line_and_fd() -> None:
    text = "FROM debian:12\nRUN <<A 3<<B cat /dev/fd/3\nbody a\nA\nbody b\nB\nUSER 1\n"
    df = parse(text)
    run = only(df, "RUN")[0]
    assert [(h.name, h.body, h.fd) for h in run.heredocs] == [
        ("A", "body a", None),
        ("B", "body b", 3),
    ]
    assert run.end_line == 6


def test_heredoc_program_with_arguments() -> None:
    df = parse("FROM python:3.12-slim\nRUN python3 <<PY\nprint('hi')\nPY\n")
    run = only(df, "RUN")[0]
    assert run.command == "python3 <<PY"
    assert run.heredocs[0].body == "print('hi')"


def test_quoted_heredoc_marker_is_not_a_heredoc() -> None:
    df = parse('FROM debian:12\nRUN echo "<<EOF"\nUSER 1\n')
    assert only(df, "RUN")[0].heredocs == ()
    assert only(df, "USER")[0].line == 3


def test_unterminated_heredoc_is_a_problem() -> None:
    df = parse("FROM debian:12\nRUN <<EOF\necho hi\n")
    assert [p.line for p in df.problems] == [2]
    assert "unterminated heredoc" in df.problems[0].message


def test_heredoc_not_recognised_for_other_instructions() -> None:
    df = parse("FROM debian:12\nLABEL a=<<EOF\nUSER 1\n")
    assert [i.keyword for i in df.instructions] == ["FROM", "LABEL", "USER"]


# ---------------------------------------------------------------------------------------------
# ARG, FROM and stages


def test_arg_before_from_resolves_the_base() -> None:
    text = "ARG BASE=python\nARG TAG=3.12-slim\nFROM ${BASE}:${TAG} AS app\n"
    df = parse(text)
    assert df.global_args == {"BASE": "python", "TAG": "3.12-slim"}
    (stage,) = df.stages
    assert stage.base.text == "python:3.12-slim"
    assert stage.base.tag == "3.12-slim"
    assert only(df, "ARG")[0].stage == -1
    assert df.problems == ()


def test_arg_without_default_leaves_the_base_unresolved() -> None:
    df = parse("ARG BASE\nFROM $BASE\n")
    assert df.global_args == {"BASE": None}
    assert df.stages[0].base.has_variables


def test_default_form_in_from() -> None:
    df = parse("ARG VARIANT\nFROM python:${VARIANT:-3.12-slim}\n")
    assert df.stages[0].base.text == "python:3.12-slim"


def test_stages_names_indexes_parents_and_platform() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n"
        "RUN go build -o /app\n"
        "FROM build AS test\n"
        "RUN go test ./...\n"
        "FROM gcr.io/distroless/static:nonroot\n"
        "COPY --from=build /app /app\n"
    )
    df = parse(text)
    stages = df.stages
    assert [(s.index, s.name, s.base.text, s.line, s.parent) for s in stages] == [
        (0, "build", "golang:1.22", 1, None),
        (1, "test", "build", 3, 0),
        (2, None, "gcr.io/distroless/static:nonroot", 5, None),
    ]
    assert stages[0].platform == "$BUILDPLATFORM"
    assert df.stage_names() == ["build", "test"]
    assert [i.keyword for i in stages[0].instructions] == ["FROM", "RUN"]
    assert all(i.stage == 2 for i in stages[2].instructions)
    assert df.final_stage is stages[2]
    assert (
        df.stage("BUILD") is stages[0] and df.stage(1) is stages[1] and df.stage("2") is stages[2]
    )
    assert df.stage("nope") is None and df.stage(7) is None
    assert [s.index for s in df.lineage(1)] == [0, 1]
    assert isinstance(stages[0], Stage)


def test_copy_from_stage_index_or_image() -> None:
    text = (
        "FROM alpine:3.20 AS tools\n"
        "FROM debian:12\n"
        "COPY --from=tools /bin/busybox /bin/\n"
        "COPY --from=0 /etc/os-release /tmp/\n"
        "COPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/\n"
        "COPY --chown=1000:1000 --link a b\n"
    )
    df = parse(text)
    copies = only(df, "COPY")
    assert df.copy_source(copies[0]) is df.stages[0]
    assert df.copy_source(copies[1]) is df.stages[0]
    image = df.copy_source(copies[2])
    assert isinstance(image, ImageRef) and image.tag == "1.27"
    assert df.copy_source(copies[3]) is None
    assert copies[3].flag("chown") == "1000:1000"
    assert copies[3].flag("link") == ""  # a bare flag
    assert copies[3].flag("from") is None
    assert copies[3].args == ("a", "b")


def test_duplicate_and_invalid_stage_names() -> None:
    dup = parse("FROM alpine:3.20 AS a\nFROM alpine:3.20 AS A\n")
    assert any("duplicate stage name" in p.message and p.line == 2 for p in dup.problems)
    bad = parse("FROM alpine:3.20 AS 1st\n")
    assert any("invalid stage name" in p.message for p in bad.problems)
    wrong = parse("FROM alpine:3.20 named x\n")
    assert any("FROM takes an image" in p.message for p in wrong.problems)


def test_no_from_and_instruction_before_from() -> None:
    df = parse("RUN echo hi\n")
    messages = [p.message for p in df.problems]
    assert any("before the first FROM" in m for m in messages)
    assert any("no FROM" in m for m in messages)
    assert df.stages == [] and df.final_stage is None
    assert df.exposed_ports() == [] and df.stage_names() == []


def test_empty_file() -> None:
    df = parse("")
    assert df.instructions == ()
    assert [p.message for p in df.problems] == ["the Dockerfile has no instructions"]
    assert parse("# only a comment\n\n").problems[0].line == 1


def test_unknown_instruction_is_a_problem_and_the_rest_still_parses() -> None:
    df = parse("FROM alpine:3.20\nRUNN echo hi\nUSER 1000\n")
    assert [(p.line, p.message) for p in df.problems] == [(2, "unknown instruction: RUNN")]
    assert [i.keyword for i in df.instructions] == ["FROM", "USER"]


# ---------------------------------------------------------------------------------------------
# image references


@pytest.mark.parametrize(
    ("text", "registry", "path", "tag", "digest", "official"),
    [
        ("python", None, "python", None, None, "python"),
        ("python:3.12-slim", None, "python", "3.12-slim", None, "python"),
        ("library/python:3", None, "library/python", "3", None, "python"),
        ("docker.io/library/node:20", "docker.io", "library/node", "20", None, "node"),
        ("bitnami/redis:7", None, "bitnami/redis", "7", None, None),
        ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None, None),
        ("ghcr.io/acme/python:3.12", "ghcr.io", "acme/python", "3.12", None, None),
        (
            "alpine:3.20@sha256:abc",
            None,
            "alpine",
            "3.20",
            "sha256:abc",
            "alpine",
        ),
        ("alpine@sha256:abc", None, "alpine", None, "sha256:abc", "alpine"),
        ("localhost/app", "localhost", "app", None, None, None),
    ],
)
def test_image_refs(
    text: str,
    registry: str | None,
    path: str,
    tag: str | None,
    digest: str | None,
    official: str | None,
) -> None:
    ref = parse_image_ref(text)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)
    assert ref.official_name == official
    assert str(ref) == text


def test_image_ref_helpers() -> None:
    ref = parse_image_ref("ghcr.io/acme/app:1.0@sha256:abc")
    assert ref.repository == "ghcr.io/acme/app"
    assert ref.with_tag("2.0") == "ghcr.io/acme/app:2.0"
    assert parse_image_ref("SCRATCH").is_scratch
    assert parse_image_ref("$X").has_variables


# ---------------------------------------------------------------------------------------------
# exec form, shell form, flags


def test_exec_and_shell_form() -> None:
    text = (
        "FROM python:3.12-slim\n"
        'RUN ["pip", "install", "flask"]\n'
        "RUN pip install flask\n"
        'CMD ["python", "app.py"]\n'
        "ENTRYPOINT ['python']\n"  # not JSON: shell form, as Docker decides
        "CMD python app.py\n"
    )
    df = parse(text)
    run_exec, run_shell = only(df, "RUN")
    assert run_exec.json_form and run_exec.args == ("pip", "install", "flask")
    assert run_shell.shell_form and run_shell.args == ("pip install flask",)
    assert run_exec.command == run_shell.command == "pip install flask"
    cmd_exec, cmd_shell = only(df, "CMD")
    assert cmd_exec.json_form and cmd_exec.args == ("python", "app.py")
    assert not cmd_shell.json_form and cmd_shell.args == ("python app.py",)
    entry = only(df, "ENTRYPOINT")[0]
    assert not entry.json_form and entry.args == ("['python']",)


def test_json_with_non_strings_is_shell_form() -> None:
    df = parse('FROM alpine:3.20\nCMD ["sleep", 5]\n')
    assert not only(df, "CMD")[0].json_form


def test_run_flags() -> None:
    text = (
        "FROM python:3.12-slim\n"
        "RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=tok "
        "--network=none pip install -r requirements.txt\n"
    )
    run = only(parse(text), "RUN")[0]
    assert run.flag_values("mount") == [
        "type=cache,target=/root/.cache/pip",
        "type=secret,id=tok",
    ]
    assert run.flag("network") == "none"
    assert run.command == "pip install -r requirements.txt"


def test_flag_values_may_be_quoted() -> None:
    run = only(parse('FROM a:1\nRUN --mount="type=bind,source=a b" echo\n'), "RUN")[0]
    assert run.flag("mount") == "type=bind,source=a b"
    assert run.command == "echo"


def test_shell_must_be_json() -> None:
    df = parse("FROM alpine:3.20\nSHELL /bin/bash -c\n")
    assert any("SHELL must be a JSON list" in p.message for p in df.problems)


def test_copy_json_form_and_too_few_arguments() -> None:
    df = parse('FROM alpine:3.20\nCOPY ["a b", "/dst/"]\nCOPY onlyone\n')
    copy = only(df, "COPY")[0]
    assert copy.json_form and copy.args == ("a b", "/dst/")
    assert any("COPY needs" in p.message and p.line == 3 for p in df.problems)


def test_healthcheck_and_onbuild() -> None:
    text = (
        "FROM alpine:3.20\n"
        "HEALTHCHECK --interval=30s CMD wget -qO- http://localhost/ || exit 1\n"
        'HEALTHCHECK CMD ["true"]\n'
        "HEALTHCHECK NONE\n"
        "ONBUILD RUN echo triggered\n"
        "ONBUILD FROM x\n"
    )
    df = parse(text)
    health = only(df, "HEALTHCHECK")
    assert health[0].flag("interval") == "30s"
    assert health[0].args == ("CMD", "wget -qO- http://localhost/ || exit 1")
    assert health[1].json_form and health[1].args == ("CMD", "true")
    assert health[2].args == ("NONE",)
    onbuild = only(df, "ONBUILD")
    assert onbuild[0].trigger is not None and onbuild[0].trigger.keyword == "RUN"
    assert onbuild[0].trigger.command == "echo triggered"
    assert any("not allowed as an ONBUILD trigger" in p.message for p in df.problems)


def test_split_words() -> None:
    assert split_words("a \"b c\" 'd e' f\\ g") == ["a", "b c", "d e", "f g"]
    assert split_words("c:\\dir x", escape="`") == ["c:\\dir", "x"]


# ---------------------------------------------------------------------------------------------
# ENV, LABEL, ARG


def test_env_forms() -> None:
    text = (
        "FROM alpine:3.20\n"
        "ENV A=1 B=\"two words\" C='single' D=a\\ b\n"
        "ENV LEGACY some value  with spaces\n"
        "ENV E=\n"
        "ENV F\n"
        "ENV =x\n"
    )
    df = parse(text)
    envs = only(df, "ENV")
    assert envs[0].pairs == (("A", "1"), ("B", "two words"), ("C", "single"), ("D", "a b"))
    assert envs[1].pairs == (("LEGACY", "some value  with spaces"),)
    assert envs[2].pairs == (("E", ""),)
    assert [p.line for p in df.problems] == [5, 6]


def test_label_and_arg_pairs() -> None:
    text = (
        'FROM alpine:3.20\nLABEL org.opencontainers.image.title="my app" version=1\nARG A B=2 C=\n'
    )
    df = parse(text)
    assert only(df, "LABEL")[0].pairs == (
        ("org.opencontainers.image.title", "my app"),
        ("version", "1"),
    )
    assert only(df, "ARG")[0].pairs == (("A", None), ("B", "2"), ("C", ""))


# ---------------------------------------------------------------------------------------------
# EXPOSE


def test_expose_forms() -> None:
    df = parse("FROM alpine:3.20\nEXPOSE 80 80/tcp 53/udp 8000-8002 443/TCP 9000/sctp\n")
    assert df.exposed_ports() == [
        (80, "tcp"),
        (53, "udp"),
        (8000, "tcp"),
        (8001, "tcp"),
        (8002, "tcp"),
        (443, "tcp"),
        (9000, "sctp"),
    ]
    assert df.problems == ()


def test_expose_variables_from_env_and_args() -> None:
    text = (
        "ARG METRICS=9100\n"
        "FROM alpine:3.20\n"
        "ARG METRICS\n"
        "ARG PORT=8080\n"
        "ENV ADMIN=${PORT}1\n"
        "EXPOSE $PORT ${ADMIN}/udp $METRICS $UNKNOWN ${DEFAULTED:-7000}\n"
    )
    ports = parse(text).exposed_ports()
    # 80801 is out of range and dropped; $UNKNOWN cannot be resolved and is left out
    assert ports == [(8080, "tcp"), (9100, "tcp"), (7000, "tcp")]


def test_global_arg_is_not_visible_without_redeclaring() -> None:
    df = parse("ARG PORT=8080\nFROM alpine:3.20\nEXPOSE $PORT\n")
    assert df.exposed_ports() == []


def test_expose_of_the_final_stage_and_its_parents_only() -> None:
    text = (
        "FROM alpine:3.20 AS base\nEXPOSE 80\nENV P=9000\n"
        "FROM alpine:3.20 AS other\nEXPOSE 5432\n"
        "FROM base\nEXPOSE $P 80\n"
    )
    df = parse(text)
    assert df.exposed_ports() == [(80, "tcp"), (9000, "tcp")]
    assert df.exposed_ports(1) == [(5432, "tcp")]
    assert df.exposed_ports(df.stages[0]) == [(80, "tcp")]


@pytest.mark.parametrize("bad", ["abc", "0", "70000", "80/xyz", "90-80", "127.0.0.1:80:80", ""])
def test_invalid_port_specs(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_port_spec(bad)


def test_invalid_expose_is_a_problem() -> None:
    df = parse("FROM alpine:3.20\nEXPOSE 80 http 70000\n")
    assert [p.line for p in df.problems] == [2, 2]
    assert df.exposed_ports() == [(80, "tcp")]


def test_expand() -> None:
    env = {"A": "1", "EMPTY": "", "NONE": None}
    assert expand("$A-${A}", env) == "1-1"
    assert expand("${EMPTY:-d} ${EMPTY-d}", env) == "d "
    assert expand("${A:+yes}${MISSING:+no}", env) == "yes"
    assert expand("${MISSING}", env) is None
    assert expand("$NONE", env) is None
    assert expand("${NONE:-x}", env) == "x"
    assert expand("no vars", {}) == "no vars"


# ---------------------------------------------------------------------------------------------
# robustness and files


def test_parse_never_raises_on_garbage() -> None:
    rng = random.Random(1234)
    alphabet = "FROMRUNCOPY \t\n\\`#<>\"'[]{}$=-:/@EOF\x00\x1b\r" + "abcxyz019"
    keywords = ["FROM a:1", "RUN x", "COPY a b", "<<EOF", "EOF", "\\", "# escape=`", "EXPOSE"]
    for _ in range(400):
        parts = [
            rng.choice(keywords) if rng.random() < 0.3 else rng.choice(alphabet)
            for _ in range(rng.randint(0, 80))
        ]
        df = parse("".join(parts))
        assert isinstance(df, Dockerfile)
        assert isinstance(df.stages, list) and isinstance(df.stage_names(), list)
        assert isinstance(df.exposed_ports(), list)


def test_parse_file(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b'FROM alpine:3.20\nLABEL note="caf\xe9"\n')  # not UTF-8
    df = parse_file(path)
    assert df.instructions[1].pairs == (("note", "caf\ufffd"),)
    with pytest.raises(OSError):
        parse_file(tmp_path / "missing")


def test_fixture_stage_names_and_ports() -> None:
    go = parse_file(DATA / "good-go-multistage.Dockerfile")
    assert go.stage_names() == ["build", "runtime"]
    assert go.stages[0].base.text == "golang:1.22-bookworm"
    assert go.exposed_ports() == [(8080, "tcp")]
    python = parse_file(DATA / "good-python.Dockerfile")
    assert python.stage_names() == []
    assert python.exposed_ports() == [(80, "tcp")]
    assert python.syntax == "docker/dockerfile:1"
    heredoc = parse_file(DATA / "good-heredoc.Dockerfile")
    assert only(heredoc, "RUN")[0].heredocs[0].body.startswith("set -eux")
    for path in DATA.glob("*.Dockerfile"):
        df = parse_file(path)
        expected_problems = path.name.startswith("broken")
        assert bool(df.problems) == expected_problems, (path.name, df.problems)
