"""Build: the stream parsers on recorded engine / CLI output, request validation, the
context size after .dockerignore, and the BuildKit CLI discovery. No engine needed."""

from __future__ import annotations

import io
import itertools
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from dockui.engine.build import (
    Build,
    BuildCancelled,
    BuildFailed,
    BuildKitLineParser,
    BuildNote,
    BuildRequest,
    BuildSucceeded,
    ContextInfo,
    LegacyStreamParser,
    SendingContext,
    StepCached,
    StepFinished,
    StepOutput,
    StepStarted,
    _plan,
    cli_argv,
    context_size,
    find_buildkit_cli,
    split_reference,
    stage_names,
    validate,
    validate_tag,
    warn_large,
)


def ticking() -> itertools.count:
    """A clock that advances one second per reading."""
    return itertools.count(0.0, 1.0).__next__


def feed_all(parser: LegacyStreamParser, messages: list[dict]) -> list:
    events = []
    for msg in messages:
        events.extend(parser.feed(msg))
    events.extend(parser.end())
    return events


# Recorded from Docker 20.10's legacy builder (API 1.41): a first build ...
FIRST_BUILD = [
    {"stream": "Step 1/6 : FROM dockui-test/busybox"},
    {"stream": "\n"},
    {"stream": " ---> e8c2a1b49439\n"},
    {"stream": "Step 2/6 : COPY index.html /www/"},
    {"stream": "\n"},
    {"stream": " ---> f61e579f02f5\n"},
    {"stream": "Step 3/6 : RUN echo one; echo -n partial; sleep 1; echo two >&2"},
    {"stream": "\n"},
    {"stream": " ---> Running in bfe384ad8c86\n"},
    {"stream": "one\npartial"},
    {"stream": "\u001b[91mtwo\n\u001b[0m"},
    {"stream": "Removing intermediate container bfe384ad8c86\n"},
    {"stream": " ---> 6d014811bacb\n"},
    {"stream": "Step 4/6 : EXPOSE 80"},
    {"stream": "\n"},
    {"stream": " ---> Running in 2a646b022167\n"},
    {"stream": "Removing intermediate container 2a646b022167\n"},
    {"stream": " ---> 860fd922bc29\n"},
    {"stream": 'Step 5/6 : CMD ["httpd","-f","-p","80","-h","/www"]'},
    {"stream": "\n"},
    {"stream": " ---> Running in 58106210bc53\n"},
    {"stream": "Removing intermediate container 58106210bc53\n"},
    {"stream": " ---> bebe7d0f6dac\n"},
    {"stream": "Step 6/6 : LABEL dockui.test=1"},
    {"stream": "\n"},
    {"stream": " ---> Running in 7fba79957bdc\n"},
    {"stream": "Removing intermediate container 7fba79957bdc\n"},
    {"stream": " ---> f69124b60e90\n"},
    {"aux": {"ID": "sha256:f69124b60e900f1fbb626f5c993ae20911d568d53c683c311331c4e94420602e"}},
    {"stream": "Successfully built f69124b60e90\n"},
    {"stream": "Successfully tagged dockui-cap/x:1\n"},
]

# ... the same build again: every step after FROM is a cache hit.
REBUILD = [
    {"stream": "Step 1/6 : FROM dockui-test/busybox"},
    {"stream": "\n"},
    {"stream": " ---> e8c2a1b49439\n"},
    *[
        msg
        for n, instr, layer in [
            (2, "COPY index.html /www/", "f61e579f02f5"),
            (3, "RUN echo one; echo -n partial; sleep 1; echo two >&2", "6d014811bacb"),
            (4, "EXPOSE 80", "860fd922bc29"),
            (5, 'CMD ["httpd","-f","-p","80","-h","/www"]', "bebe7d0f6dac"),
            (6, "LABEL dockui.test=1", "f69124b60e90"),
        ]
        for msg in (
            {"stream": f"Step {n}/6 : {instr}"},
            {"stream": "\n"},
            {"stream": " ---> Using cache\n"},
            {"stream": f" ---> {layer}\n"},
        )
    ],
    {"aux": {"ID": "sha256:f69124b60e900f1fbb626f5c993ae20911d568d53c683c311331c4e94420602e"}},
    {"stream": "Successfully built f69124b60e90\n"},
    {"stream": "Successfully tagged dockui-cap/x:1\n"},
]

FAIL_AT_STEP_3 = [
    {"stream": "Step 1/5 : FROM dockui-test/busybox"},
    {"stream": "\n"},
    {"stream": " ---> e8c2a1b49439\n"},
    {"stream": "Step 2/5 : RUN echo a"},
    {"stream": "\n"},
    {"stream": " ---> Running in bdf849eecfaf\n"},
    {"stream": "a\n"},
    {"stream": "Removing intermediate container bdf849eecfaf\n"},
    {"stream": " ---> ee0d6de12932\n"},
    {"stream": "Step 3/5 : RUN echo failing; exit 3"},
    {"stream": "\n"},
    {"stream": " ---> Running in 781db24c18a8\n"},
    {"stream": "failing\n"},
    {"stream": "Removing intermediate container 781db24c18a8\n"},
    {
        "errorDetail": {
            "code": 3,
            "message": "The command '/bin/sh -c echo failing; exit 3' returned a non-zero code: 3",
        },
        "error": "The command '/bin/sh -c echo failing; exit 3' returned a non-zero code: 3",
    },
]

PULL_FAILURE = [
    {"stream": "Step 1/3 : FROM nosuchimage/foo:1.0"},
    {"stream": "\n"},
    {
        "errorDetail": {
            "message": 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
            "registry-1.docker.io on 10.255.255.53:53: no such host"
        },
        "error": 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
        "registry-1.docker.io on 10.255.255.53:53: no such host",
    },
]


def test_first_build_reports_steps_output_layers_and_success():
    parser = LegacyStreamParser(clock=ticking())
    events = feed_all(parser, FIRST_BUILD)
    started = [e for e in events if isinstance(e, StepStarted)]
    assert [(e.index, e.total) for e in started] == [(i, 6) for i in range(1, 7)]
    assert started[2].instruction == "RUN echo one; echo -n partial; sleep 1; echo two >&2"
    finished = [e for e in events if isinstance(e, StepFinished)]
    assert [e.layer_id for e in finished] == [
        "e8c2a1b49439",
        "f61e579f02f5",
        "6d014811bacb",
        "860fd922bc29",
        "bebe7d0f6dac",
        "f69124b60e90",
    ]
    assert all(e.duration_s > 0 for e in finished)
    # Output split across messages is joined; stderr colouring is removed.
    assert [(e.index, e.line) for e in events if isinstance(e, StepOutput)] == [
        (3, "one"),
        (3, "partialtwo"),
    ]
    assert not any(isinstance(e, StepCached) for e in events)
    assert BuildNote("Successfully tagged dockui-cap/x:1") in events
    # A step's events come in order: started, (output), finished.
    order = [(type(e).__name__, getattr(e, "index", None)) for e in events]
    assert order.index(("StepStarted", 3)) < order.index(("StepOutput", 3))
    assert order.index(("StepOutput", 3)) < order.index(("StepFinished", 3))
    outcome = parser.outcome(tags=("dockui-cap/x:1",), size_bytes=1985484)
    assert isinstance(outcome, BuildSucceeded)
    assert outcome.image_id.startswith("sha256:f69124b60e90")
    assert (outcome.cached_steps, outcome.total_steps, outcome.size_bytes) == (0, 6, 1985484)


def test_rebuild_marks_every_step_after_from_as_cached():
    parser = LegacyStreamParser(clock=ticking())
    events = feed_all(parser, REBUILD)
    assert [e.index for e in events if isinstance(e, StepCached)] == [2, 3, 4, 5, 6]
    assert len([e for e in events if isinstance(e, StepFinished)]) == 6
    outcome = parser.outcome()
    assert isinstance(outcome, BuildSucceeded)
    assert (outcome.cached_steps, outcome.total_steps) == (5, 6)


def test_failure_in_step_3_names_the_step_the_code_and_the_output():
    parser = LegacyStreamParser(clock=ticking())
    events = feed_all(parser, FAIL_AT_STEP_3)
    assert not any(isinstance(e, StepFinished) and e.index == 3 for e in events)
    failure = parser.outcome()
    assert isinstance(failure, BuildFailed)
    assert failure.step_index == 3
    assert failure.instruction == "RUN echo failing; exit 3"
    assert failure.error_sentence == (
        "Step 3/5 (RUN echo failing; exit 3) failed: the command exited with code 3."
    )
    assert failure.output_tail == ("failing",)


def test_copy_failure_keeps_the_engines_reason():
    parser = LegacyStreamParser()
    feed_all(
        parser,
        [
            {"stream": "Step 1/3 : FROM dockui-test/busybox"},
            {"stream": "\n"},
            {"stream": " ---> e8c2a1b49439\n"},
            {"stream": "Step 2/3 : COPY missing.txt /"},
            {"stream": "\n"},
            {
                "errorDetail": {"message": "COPY failed: file not found in build context"},
                "error": "COPY failed: file not found in build context",
            },
        ],
    )
    failure = parser.outcome()
    assert isinstance(failure, BuildFailed) and failure.step_index == 2
    assert failure.error_sentence == (
        "Step 2/3 (COPY missing.txt /) failed: COPY failed: file not found in build context."
    )


def test_pull_failure_says_no_registry_is_reachable():
    parser = LegacyStreamParser()
    feed_all(parser, PULL_FAILURE)
    failure = parser.outcome()
    assert isinstance(failure, BuildFailed)
    assert failure.step_index == 1 and failure.instruction == "FROM nosuchimage/foo:1.0"
    assert failure.error_sentence.startswith(
        "Cannot pull base image nosuchimage/foo:1.0: no registry is reachable"
    )
    assert "registry-1.docker.io" in failure.error_sentence


def test_pull_progress_lines_and_access_denied():
    parser = LegacyStreamParser()
    events = feed_all(
        parser,
        [
            {"stream": "Step 1/2 : FROM --platform=linux/amd64 private/app:2 AS base"},
            {"stream": "\n"},
            {"status": "Pulling from private/app", "id": "2"},
            {"status": "Pulling fs layer", "progressDetail": {}, "id": "a1b2"},
            {"status": "Downloading", "progressDetail": {"current": 5, "total": 10}, "id": "a1b2"},
            {"status": "Downloading", "progressDetail": {"current": 9, "total": 10}, "id": "a1b2"},
            {
                "errorDetail": {"message": "pull access denied for private/app"},
                "error": "pull access denied for private/app, repository does not exist",
            },
        ],
    )
    outputs = [e.line for e in events if isinstance(e, StepOutput)]
    assert outputs == ["2: Pulling from private/app", "a1b2: Pulling fs layer"]
    failure = parser.outcome()
    assert failure.error_sentence == (
        "Cannot pull base image private/app:2: the repository does not exist or needs "
        "`docker login`."
    )


def test_buildkit_style_messages_and_junk_never_crash():
    parser = LegacyStreamParser()
    events = feed_all(
        parser,
        [
            {"id": "moby.buildkit.trace", "aux": "CmQKR3NoYTI1NjpkZWFkYmVlZg=="},
            {"id": "moby.buildkit.trace", "aux": {"weird": True}},
            "not a dict",  # type: ignore[list-item]
            {},
            {"stream": ""},
            {"stream": None},
            {"status": None},
            {"id": "moby.image.id", "aux": {"ID": "sha256:" + "ab" * 32}},
        ],
    )
    assert events == []
    assert parser.image_id == "sha256:" + "ab" * 32
    assert isinstance(parser.outcome(), BuildSucceeded)


def test_stream_that_ends_without_an_image_is_a_failure():
    parser = LegacyStreamParser()
    feed_all(parser, FIRST_BUILD[:10])
    failure = parser.outcome()
    assert isinstance(failure, BuildFailed)
    assert failure.step_index == 3
    assert "ended before an image was made" in failure.error_sentence


def test_hostile_output_is_cleaned_and_progress_redraws_keep_the_last_frame():
    parser = LegacyStreamParser()
    events = feed_all(
        parser,
        [
            {"stream": "Step 1/2 : RUN evil\n"},
            {"stream": " ---> Running in abc\n"},
            {"stream": "\x1b]0;pwned\x07title\x1b[2Jclear\n"},
            {"stream": "10%\r50%\r100%\n"},
            {"stream": "no newline at the end"},
        ],
    )
    assert [e.line for e in events if isinstance(e, StepOutput)] == [
        "titleclear",
        "100%",
        "no newline at the end",
    ]


def test_an_error_outside_any_step_is_one_sentence():
    parser = LegacyStreamParser()
    feed_all(
        parser,
        [
            {"errorDetail": {"message": "dockerfile parse error line 2: unknown instruction: FOO"}},
        ],
    )
    failure = parser.outcome()
    assert failure == BuildFailed(
        None, None, "Dockerfile parse error line 2: unknown instruction: FOO.", ()
    )


# ----------------------------------------------------------------------- BuildKit (CLI)

# Recorded from `DOCKER_BUILDKIT=1 docker build --progress=plain` (CLI 20.10).
BK_CACHED = """\
#1 [internal] load build definition from Dockerfile
#1 sha256:493e6d449ca30d0e66b9bbeb777c25e5c3788cc91ae652e1105330545561e811
#1 transferring dockerfile: 190B done
#1 DONE 0.0s

#2 [internal] load .dockerignore
#2 transferring context: 2B done
#2 DONE 0.0s

#3 [internal] load metadata for docker.io/dockui-test/busybox:latest
#3 DONE 0.0s

#4 [1/3] FROM docker.io/dockui-test/busybox
#4 sha256:ec4b8a3832b89c424a3acceb5c6077bc92ebdcec647309fa1065009b85b7de13
#4 DONE 0.1s

#5 [internal] load build context
#5 transferring context: 49B done
#5 DONE 0.1s

#6 [2/3] COPY index.html /www/
#6 CACHED

#7 [3/3] RUN echo one; echo -n partial; sleep 1; echo two >&2
#7 0.390 one
#7 0.391 partialtwo
#7 DONE 1.4s

#8 exporting to image
#8 exporting layers 0.1s done
#8 writing image sha256:370ff3a3b29330f2e1b61becc7b0b5d9b94fb37e2c0b602f03f120518ec7dd53 done
#8 naming to docker.io/dockui-cap/bk:1 done
#8 DONE 0.1s
"""

BK_FAIL_CLASSIC = """\
#4 [1/4] FROM docker.io/dockui-test/busybox
#4 CACHED

#5 [2/4] RUN echo a
#5 0.217 a
#5 DONE 0.2s

#6 [3/4] RUN echo failing; exit 3
#6 0.272 failing
#6 ERROR: executor failed running [/bin/sh -c echo failing; exit 3]: exit code: 3
------
 > [3/4] RUN echo failing; exit 3:
------
executor failed running [/bin/sh -c echo failing; exit 3]: exit code: 3
"""

# The same failure as buildx 0.1x prints it.
BK_FAIL_BUILDX = """\
#0 building with "default" instance using docker driver

#5 [2/3] RUN echo a
#5 DONE 0.2s

#6 [3/3] RUN echo failing; exit 3
#6 0.272 failing
#6 ERROR: process "/bin/sh -c echo failing; exit 3" did not complete successfully: exit code: 3
------
 > [3/3] RUN echo failing; exit 3:
0.272 failing
------
Dockerfile:3
--------------------
   1 |     FROM dockui-test/busybox
   3 | >>> RUN echo failing; exit 3
--------------------
ERROR: failed to solve: process "/bin/sh -c echo failing; exit 3" did not complete successfully: exit code: 3
"""

BK_PULL = """\
#3 [internal] load metadata for docker.io/nosuchimage/foo:1.0
#3 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/nosuchimage/foo/manifests/1.0": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
------
 > [internal] load metadata for docker.io/nosuchimage/foo:1.0:
------
failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head "https://registry-1.docker.io/v2/nosuchimage/foo/manifests/1.0": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
"""

BK_PARSE_ERROR = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: unknown instruction: FOO
"""

BK_MULTI_STAGE = """\
#5 [builder 1/2] FROM docker.io/dockui-test/busybox
#5 DONE 0.0s

#6 [builder 2/2] RUN echo build > /out
#7 [stage-1 1/2] FROM docker.io/dockui-test/busybox
#6 0.101 compiling
#7 CACHED
#6 [builder 2/2] RUN echo build > /out
#6 0.202 done compiling
#6 DONE 0.3s

#8 [stage-1 2/2] COPY --from=builder /out /out
#8 DONE 0.0s

#9 exporting to image
#9 writing image sha256:1111111111111111111111111111111111111111111111111111111111111111 done
#9 DONE 0.0s
"""


def bk_feed(text: str, rc: int = 0) -> tuple[BuildKitLineParser, list]:
    parser = BuildKitLineParser(clock=ticking())
    events = []
    for line in text.splitlines(keepends=True):
        events.extend(parser.feed(line))
    events.extend(parser.end(rc))
    return parser, events


def test_buildkit_plain_success_with_cache_hits():
    parser, events = bk_feed(BK_CACHED)
    started = [e for e in events if isinstance(e, StepStarted)]
    assert [(e.index, e.total, e.instruction) for e in started] == [
        (1, 3, "FROM docker.io/dockui-test/busybox"),
        (2, 3, "COPY index.html /www/"),
        (3, 3, "RUN echo one; echo -n partial; sleep 1; echo two >&2"),
    ]
    assert [e.index for e in events if isinstance(e, StepCached)] == [2]
    assert [(e.index, e.duration_s) for e in events if isinstance(e, StepFinished)] == [
        (1, 0.1),
        (2, 0.0),
        (3, 1.4),
    ]
    assert [e.line for e in events if isinstance(e, StepOutput)] == ["one", "partialtwo"]
    outcome = parser.outcome(tags=("dockui-cap/bk:1",), size_bytes=10)
    assert isinstance(outcome, BuildSucceeded)
    assert (
        outcome.image_id
        == "sha256:370ff3a3b29330f2e1b61becc7b0b5d9b94fb37e2c0b602f03f120518ec7dd53"
    )
    assert (outcome.cached_steps, outcome.total_steps) == (1, 3)


@pytest.mark.parametrize("text", [BK_FAIL_CLASSIC, BK_FAIL_BUILDX])
def test_buildkit_failure_names_the_step_and_exit_code(text):
    parser, _ = bk_feed(text, rc=1)
    failure = parser.outcome()
    assert isinstance(failure, BuildFailed)
    assert failure.step_index == (2 if text is BK_FAIL_BUILDX else 3)
    assert failure.instruction == "RUN echo failing; exit 3"
    assert failure.error_sentence.endswith(
        "(RUN echo failing; exit 3) failed: the command exited with code 3."
    )
    assert failure.output_tail == ("failing",)


def test_buildkit_pull_failure():
    parser, _ = bk_feed(BK_PULL, rc=1)
    failure = parser.outcome()
    assert failure.step_index is None
    assert failure.error_sentence.startswith(
        "Cannot pull base image docker.io/nosuchimage/foo:1.0: no registry is reachable"
    )


def test_buildkit_parse_error_drops_the_frontend_noise():
    parser, _ = bk_feed(BK_PARSE_ERROR, rc=1)
    assert parser.outcome().error_sentence == (
        "Dockerfile parse error line 2: unknown instruction: FOO."
    )


def test_buildkit_multi_stage_numbers_steps_across_stages_and_handles_interleaving():
    parser, events = bk_feed(BK_MULTI_STAGE)
    started = [(e.index, e.instruction) for e in events if isinstance(e, StepStarted)]
    assert started == [
        (1, "builder: FROM docker.io/dockui-test/busybox"),
        (2, "builder: RUN echo build > /out"),
        (3, "stage-1: FROM docker.io/dockui-test/busybox"),
        (4, "stage-1: COPY --from=builder /out /out"),
    ]
    assert [(e.index, e.line) for e in events if isinstance(e, StepOutput)] == [
        (2, "compiling"),
        (2, "done compiling"),
    ]
    assert parser.total_steps == 4
    assert isinstance(parser.outcome(), BuildSucceeded)


def test_buildkit_cli_failure_without_details_still_says_something():
    parser, _ = bk_feed("garbage\n#x not a vertex\n", rc=2)
    assert parser.outcome().error_sentence == "The docker CLI failed (exit status 2)."


# ----------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "ref",
    [
        "my-python-app",
        "my-python-app:1.0",
        "user/app:v2_rc-1",
        "registry.example.com:5000/team/app:latest",
        "localhost/app",
        "localhost:5000/a__b/c.d",
        "[::1]:5000/app:1",
        "a" * 10 + ":" + "t" * 128,
    ],
)
def test_valid_tags(ref):
    assert validate_tag(ref) is None


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("", "empty"),
        ("MyApp", "lowercase"),
        ("user/MyApp:1", "lowercase"),
        ("app:", "tag after ':'"),
        ("app:.hidden", "tag after ':'"),
        ("app:" + "t" * 129, "tag after ':'"),
        ("app name", "spaces"),
        ("app@sha256:" + "a" * 64, "digest"),
        ("-app", "not a valid name component"),
        ("app_", "not a valid name component"),
        ("user//app", "empty path component"),
        ("a" * 64, "image id"),
        ("bad_host:5000/app", "registry host"),  # ':' makes it a host
        ("bad-.host.com/app", "registry host"),
    ],
)
def test_invalid_tags_say_why(ref, words):
    problem = validate_tag(ref)
    assert problem is not None and words in problem


def test_split_reference():
    assert split_reference("registry:5000/app:1.2") == ("registry:5000/app", "1.2")
    assert split_reference("registry:5000/app") == ("registry:5000/app", None)
    assert split_reference("app") == ("app", None)


MULTI_STAGE = """\
# syntax=docker/dockerfile:1
ARG PY=3.12
FROM python:${PY}-slim AS Builder
RUN pip wheel \\
    # a comment inside a continuation
    -w /wheels flask
FROM --platform=linux/amd64 python:${PY}-slim as runtime
COPY --from=builder /wheels /wheels
"""


def test_stage_names():
    assert stage_names(MULTI_STAGE) == ["builder", "runtime"]
    assert stage_names("FROM scratch\n") == []


def make_context(tmp_path: Path, dockerfile: str = "FROM dockui-test/busybox\n") -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(parents=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def test_validate_a_good_request(tmp_path):
    ctx = make_context(tmp_path, MULTI_STAGE)
    req = BuildRequest(str(ctx), tags=("app:1", "app:latest"), build_args={"PY": "3.11"})
    assert validate(req) == []
    assert validate(BuildRequest(str(ctx), target="runtime")) == []
    assert validate(BuildRequest(str(ctx), target="BUILDER")) == []  # case-insensitive


def test_validate_reports_every_problem(tmp_path):
    ctx = make_context(tmp_path, MULTI_STAGE)
    problems = validate(
        BuildRequest(
            str(ctx),
            tags=("Bad Tag", "ok:1"),
            build_args={"1BAD": "x", "GOOD": "y", "A B": "z"},
            target="tests",
        )
    )
    assert problems == [
        "Tag 'Bad Tag' contains spaces.",
        "Build arg '1BAD' is not a valid name (letters, digits and '_', not starting with a digit).",
        "Build arg 'A B' is not a valid name (letters, digits and '_', not starting with a digit).",
        "Target stage 'tests' is not in the Dockerfile; its stages are: builder, runtime.",
    ]
    single = make_context(tmp_path / "single")
    assert validate(BuildRequest(str(single), target="x")) == [
        "Target stage 'x' is not in the Dockerfile, which names no stages "
        "(name one with FROM image AS name)."
    ]


def test_validate_missing_context_and_dockerfile(tmp_path):
    missing = tmp_path / "nope"
    assert validate(BuildRequest(str(missing))) == [
        f"The context directory {missing} does not exist.",
        f"No Dockerfile at {missing}/Dockerfile.",
    ]
    ctx = tmp_path / "empty"
    ctx.mkdir()
    assert validate(BuildRequest(str(ctx))) == [f"No Dockerfile at {ctx}/Dockerfile."]
    assert validate(BuildRequest(str(ctx), dockerfile="sub/Dockerfile.dev")) == [
        f"No Dockerfile at {ctx}/sub/Dockerfile.dev."
    ]


def test_dockerfile_outside_the_context_is_sent_inside_under_a_hidden_name(tmp_path):
    ctx = make_context(tmp_path)
    (ctx / "app.txt").write_text("x")
    outside = tmp_path / "elsewhere" / "Dockerfile.prod"
    outside.parent.mkdir()
    outside.write_text("FROM dockui-test/busybox\nCOPY . /app\n")
    req = BuildRequest(str(ctx), dockerfile=str(outside))
    assert not req.dockerfile_inside
    assert validate(req) == []
    plan = _plan(req.context_path, req.dockerfile_path)
    assert plan.dockerfile_name.startswith(".dockerfile.")
    extra = dict(plan.extra_files)
    assert extra[plan.dockerfile_name] == outside.read_text()
    # ... and listed in a generated .dockerignore so `COPY .` never copies it.
    assert extra[".dockerignore"].splitlines() == [".dockerignore", plan.dockerfile_name]
    info = context_size(req.context_path, req.dockerfile_path)
    assert info.files == 4  # Dockerfile, app.txt, the injected Dockerfile and .dockerignore


def test_relative_dockerfile_is_relative_to_the_context(tmp_path):
    ctx = make_context(tmp_path)
    (ctx / "docker").mkdir()
    (ctx / "docker" / "Dockerfile.dev").write_text("FROM dockui-test/busybox\n")
    req = BuildRequest(str(ctx), dockerfile="docker/Dockerfile.dev")
    assert req.dockerfile_path == str(ctx / "docker" / "Dockerfile.dev")
    assert req.dockerfile_inside
    assert _plan(req.context_path, req.dockerfile_path).dockerfile_name == "docker/Dockerfile.dev"


# ----------------------------------------------------------------------- context size


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_context_size_honours_dockerignore_exactly_as_docker_py_sends_it(tmp_path):
    ctx = make_context(tmp_path)
    write(ctx / ".git" / "objects" / "pack", 50_000)
    write(ctx / "node_modules" / "left-pad" / "index.js", 20_000)
    write(ctx / "src" / "app.py", 300)
    write(ctx / "src" / "debug.log", 700)
    write(ctx / "keep.log", 11)
    write(ctx / "other.log", 13)
    write(ctx / "docs" / "big.pdf", 9_000)
    (ctx / ".dockerignore").write_text(
        "# comments and blank lines are skipped\n\n.git\nnode_modules\n**/*.log\n!keep.log\n"
        "Dockerfile\n"  # ignored Dockerfile is still sent
    )
    info = context_size(str(ctx))
    assert info.ignore_file == str(ctx / ".dockerignore")
    # Dockerfile, .dockerignore, src/app.py, keep.log, docs/big.pdf
    dockerfile_size = (ctx / "Dockerfile").stat().st_size
    ignore_size = (ctx / ".dockerignore").stat().st_size
    assert info.files == 5
    assert info.dirs == 2  # src/, docs/
    assert info.bytes == dockerfile_size + ignore_size + 300 + 11 + 9_000
    assert info.largest[0] == ("docs/", 9_000)
    assert info.largest_files[0] == ("docs/big.pdf", 9_000)

    # The same list docker-py would put in the tar it sends.
    import docker.utils.build as dub

    patterns = [".git", "node_modules", "**/*.log", "!keep.log", "Dockerfile"]
    with dub.tar(str(ctx), exclude=patterns) as f, tarfile.open(fileobj=f) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
    assert len(members) == info.files
    assert sum(m.size for m in members) == info.bytes


def test_context_size_for_buildkit_prefers_the_dockerfile_specific_ignore(tmp_path):
    ctx = make_context(tmp_path)
    write(ctx / "a.bin", 100)
    write(ctx / "b.bin", 200)
    (ctx / ".dockerignore").write_text("a.bin\n")
    (ctx / "Dockerfile.dockerignore").write_text("b.bin\n")
    classic = context_size(str(ctx))
    assert {p for p, _ in classic.largest_files} == {
        "b.bin",
        "Dockerfile.dockerignore",
        "Dockerfile",
        ".dockerignore",
    }
    bk = context_size(str(ctx), buildkit=True)
    assert bk.ignore_file == str(ctx / "Dockerfile.dockerignore")
    assert {p for p, _ in bk.largest_files} == {
        "a.bin",
        "Dockerfile.dockerignore",
        "Dockerfile",
        ".dockerignore",
    }


def test_warn_large_names_the_biggest_entries_and_suggests_dockerignore_lines():
    info = ContextInfo(
        files=42_000,
        bytes=1_500_000_000,
        largest=((".git/", 900_000_000), ("node_modules/", 500_000_000), ("src/", 1_000)),
    )
    advice = warn_large(info)
    assert advice[0].startswith("The build context is 1.5 GB in 42,000 files")
    assert advice[1] == "The biggest entries: .git/ (900 MB), node_modules/ (500 MB), src/ (1 kB)."
    assert advice[2] == "Add to .dockerignore: .git, node_modules."
    assert warn_large(ContextInfo(files=10, bytes=1_000)) == []
    data = ContextInfo(files=3, bytes=300_000_000, largest=(("data/", 299_000_000),))
    assert warn_large(data)[-1] == "Add to .dockerignore: data."


# ----------------------------------------------------------------------- CLI


def fake_docker(tmp_path: Path, name: str, version: str, buildx: bool) -> str:
    path = tmp_path / name
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = buildx ]; then {"echo buildx v0.12; exit 0" if buildx else "exit 1"}; fi\n'
        f'if [ "$1" = --version ]; then echo "Docker version {version}, build abc"; fi\n'
    )
    path.chmod(0o755)
    return str(path)


def test_find_buildkit_cli_prefers_buildx_then_a_classic_cli(tmp_path):
    new_without_buildx = fake_docker(tmp_path, "d28", "28.2.2", buildx=False)
    classic = fake_docker(tmp_path, "d20", "20.10.24+dfsg1", buildx=False)
    with_buildx = fake_docker(tmp_path, "d27", "27.0.1", buildx=True)
    assert find_buildkit_cli([new_without_buildx, classic]) == (
        [classic, "build"],
        {"DOCKER_BUILDKIT": "1"},
    )
    assert find_buildkit_cli([with_buildx, classic]) == ([with_buildx, "buildx", "build"], {})
    assert find_buildkit_cli([new_without_buildx, str(tmp_path / "missing")]) is None


def test_cli_argv_carries_every_option(tmp_path):
    ctx = make_context(tmp_path)
    req = BuildRequest(
        str(ctx),
        tags=("app:1", "app:latest"),
        build_args={"PY": "3.12"},
        target="runtime",
        no_cache=True,
        labels={"dockui.test": "1"},
    )
    argv = cli_argv(req, ["docker", "buildx", "build"], "/tmp/iid")
    assert argv == [
        "docker", "buildx", "build", "--progress=plain", "--iidfile", "/tmp/iid",
        "-f", str(ctx / "Dockerfile"), "-t", "app:1", "-t", "app:latest",
        "--build-arg", "PY=3.12", "--label", "dockui.test=1", "--target", "runtime",
        "--no-cache", str(ctx),
    ]  # fmt: skip


# ----------------------------------------------------------------------- the runner


class FakeAPI:
    """Just enough of docker-py's APIClient for Build's API path."""

    def __init__(self, messages=(), error: Exception | None = None, on_read=None) -> None:
        self.messages = list(messages)
        self.error = error
        self.on_read = on_read
        self.calls: dict = {}
        self.tagged: list = []
        self.context: bytes = b""

    def build(self, **kwargs):
        self.calls = kwargs
        if self.on_read:
            self.on_read()
        self.context = kwargs["fileobj"].read(-1)
        if self.error:
            raise self.error
        return iter(self.messages)

    def tag(self, image, repository, tag=None):
        self.tagged.append((image, repository, tag))
        return True

    def inspect_image(self, image):
        return {"Id": image, "Size": 1234}

    def containers(self, **kwargs):
        return []


def fake_engine(api: FakeAPI) -> SimpleNamespace:
    return SimpleNamespace(api=api, info=SimpleNamespace(host="unix:///var/run/docker.sock"))


def run_build(tmp_path: Path, api: FakeAPI, **req) -> tuple[Build, list]:
    ctx = make_context(tmp_path, MULTI_STAGE)
    (ctx / "app.py").write_text("print('hi')\n")
    events: list = []
    b = Build(fake_engine(api), BuildRequest(str(ctx), **req), events.append)
    b.run()
    return b, events


def test_build_runner_sends_the_context_tags_extras_and_reports_size(tmp_path):
    api = FakeAPI(REBUILD)
    b, events = run_build(
        tmp_path,
        api,
        tags=("app:1", "app", "registry:5000/team/app:2"),
        build_args={"PY": "3.11"},
        target="runtime",
        no_cache=True,
        labels={"dockui.test": "1"},
    )
    assert events[0] == SendingContext(files=2, bytes=len(MULTI_STAGE) + len("print('hi')\n"))
    assert api.calls["tag"] == "app:1"
    assert api.calls["dockerfile"] == "Dockerfile"
    assert api.calls["custom_context"] is True and api.calls["decode"] is True
    assert (api.calls["rm"], api.calls["forcerm"], api.calls["nocache"]) == (True, True, True)
    assert api.calls["buildargs"] == {"PY": "3.11"}
    assert api.calls["target"] == "runtime"
    assert api.calls["labels"] == {"dockui.test": "1"}
    with tarfile.open(fileobj=io.BytesIO(api.context)) as tar:
        assert sorted(tar.getnames()) == ["Dockerfile", "app.py"]
    image = REBUILD[-3]["aux"]["ID"]
    assert api.tagged == [(image, "app", "latest"), (image, "registry:5000/team/app", "2")]
    outcome = events[-1]
    assert isinstance(outcome, BuildSucceeded) and b.outcome is outcome
    assert outcome.tags == ("app:1", "app", "registry:5000/team/app:2")
    assert (outcome.size_bytes, outcome.cached_steps, outcome.total_steps) == (1234, 5, 6)


def test_build_runner_refuses_an_invalid_request_without_calling_the_engine(tmp_path):
    api = FakeAPI(REBUILD)
    _, events = run_build(tmp_path, api, tags=("Bad:tag!",))
    assert api.calls == {}
    assert len(events) == 1 and isinstance(events[0], BuildFailed)
    assert "Bad:tag!" in events[0].error_sentence


def test_build_runner_turns_an_engine_error_into_a_sentence(tmp_path):
    class APIError(Exception):
        explanation = "dockerfile parse error line 2: unknown instruction: FOO"

    _, events = run_build(tmp_path, FakeAPI(error=APIError("400 Client Error")))
    assert events[-1] == BuildFailed(
        None, None, "Dockerfile parse error line 2: unknown instruction: FOO."
    )


def test_build_cancelled_while_sending_the_context(tmp_path):
    holder: dict = {}
    api = FakeAPI(REBUILD, on_read=lambda: holder["build"].close())
    ctx = make_context(tmp_path)
    events: list = []
    b = Build(fake_engine(api), BuildRequest(str(ctx)), events.append)
    holder["build"] = b
    outcome = b.run()
    assert isinstance(outcome, BuildCancelled)
    assert events[-1] is outcome
    assert not any(isinstance(e, StepStarted) for e in events)


def test_build_cancelled_before_it_starts_sends_nothing(tmp_path):
    api = FakeAPI(REBUILD)
    ctx = make_context(tmp_path)
    events: list = []
    b = Build(fake_engine(api), BuildRequest(str(ctx)), events.append)
    b.close()
    assert isinstance(b.run(), BuildCancelled)
    assert api.calls == {}
    assert len(events) == 1
