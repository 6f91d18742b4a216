"""Dockerfile advice: the practices that make images small, fast to rebuild and safe.

Each rule has an id (`DUI001`...), a severity, and gives the line, a message that says what
is wrong *here*, and a concrete fix. hadolint is the anchor: where it has the same rule
(`Rule.hadolint`), both report the same line; where we differ, the rule's rationale says
why. A well-written Dockerfile must produce no finding at all, so every rule errs on the
side of silence when it cannot be sure (an unresolved `$VAR`, an unknown base image).

What "the image" means: the last stage is the one that ships (that is what a plain
`docker build` produces), together with the earlier stages it is built `FROM`. The
size rules (apt lists, pip cache, recommends, apk cache, slim bases) and the runtime
rules (USER, CMD form, EXPOSE) only look at those stages; a builder stage whose files
are thrown away is allowed to be fat. Readability rules (`cd`, RUN runs, ADD) and
secrets apply to every stage: a secret in a builder stage still sits in the build
cache and in `docker history` of that stage.

A finding can be silenced where it is deliberate, hadolint-style, with a comment on the
line(s) right above the instruction, `# dockui ignore=DUI003`, or for the whole file
with `# dockui global ignore=DUI010,DUI014`.

No Docker and no Textual here: this runs in `dockui lint`, in the build dialog and in CI.
"""

from __future__ import annotations

import itertools
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dockui.engine.dockerfile import Dockerfile, ImageRef, Instruction, Stage, parse

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's identity and the reason it exists (shown by `dockui lint --json`)."""

    id: str
    title: str
    severity: str
    rationale: str
    hadolint: tuple[str, ...] = ()  # hadolint's codes for the same practice, if any


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of advice: which rule, where, what is wrong and how to fix it."""

    rule: str
    severity: str
    line: int
    message: str
    fix: str
    end_line: int | None = None
    # hadolint's code for this very finding (a rule's variant may have none, e.g. a
    # missing USER, which hadolint does not report)
    hadolint: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.rule

    @property
    def title(self) -> str:
        return RULES[self.rule].title if self.rule in RULES else self.rule

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.rule,
            "severity": self.severity,
            "line": self.line,
            "end_line": self.end_line if self.end_line is not None else self.line,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "hadolint": list(self.hadolint),
        }


_RULE_LIST = [
    Rule(
        "DUI000",
        "Dockerfile syntax",
        "error",
        "Docker would refuse (or misread) this line; nothing else can be trusted until it parses.",
        ("DL1000",),
    ),
    Rule(
        "DUI001",
        "Base image without a tag, or :latest",
        "warning",
        "An untagged or `latest` base changes under you: the same Dockerfile builds a "
        "different image next month, maybe with a new major version. Pin a version tag "
        "(or a digest). `scratch`, a digest and an earlier stage's name are fine.",
        ("DL3006", "DL3007"),
    ),
    Rule(
        "DUI002",
        "Full language image where a slim variant exists",
        "warning",
        "The full python/node/ruby/perl images carry compilers, headers and docs (~1 GB); "
        "their -slim variants are a fraction of that and run the same code. Only the base "
        "of the shipped stage counts: a full image in a builder stage is the right tool.",
    ),
    Rule(
        "DUI003",
        "The container runs as root",
        "warning",
        "Without a USER the process runs as root: an exploit in the app owns the "
        "container, and with a mount or a kernel bug the host. hadolint's DL3002 only "
        "catches an explicit `USER root`; dockui also catches a missing USER. Base images "
        "that already drop root (`*:nonroot`, `*-unprivileged`, bitnami) and entrypoints "
        "that drop it themselves (gosu, su-exec) are fine.",
        ("DL3002",),
    ),
    Rule(
        "DUI004",
        "A secret in ENV or ARG",
        "error",
        "ENV values are stored in the image config and ARG values in its history: anyone "
        "who can pull the image can read them (`docker history`, `docker inspect`). Names "
        "are matched by whole words (API_KEY, DB_PASSWORD, GITHUB_TOKEN; not KEYBOARD or "
        "PUBLIC_KEY or PASSWORD_FILE). Use a build secret (`RUN --mount=type=secret`) or "
        "pass it at run time. hadolint's DL3064 matches substrings instead (so it also "
        "flags PASSWORD_FILE or PRIVATE_REGISTRY).",
        ("DL3064",),
    ),
    Rule(
        "DUI005",
        "Whole build context copied before installing dependencies",
        "warning",
        "`COPY . .` followed by `pip install -r requirements.txt` (or npm ci, bundle "
        "install, go mod download, composer install...) re-installs every dependency on "
        "any source change, because the COPY layer's cache is busted. Copy the manifest "
        "first, install, then copy the rest.",
    ),
    Rule(
        "DUI006",
        "apt-get update without removing the package lists",
        "warning",
        "`apt-get update` downloads ~20-50 MB of package lists into the layer. Remove them "
        "in the same RUN (`&& rm -rf /var/lib/apt/lists/*`); a later RUN cannot shrink an "
        "earlier layer. A cache mount on /var/lib/apt is fine.",
        ("DL3009",),
    ),
    Rule(
        "DUI007",
        "apt-get install without --no-install-recommends",
        "info",
        "Recommended packages are rarely needed in a container and often double the size "
        "of an install.",
        ("DL3015",),
    ),
    Rule(
        "DUI008",
        "pip install without --no-cache-dir",
        "warning",
        "pip keeps every downloaded wheel in ~/.cache/pip, which then ships in the layer. "
        "`--no-cache-dir`, `ENV PIP_NO_CACHE_DIR=1` or a cache mount avoid it.",
        ("DL3042",),
    ),
    Rule(
        "DUI009",
        "ADD where COPY does",
        "warning",
        "ADD also fetches URLs and unpacks local tar archives; for plain files that magic "
        "only surprises. COPY says what it does. ADD stays right for a local .tar* to "
        "unpack or a URL/git source.",
        ("DL3020",),
    ),
    Rule(
        "DUI010",
        "Consecutive RUN instructions that should be one layer",
        "info",
        "Each RUN is a layer, and files deleted in a later layer still cost space in the "
        "earlier one. Three or more RUNs in a row, or two of the same package manager "
        "(`RUN apt-get update` then `RUN apt-get install`, which also leaves stale package "
        "lists cached), belong in one RUN joined with &&. Reported on the second RUN, like "
        "hadolint's DL3059 (which also fires on two short RUNs).",
        ("DL3059",),
    ),
    Rule(
        "DUI011",
        "Compilers in the final image",
        "warning",
        "gcc, make, build-essential, the Go or Rust toolchain add hundreds of MB and an "
        "attack surface the running app does not need. Build in one stage and copy only "
        "the result into a small final stage (a multi-stage build). Only single-stage "
        "builds are checked for installed compilers (a multi-stage build already made that "
        "choice); a toolchain image as the final base is always reported.",
    ),
    Rule(
        "DUI012",
        "Shell-form CMD or ENTRYPOINT",
        "warning",
        "In shell form the command runs under `/bin/sh -c`: the app is not PID 1, never "
        "gets SIGTERM, and `docker stop` waits 10 s then kills it. Exec (JSON) form runs "
        "it directly; `scratch`/distroless images have no /bin/sh at all.",
        ("DL3025",),
    ),
    Rule(
        "DUI013",
        "cd in RUN instead of WORKDIR",
        "warning",
        "`RUN cd /app && ...` only holds for that RUN; WORKDIR sets the directory for every "
        "later instruction and for the container, and creates it. A `cd` into a temporary "
        "directory that the same RUN deletes (building from a source tarball) is fine.",
        ("DL3003",),
    ),
    Rule(
        "DUI014",
        "A server without EXPOSE",
        "info",
        "The command looks like a network server (gunicorn, uvicorn, flask, nginx, httpd, "
        "node server.js, java -jar...) but the image declares no port: `docker run -P` "
        "publishes nothing and dockui's run dialog cannot prefill the mapping. EXPOSE "
        "documents the port; it does not publish it. Only reported when dockui is sure "
        "it is a server.",
    ),
    Rule(
        "DUI015",
        "apk add without --no-cache",
        "warning",
        "`apk add` without `--no-cache` leaves the package index in /var/cache/apk in the "
        "layer; `apk add --no-cache` fetches it to a temporary place instead.",
        ("DL3019",),
    ),
]
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULE_LIST}


# ---------------------------------------------------------------------------------------------
# A small shell reader: enough to find commands and their arguments in RUN/CMD lines


@dataclass(frozen=True, slots=True)
class ShellCommand:
    """One simple command of a shell script: `FOO=1 /usr/bin/apt-get install -y x`."""

    name: str  # the program's basename: "apt-get"
    args: tuple[str, ...] = ()
    assignments: tuple[str, ...] = ()  # leading `NAME=value` words

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.args)

    def operands(self) -> list[str]:
        """Arguments that are not options (`-y`, `--foo`)."""
        return [arg for arg in self.args if not arg.startswith("-")]

    def subcommand(self) -> str | None:
        ops = self.operands()
        return ops[0] if ops else None


_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
_RESERVED = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}"}
)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REDIRECT_ONLY = re.compile(r"^\d*(?:>>|>\||<<<|<>|>&|<&|&>>|&>|>|<)-?$")
_REDIRECT = re.compile(r"^\d*(?:>|<|&>)")
_WRAPPERS = frozenset(
    {"sudo", "exec", "command", "nohup", "time", "nice", "env", "tini", "dumb-init"}
)


def _tokenize(script: str) -> list[list[str]]:
    """Split a POSIX-ish shell script into simple commands (lists of words). Separators:
    newline ; & && | || ( ) `$(` and backticks. Quotes and backslashes are resolved;
    `#` starts a comment at the start of a word. Good enough for linting, not for running."""
    commands: list[list[str]] = []
    words: list[str] = []
    buf: list[str] = []
    in_word = False
    i, n = 0, len(script)

    def end_word() -> None:
        nonlocal in_word
        if in_word:
            words.append("".join(buf))
            buf.clear()
            in_word = False

    def end_command() -> None:
        end_word()
        if words:
            commands.append(list(words))
            words.clear()

    while i < n:
        char = script[i]
        if char == "\\":
            if i + 1 < n and script[i + 1] == "\n":
                i += 2
                continue
            if i + 1 < n:
                buf.append(script[i + 1])
                in_word = True
            i += 2
            continue
        if char == "'":
            end = script.find("'", i + 1)
            end = n if end < 0 else end
            buf.append(script[i + 1 : end])
            in_word = True
            i = end + 1
            continue
        if char == '"':
            i += 1
            while i < n and script[i] != '"':
                if script[i] == "\\" and i + 1 < n and script[i + 1] in '"\\$`':
                    i += 1
                buf.append(script[i])
                i += 1
            in_word = True
            i += 1
            continue
        if char == "#" and not in_word:
            while i < n and script[i] != "\n":
                i += 1
            continue
        if char == "\n" or char in ";()`":
            end_command()
            i += 1
            continue
        if char == "$" and i + 1 < n and script[i + 1] == "(":
            end_command()
            i += 2
            continue
        if char in "|&":
            redirect = char == "&" and (
                (buf and buf[-1] in "<>") or (i + 1 < n and script[i + 1] == ">")
            )
            if not redirect:
                end_command()
                i += 1
                continue
        if char.isspace():
            end_word()
            i += 1
            continue
        buf.append(char)
        in_word = True
        i += 1
    end_command()
    return commands


def shell_commands(script: str) -> list[ShellCommand]:
    """The simple commands of a shell script, with wrappers (`sudo`, `exec`, `env`) and
    redirections removed and `sh -c '...'` followed into."""
    found: list[ShellCommand] = []
    for words in _tokenize(script):
        found.extend(_command_from_words(words))
    return found


def _command_from_words(words: list[str], depth: int = 0) -> list[ShellCommand]:
    cleaned: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if _REDIRECT_ONLY.match(word):
            skip_next = True
            continue
        if _REDIRECT.match(word):
            continue
        cleaned.append(word)
    while cleaned and cleaned[0] in _RESERVED:
        cleaned.pop(0)
    assignments: list[str] = []
    while cleaned and _ASSIGNMENT.match(cleaned[0]):
        assignments.append(cleaned.pop(0))
    while cleaned and posixpath.basename(cleaned[0]) in _WRAPPERS:
        wrapper = posixpath.basename(cleaned.pop(0))
        while cleaned and (
            cleaned[0].startswith("-") or (wrapper == "env" and _ASSIGNMENT.match(cleaned[0]))
        ):
            if wrapper == "env" and _ASSIGNMENT.match(cleaned[0]):
                assignments.append(cleaned[0])
            cleaned.pop(0)
        if wrapper in ("tini", "dumb-init") and cleaned and cleaned[0] == "--":
            cleaned.pop(0)
    if not cleaned:
        return []
    name = posixpath.basename(cleaned[0])
    if name in _SHELLS and depth < 3 and "-c" in cleaned[1:]:
        index = cleaned.index("-c", 1)
        if index + 1 < len(cleaned):
            nested: list[ShellCommand] = []
            for inner in _tokenize(cleaned[index + 1]):
                nested.extend(_command_from_words(inner, depth + 1))
            return nested
    return [ShellCommand(name, tuple(cleaned[1:]), tuple(assignments))]


_HEREDOC_MARK = re.compile(r"(?:^|(?<=\s))\d*<<-?([\"']?)[A-Za-z_][A-Za-z0-9_.-]*\1(?=\s|$)")


def run_commands(instr: Instruction) -> list[ShellCommand]:
    """The shell commands a RUN (or CMD/ENTRYPOINT) executes, heredoc scripts included."""
    if instr.json_form:
        return _command_from_words(list(instr.args))
    text = instr.arguments
    if not instr.heredocs:
        return shell_commands(text)
    commands = shell_commands(_HEREDOC_MARK.sub(" ", text))
    # `RUN <<EOF` and `RUN bash <<EOF` run the body as a shell script; `RUN python3 <<EOF`
    # does not, and its body is not ours to read.
    if not commands or (commands[0].name in _SHELLS and not commands[0].operands()):
        commands = [cmd for cmd in commands if cmd.name not in _SHELLS]
        for heredoc in instr.heredocs:
            commands.extend(shell_commands(heredoc.body))
    return commands


# ---------------------------------------------------------------------------------------------
# Knowledge the rules need

DEBIAN_CODENAMES = frozenset({"jessie", "stretch", "buster", "bullseye", "bookworm", "trixie"})
UBUNTU_CODENAMES = frozenset({"bionic", "focal", "jammy", "noble"})
# Example tags for suggestions (a pinned, small variant of each common base).
EXAMPLE_TAGS = {
    "python": "3.12-slim",
    "node": "22-slim",
    "ruby": "3.3-slim",
    "perl": "5.40-slim",
    "golang": "1.23",
    "rust": "1.82",
    "openjdk": "21-jdk-slim",
    "eclipse-temurin": "21-jre",
    "php": "8.3-cli",
    "alpine": "3.20",
    "debian": "bookworm-slim",
    "ubuntu": "24.04",
    "nginx": "1.27-alpine",
    "httpd": "2.4",
    "busybox": "1.36",
    "postgres": "16",
    "redis": "7",
}
# Language images with a `-slim` variant: how to name it from a tag's version and variant.
SLIM_IMAGES = frozenset({"python", "node", "ruby", "perl", "openjdk", "eclipse-temurin"})
# Toolchains as the base of the shipped stage: (what ships, what to use at run time)
TOOLCHAIN_IMAGES = {
    "golang": ("the Go toolchain (~800 MB)", "gcr.io/distroless/static or scratch"),
    "rust": ("the Rust toolchain (~1.5 GB)", "debian:bookworm-slim or distroless/cc"),
    "gcc": ("GCC and its headers", "debian:bookworm-slim"),
    "maven": ("Maven and a full JDK", "eclipse-temurin:21-jre"),
    "gradle": ("Gradle and a full JDK", "eclipse-temurin:21-jre"),
}
COMPILER_PACKAGES = frozenset(
    {
        "build-essential",
        "build-base",
        "gcc",
        "g++",
        "gcc-c++",
        "clang",
        "make",
        "cmake",
        "gfortran",
        "cargo",
        "rustc",
        "golang",
        "golang-go",
        "go",
        "development tools",
    }
)
# Base images that already run as a non-root user.
_NONROOT_HINTS = ("nonroot", "unprivileged", "rootless")
_PRIVILEGE_DROPPERS = frozenset({"gosu", "su-exec", "setpriv", "runuser", "chpst", "s6-setuidgid"})
# Base images whose own config EXPOSEs the port their default server listens on.
_EXPOSING_BASES = frozenset({"nginx", "httpd", "tomcat", "caddy", "jetty", "traefik", "haproxy"})

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pword",
        "pass",
        "secret",
        "token",
        "key",
        "apikey",
        "credential",
        "credentials",
        "privatekey",
        "accesskey",
        "secretkey",
        "authtoken",
    }
)
# A name with one of these words names something about a secret, not the secret itself.
_NOT_SECRET_WORDS = frozenset(
    {
        "public",
        "pub",
        "file",
        "path",
        "dir",
        "url",
        "name",
        "version",
        "size",
        "length",
        "type",
        "gpg",
        "pgp",
        "fingerprint",
        "algorithm",
        "format",
    }
)
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def is_secret_name(name: str) -> bool:
    """True for names that hold a secret value: `DB_PASSWORD`, `apiKey`, `GITHUB_TOKEN`,
    `AWS_SECRET_ACCESS_KEY`. Words are split on `_`, `-`, `.` and camelCase, and must match
    whole (`KEYBOARD`, `MONKEY`, `TOKENIZER` do not). Names that say where a secret is or
    what kind it is (`PASSWORD_FILE`, `PUBLIC_KEY`, `GPG_KEY`, `TOKEN_URL`, `KEY_ID`)
    are not secrets themselves."""
    words = [word.lower() for word in _NAME_WORDS.findall(name)]
    if not words:
        return False
    joined = "".join(words)
    if any(word in _NOT_SECRET_WORDS for word in words):
        return False
    return any(word in _SECRET_WORDS for word in words) or joined in _SECRET_WORDS


# ---------------------------------------------------------------------------------------------
# The checks


@dataclass
class _Context:
    dockerfile: Dockerfile
    shipping: list[Stage] = field(default_factory=list)
    commands: dict[int, list[ShellCommand]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def run_commands(self, instr: Instruction) -> list[ShellCommand]:
        key = id(instr)
        if key not in self.commands:
            self.commands[key] = run_commands(instr)
        return self.commands[key]

    def add(
        self,
        rule: str,
        instr_or_line: Instruction | int,
        message: str,
        fix: str,
        hadolint: tuple[str, ...] | None = None,
    ) -> None:
        if isinstance(instr_or_line, Instruction):
            line, end = instr_or_line.line, instr_or_line.end_line
        else:
            line, end = instr_or_line, instr_or_line
        codes = RULES[rule].hadolint if hadolint is None else hadolint
        self.findings.append(Finding(rule, RULES[rule].severity, line, message, fix, end, codes))


def _is_apt(cmd: ShellCommand) -> bool:
    return cmd.name in ("apt-get", "apt")


def _apt_installs(cmd: ShellCommand) -> bool:
    return _is_apt(cmd) and cmd.subcommand() == "install"


def _installed_packages(cmd: ShellCommand) -> list[str]:
    """Packages an apt/apk/yum/dnf install command names (versions stripped)."""
    sub = cmd.subcommand()
    if not (
        (_is_apt(cmd) and sub == "install")
        or (cmd.name == "apk" and sub == "add")
        or (cmd.name in ("yum", "dnf", "microdnf") and sub in ("install", "groupinstall"))
    ):
        return []
    packages = cmd.operands()[1:]
    if cmd.name == "apk":
        # `apk add --virtual .build-deps gcc`: the virtual name is not a package
        args = list(cmd.args)
        for flag in ("--virtual", "-t"):
            if flag in args and args.index(flag) + 1 < len(args):
                virtual = args[args.index(flag) + 1]
                packages = [pkg for pkg in packages if pkg != virtual]
    names = [re.split(r"[=<>~]", pkg, maxsplit=1)[0].lower() for pkg in packages]
    if sub == "groupinstall":
        names = [" ".join(names)]
    return names


def _removes_packages(cmd: ShellCommand) -> bool:
    sub = cmd.subcommand()
    return (
        (_is_apt(cmd) and sub in ("purge", "remove", "autoremove"))
        or (cmd.name == "apk" and sub == "del")
        or (cmd.name in ("yum", "dnf", "microdnf") and sub in ("remove", "erase", "autoremove"))
    )


def _is_pip_install(cmd: ShellCommand) -> bool:
    """`pip install`, `pip3 install`, `python -m pip install`, `python3.12 -m pip install`."""
    if re.fullmatch(r"pip[0-9.]*", cmd.name):
        return cmd.subcommand() == "install"
    if re.fullmatch(r"python[0-9.]*", cmd.name):
        args = list(cmd.args)
        if "-m" in args:
            index = args.index("-m")
            rest = args[index + 1 :]
            if rest[:1] == ["pip"]:
                operands = [arg for arg in rest[1:] if not arg.startswith("-")]
                return operands[:1] == ["install"]
    return False


def _has_cache_mount(instr: Instruction, *targets: str) -> bool:
    for mount in instr.flag_values("mount"):
        options = dict(
            part.split("=", 1) if "=" in part else (part, "") for part in mount.split(",")
        )
        if options.get("type") != "cache":
            continue
        target = options.get("target") or options.get("dst") or options.get("destination") or ""
        if any(target.rstrip("/").startswith(t.rstrip("/")) for t in targets):
            return True
    return False


def _stage_env(stage_chain: list[Stage], until: Instruction | None = None) -> dict[str, str]:
    """ENV set in the stage chain (before `until`, if given); inline values only."""
    env: dict[str, str] = {}
    for stage in stage_chain:
        for instr in stage.instructions:
            if until is not None and instr is until:
                return env
            if instr.keyword == "ENV":
                for name, value in instr.pairs:
                    env[name] = value or ""
    return env


def _check_base_tags(ctx: _Context) -> None:
    for stage in ctx.dockerfile.stages:
        base = stage.base
        if base.is_scratch or base.digest or base.has_variables or stage.parent is not None:
            continue
        if not base.path:
            continue
        official = base.official_name
        example = base.with_tag(EXAMPLE_TAGS.get(official or "", "<version>"))
        fix = f"Pin a version: FROM {example} (or a digest, {base.repository}@sha256:...)."
        if base.tag is None:
            ctx.add(
                "DUI001",
                stage.from_instruction,
                f"FROM {base.text} has no tag: every build takes whatever `latest` is that day.",
                fix,
                hadolint=("DL3006",),
            )
        elif base.tag == "latest":
            ctx.add(
                "DUI001",
                stage.from_instruction,
                f"FROM {base.text}: `latest` moves, so the next build may get a new major version.",
                fix,
                hadolint=("DL3007",),
            )


def _slim_tag(base: ImageRef) -> str | None:
    """The slim (or JRE) tag for a full language image tag; None if already small or
    not a tag we know the naming of."""
    name = base.official_name
    if name not in SLIM_IMAGES:
        return None
    tag = base.tag or ""
    if tag in ("", "latest"):
        return EXAMPLE_TAGS[name]
    version, _, variant = tag.partition("-")
    if name in ("python", "ruby", "perl"):
        if variant == "":
            return f"{version}-slim"
        if variant in DEBIAN_CODENAMES:
            return f"{version}-slim-{variant}"
        return None
    if name == "node":
        if variant == "" or version in ("lts", "current"):
            return f"{tag}-slim" if variant in ("", *DEBIAN_CODENAMES) else None
        if variant in DEBIAN_CODENAMES:
            return f"{version}-{variant}-slim"
        return None
    if name == "openjdk":
        if variant == "":
            return f"{version}-slim"
        if variant == "jdk":
            return f"{version}-jdk-slim"
        return None
    # eclipse-temurin: no -slim, but a JRE variant for running
    if variant in ("", "jdk"):
        return f"{version}-jre"
    head, _, codename = variant.partition("-")
    if head == "jdk" and codename in UBUNTU_CODENAMES:
        return f"{version}-jre-{codename}"
    if variant in UBUNTU_CODENAMES:
        return f"{version}-jre-{variant}"
    return None


def _check_slim_base(ctx: _Context) -> None:
    if not ctx.shipping:
        return
    root = ctx.shipping[0]
    base = root.base
    if base.has_variables or root.parent is not None:
        return
    slim = _slim_tag(base)
    if slim is None:
        return
    suggestion = base.with_tag(slim)
    kind = "JRE" if base.official_name == "eclipse-temurin" else "slim"
    if len(ctx.dockerfile.stages) == 1:
        extra = (
            " If the build needs compilers (wheels, native modules), build in a first stage "
            f"FROM {base.text} and copy the result into the {kind} one."
        )
    else:
        extra = ""
    ctx.add(
        "DUI002",
        root.from_instruction,
        f"The image is based on the full {base.text}; {suggestion} is several times smaller.",
        f"FROM {suggestion}.{extra}",
    )


def _check_user(ctx: _Context) -> None:
    if not ctx.shipping:
        return
    last_user: Instruction | None = None
    for stage in ctx.shipping:
        for instr in stage.find("USER"):
            last_user = instr
    final = ctx.shipping[-1]
    root = ctx.shipping[0]
    base = root.base
    windows = any(word in base.path.lower() for word in ("windows", "nanoserver", "servercore"))
    if last_user is not None:
        user = (last_user.args[0] if last_user.args else "").strip()
        name = user.split(":", 1)[0]
        if name.lower() in ("root", "0", "containeradministrator"):
            ctx.add(
                "DUI003",
                last_user,
                f"The last USER is {user}: the container runs with full privileges.",
                "Do the steps that need root first, then switch to an unprivileged user: "
                + ("USER ContainerUser." if windows else "USER 10001 (created with useradd)."),
            )
        return
    text = base.text.lower()
    if any(hint in text for hint in _NONROOT_HINTS) or base.path.lower().startswith("bitnami/"):
        return
    if base.has_variables:
        return
    for keyword in ("ENTRYPOINT", "CMD"):
        instr = _last(ctx.shipping, keyword)
        if instr is not None and any(
            cmd.name in _PRIVILEGE_DROPPERS for cmd in ctx.run_commands(instr)
        ):
            return
        if instr is not None and any(
            posixpath.basename(word) in _PRIVILEGE_DROPPERS for word in instr.args
        ):
            return
    if windows:
        message = "No USER in the final stage: the container runs as ContainerAdministrator."
        fix = "USER ContainerUser before the CMD/ENTRYPOINT."
    elif base.is_scratch:
        message = "No USER in the final stage: the container runs as root."
        fix = (
            "scratch has no /etc/passwd, so use a numeric id: USER 65532:65532 before the "
            "CMD (and make sure copied files are readable by it)."
        )
    else:
        message = "No USER in the final stage: the container runs as root."
        fix = (
            "Create an unprivileged user and switch to it before CMD: "
            "RUN useradd --create-home --uid 10001 app (Alpine: adduser -D -u 10001 app), "
            "then USER 10001 (numeric, so Kubernetes runAsNonRoot can verify it)."
        )
    ctx.add("DUI003", final.from_instruction, message, fix, hadolint=())


def _last(stages: list[Stage], keyword: str) -> Instruction | None:
    found: Instruction | None = None
    for stage in stages:
        for instr in stage.find(keyword):
            found = instr
    return found


def _check_secrets(ctx: _Context) -> None:
    for instr in ctx.dockerfile.instructions:
        if instr.keyword not in ("ENV", "ARG"):
            continue
        for name, value in instr.pairs:
            if not is_secret_name(name):
                continue
            if instr.keyword == "ENV" and not (value or "").strip():
                continue  # an empty ENV clears a value; nothing leaks
            where = "config (docker inspect)" if instr.keyword == "ENV" else "history"
            ctx.add(
                "DUI004",
                instr,
                f"{instr.keyword} {name} looks like a secret: its value is stored in the "
                f"image {where} for anyone who can pull it.",
                f"Use a build secret: RUN --mount=type=secret,id={name.lower()} "
                f'{name}="$(cat /run/secrets/{name.lower()})" ... (docker build --secret '
                f"id={name.lower()},env={name}); pass runtime secrets with docker run -e or "
                "a secrets file, not ENV.",
            )


# dependency install commands: (predicate, manifest files to copy first)
def _dependency_install(cmd: ShellCommand) -> str | None:
    """The manifest files to copy before this command, if it installs dependencies."""
    sub = cmd.subcommand()
    args = list(cmd.args)
    if _is_pip_install(cmd):
        if "-r" in args or "--requirement" in args or any(a.startswith("-r") for a in args):
            for flag in ("-r", "--requirement"):
                if flag in args and args.index(flag) + 1 < len(args):
                    return args[args.index(flag) + 1]
            for arg in args:
                if arg.startswith("-r") and len(arg) > 2:
                    return arg[2:]
            return "requirements.txt"
        if any(op in (".", "./") for op in cmd.operands()):
            return "pyproject.toml (and a lock file)"
        return None
    if cmd.name == "poetry" and sub == "install":
        return "pyproject.toml poetry.lock"
    if cmd.name == "pipenv" and sub in ("install", "sync"):
        return "Pipfile Pipfile.lock"
    if cmd.name == "uv" and sub == "sync":
        return "pyproject.toml uv.lock"
    if cmd.name == "npm" and sub in ("ci", "install", "i"):
        if sub != "ci" and len(cmd.operands()) > 1:
            return None  # `npm install -g serve`: one named package, not the manifest
        return "package.json package-lock.json"
    if cmd.name == "yarn" and (sub is None or sub == "install"):
        return "package.json yarn.lock"
    if cmd.name == "pnpm" and sub in ("install", "i"):
        return "package.json pnpm-lock.yaml"
    if cmd.name == "bundle" and sub == "install":
        return "Gemfile Gemfile.lock"
    if cmd.name == "go" and cmd.operands()[:2] == ["mod", "download"]:
        return "go.mod go.sum"
    if cmd.name == "composer" and sub == "install":
        return "composer.json composer.lock"
    return None


_WHOLE_CONTEXT = frozenset({".", "./", "*", "./*", "./."})


def _check_copy_order(ctx: _Context) -> None:
    for stage in ctx.dockerfile.stages:
        whole_copy: Instruction | None = None
        for instr in stage.instructions:
            if instr.keyword in ("COPY", "ADD"):
                if (
                    whole_copy is None
                    and not instr.flag("from")
                    and any(src in _WHOLE_CONTEXT for src in instr.args[:-1])
                ):
                    whole_copy = instr
                continue
            if instr.keyword != "RUN":
                continue
            install = next(
                (
                    (cmd, manifest)
                    for cmd in ctx.run_commands(instr)
                    if (manifest := _dependency_install(cmd)) is not None
                ),
                None,
            )
            if install is None:
                continue
            # The first install decides: one after a manifest-first install (`pip install
            # -e .` after `COPY . .`) is the right order.
            if whole_copy is not None:
                cmd, manifest = install
                dest = whole_copy.args[-1] if whole_copy.args else "."
                manifest = _context_path(manifest, dest)
                words = " ".join(cmd.words)
                sources = " ".join(whole_copy.args[:-1])
                ctx.add(
                    "DUI005",
                    whole_copy,
                    f"{whole_copy.keyword} {sources} (line {whole_copy.line}) comes before "
                    f"`{words}` (line {instr.line}): any source change re-installs every "
                    "dependency.",
                    f"Copy the manifest first: `COPY {manifest} {_dir(dest)}`, then "
                    f"`RUN {words}`, then `{whole_copy.keyword} {sources} {dest}`.",
                )
            break


def _context_path(manifest: str, dest: str) -> str:
    """`/app/requirements.txt` in the image, copied to /app, is `requirements.txt` in the
    build context."""
    parts = []
    for path in manifest.split():
        if path.startswith("/"):
            prefix = dest.rstrip("/") + "/"
            path = path[len(prefix) :] if path.startswith(prefix) else posixpath.basename(path)
        parts.append(path)
    return " ".join(parts)


def _dir(dest: str) -> str:
    return dest if dest.endswith("/") else f"{dest}/"


def _check_apt_lists(ctx: _Context) -> None:
    for stage in ctx.shipping:
        for instr in stage.find("RUN"):
            commands = ctx.run_commands(instr)
            if not any(_is_apt(cmd) and cmd.subcommand() == "update" for cmd in commands):
                continue
            cleaned = any(
                cmd.name == "rm" and any(arg.startswith("/var/lib/apt/lists") for arg in cmd.args)
                for cmd in commands
            )
            if cleaned or _has_cache_mount(instr, "/var/lib/apt"):
                continue
            ctx.add(
                "DUI006",
                instr,
                "apt-get update leaves the package lists (~20-50 MB) in this layer.",
                "End the same RUN with `&& rm -rf /var/lib/apt/lists/*` (after the install).",
            )


def _check_apt_recommends(ctx: _Context) -> None:
    for stage in ctx.shipping:
        for instr in stage.find("RUN"):
            for cmd in ctx.run_commands(instr):
                if not _apt_installs(cmd):
                    continue
                if "--no-install-recommends" in cmd.args or any(
                    "Install-Recommends" in arg for arg in cmd.args
                ):
                    continue
                ctx.add(
                    "DUI007",
                    instr,
                    f"`{cmd.name} install` also installs recommended packages.",
                    f"{cmd.name} install -y --no-install-recommends "
                    + " ".join(cmd.operands()[1:]),
                )
                break


def _check_pip_cache(ctx: _Context) -> None:
    for stage in ctx.shipping:
        env_chain = ctx.dockerfile.lineage(stage)
        for instr in stage.find("RUN"):
            env = _stage_env(env_chain, until=instr)
            if env.get("PIP_NO_CACHE_DIR", "").strip():
                continue
            if _has_cache_mount(instr, "/root/.cache", "/root/.cache/pip") or any(
                "pip" in m and "type=cache" in m for m in instr.flag_values("mount")
            ):
                continue
            for cmd in ctx.run_commands(instr):
                if not _is_pip_install(cmd) or "--no-cache-dir" in cmd.args:
                    continue
                if any(a.startswith("PIP_NO_CACHE_DIR=") for a in cmd.assignments):
                    continue
                words = list(cmd.words)
                index = words.index("install") + 1 if "install" in words else len(words)
                fixed = " ".join([*words[:index], "--no-cache-dir", *words[index:]])
                ctx.add(
                    "DUI008",
                    instr,
                    "pip install keeps its download cache (~/.cache/pip) in the layer.",
                    f"{fixed} (or ENV PIP_NO_CACHE_DIR=1 once in the stage).",
                )
                break


_ARCHIVE = re.compile(
    r"\.(?:tar|tgz|tbz2?|tb2|txz|tzst|tlz|taz|tz|gz|bz2|xz|zst|lz|lzma|z)$", re.IGNORECASE
)


def _is_remote(src: str) -> bool:
    lowered = src.lower()
    return lowered.startswith(("http://", "https://", "git@", "git://")) or lowered.endswith(".git")


def _check_add(ctx: _Context) -> None:
    for instr in ctx.dockerfile.instructions:
        if instr.keyword != "ADD" or len(instr.args) < 2:
            continue
        sources = list(instr.args[:-1])
        if any("$" in src for src in sources):
            continue
        if all(_is_remote(src) or _ARCHIVE.search(src) for src in sources):
            continue
        flags = " ".join(
            f"--{name}={value}" if value is not None else f"--{name}"
            for name, value in instr.flags
            if name in ("chown", "chmod", "from", "link", "exclude", "parents")
        )
        copy = " ".join(part for part in ("COPY", flags, instr.arguments) if part)
        zips = [src for src in sources if src.lower().endswith(".zip")]
        note = " (ADD does not unpack .zip files either)" if zips else ""
        ctx.add(
            "DUI009",
            instr,
            f"ADD {' '.join(sources)} copies plain files{note}: COPY does that without "
            "ADD's URL and archive magic.",
            copy,
        )


def _package_manager(cmd: ShellCommand) -> str | None:
    sub = cmd.subcommand()
    if _is_apt(cmd) and sub in ("update", "install", "upgrade", "dist-upgrade"):
        return "apt-get"
    if cmd.name == "apk" and sub in ("add", "update", "upgrade"):
        return "apk"
    if cmd.name in ("yum", "dnf", "microdnf") and sub in ("install", "update", "makecache"):
        return "yum"
    if _is_pip_install(cmd):
        return "pip"
    if cmd.name in ("npm", "yarn", "pnpm") and sub in ("install", "i", "ci", "add"):
        return "npm"
    if cmd.name == "gem" and sub == "install":
        return "gem"
    return None


def _check_run_runs(ctx: _Context) -> None:
    for stage in ctx.dockerfile.stages:
        group: list[Instruction] = []
        for instr in [*stage.instructions, None]:
            if (
                instr is not None
                and instr.keyword == "RUN"
                and (not group or group[-1].flags == instr.flags)
                and not instr.heredocs
            ):
                group.append(instr)
                continue
            _report_run_group(ctx, group)
            group = [instr] if instr is not None and instr.keyword == "RUN" else []
            if group and group[0].heredocs:
                group = []


def _report_run_group(ctx: _Context, group: list[Instruction]) -> None:
    if len(group) < 2:
        return
    managers = [
        {m for m in (_package_manager(cmd) for cmd in ctx.run_commands(instr)) if m}
        for instr in group
    ]
    repeated = None
    for first, second in itertools.pairwise(managers):
        common = first & second
        if common:
            repeated = sorted(common)[0]
            break
    if len(group) < 3 and repeated is None:
        return
    lines = ", ".join(str(instr.line) for instr in group)
    if repeated is not None:
        message = (
            f"{len(group)} RUN instructions in a row (lines {lines}) split {repeated} work "
            "across layers: a cached earlier step (e.g. a stale `apt-get update`) is reused "
            "when a later one changes."
        )
    else:
        message = f"{len(group)} RUN instructions in a row (lines {lines}): one layer each."
    ctx.add(
        "DUI010",
        group[1],
        message,
        "Join them into one RUN with `&& \\` between the commands.",
    )


def _check_compilers(ctx: _Context) -> None:
    if not ctx.shipping:
        return
    root = ctx.shipping[0]
    official = root.base.official_name
    if official in TOOLCHAIN_IMAGES and root.parent is None:
        what, runtime = TOOLCHAIN_IMAGES[official]
        ctx.add(
            "DUI011",
            root.from_instruction,
            f"The final image is based on {root.base.text}: {what} ships with the app.",
            f"Build in a first stage (FROM {root.base.text} AS build), then start a small "
            f"final stage (FROM {runtime}) and COPY --from=build only the built artifact.",
        )
        return
    if len(ctx.dockerfile.stages) != 1:
        return
    for instr in root.find("RUN"):
        commands = ctx.run_commands(instr)
        if any(_removes_packages(cmd) for cmd in commands):
            continue  # installed, used and purged in one layer: nothing ships
        found = sorted(
            {
                pkg
                for cmd in commands
                for pkg in _installed_packages(cmd)
                if pkg in COMPILER_PACKAGES
            }
        )
        if not found:
            continue
        ctx.add(
            "DUI011",
            instr,
            f"{', '.join(found)} installed in a single-stage build: the compilers ship in the "
            "final image.",
            f"Use a multi-stage build: compile in FROM {root.base.text} AS build, then "
            "COPY --from=build only the results (wheels, a venv, a binary) into a clean final "
            "stage; or purge them in the same RUN (apt-get purge -y --auto-remove ...).",
        )


def _exec_form(instr: Instruction) -> str:
    text = instr.arguments.strip()
    words = text.split()
    simple = words and not re.search(r"[$&|;<>()`*?~{}\[\]\\'\"]", text)
    if simple:
        inner = ", ".join(_json_str(word) for word in words)
        return f"{instr.keyword} [{inner}]"
    return f'{instr.keyword} ["/bin/sh", "-c", {_json_str("exec " + text)}]'


def _json_str(text: str) -> str:
    return json.dumps(text)


def _check_shell_form(ctx: _Context) -> None:
    seen: set[int] = set()
    for stage in ctx.shipping:
        for instr in stage.instructions:
            if instr.keyword not in ("CMD", "ENTRYPOINT") or instr.json_form or not instr.args:
                continue
            if instr.line in seen:
                continue
            seen.add(instr.line)
            text = instr.arguments.strip()
            if text.startswith("["):
                message = (
                    f"{instr.keyword} {text} is not valid JSON (strings need double quotes), "
                    "so Docker runs it through /bin/sh as text."
                )
                fix = f"{instr.keyword} " + text.replace("'", '"')
            else:
                message = (
                    f"Shell-form {instr.keyword}: the app runs under /bin/sh -c, is not PID 1 "
                    "and does not get SIGTERM on docker stop."
                )
                fix = _exec_form(instr)
            ctx.add("DUI012", instr, message, fix)


_TEMP_DIRS = ("/tmp", "/var/tmp", "$TMPDIR", "${TMPDIR}", "/usr/src", "/usr/local/src")
_BACK = frozenset({"/", "-", "..", "~", "$HOME", "${HOME}", "$OLDPWD", "${OLDPWD}"})


def _check_cd(ctx: _Context) -> None:
    for instr in ctx.dockerfile.instructions:
        if instr.keyword != "RUN":
            continue
        commands = ctx.run_commands(instr)
        removed = [
            arg.rstrip("/")
            for cmd in commands
            if cmd.name == "rm"
            for arg in cmd.operands()
            if arg not in ("/", "*")
        ]
        lasting: list[str] = []
        for cmd in commands:
            if cmd.name != "cd":
                continue
            target = (cmd.operands() or ["~"])[0]
            if target in _BACK or target.startswith(_TEMP_DIRS) or "mktemp" in target:
                continue
            if any(target.rstrip("/") == gone or target.startswith(gone + "/") for gone in removed):
                continue
            if not target.startswith("/") and not target.startswith("$"):
                continue  # a relative cd into a directory the RUN itself made/unpacked
            lasting.append(target)
        if not lasting:
            continue
        target = lasting[0]
        ctx.add(
            "DUI013",
            instr,
            f"`cd {target}` inside RUN only lasts for this RUN.",
            f"WORKDIR {target} before the RUN, and drop the cd.",
        )


_SERVER_DEFAULT_PORTS = {
    "gunicorn": 8000,
    "uvicorn": 8000,
    "hypercorn": 8000,
    "daphne": 8000,
    "waitress-serve": 8080,
    "flask": 5000,
    "streamlit": 8501,
    "nginx": 80,
    "httpd": 80,
    "apache2-foreground": 80,
    "apache2ctl": 80,
    "caddy": 80,
    "puma": 9292,
    "rails": 3000,
    "unicorn": 8080,
    "rackup": 9292,
    "http-server": 8080,
    "serve": 3000,
    "next": 3000,
    "php-fpm": 9000,
    "runserver": 8000,
    "http.server": 8000,
}
_SERVER_PROGRAMS = frozenset(
    {
        "gunicorn",
        "uvicorn",
        "hypercorn",
        "daphne",
        "waitress-serve",
        "puma",
        "nginx",
        "httpd",
        "apache2-foreground",
        "apache2ctl",
        "php-fpm",
    }
)
_PY_WEB_SCRIPTS = frozenset({"app.py", "server.py", "wsgi.py", "asgi.py", "web.py"})
_NODE_WEB_SCRIPTS = re.compile(r"(^|/)(server|app)(\.[cm]?js|\.ts)?$")
_PORT_IN_ARG = re.compile(r"(?:^|:)(\d{2,5})$")


def _server_of(commands: list[ShellCommand]) -> tuple[str, int | None] | None:
    """(what, port if known) when a command is clearly a network server."""
    for cmd in commands:
        name, args = cmd.name, list(cmd.args)
        ops = cmd.operands()
        server: str | None = None
        if name in _SERVER_PROGRAMS:
            server = name
        elif name == "busybox" and ops[:1] == ["httpd"]:
            server = "httpd"
        elif name == "caddy" and ops[:1] == ["run"]:
            server = "caddy"
        elif name == "flask" and ops[:1] == ["run"]:
            server = "flask"
        elif name == "streamlit" and ops[:1] == ["run"]:
            server = "streamlit"
        elif name in ("rails",) and ops[:1] in (["server"], ["s"]):
            server = "rails"
        elif name in ("unicorn", "rackup", "http-server", "serve"):
            server = name
        elif name == "next" and ops[:1] == ["start"]:
            server = "next"
        elif re.fullmatch(r"python[0-9.]*", name):
            if "-m" in args:
                module = args[args.index("-m") + 1 : args.index("-m") + 2]
                if module in (["flask"], ["http.server"]) or module[:1] in (
                    ["gunicorn"],
                    ["uvicorn"],
                ):
                    server = module[0]
                    if server == "flask" and "run" not in args:
                        server = None
            elif ops and posixpath.basename(ops[0]) == "manage.py" and "runserver" in ops:
                server = "runserver"
            elif ops and posixpath.basename(ops[0]) in _PY_WEB_SCRIPTS:
                server = f"python {posixpath.basename(ops[0])}"
        elif name in ("node", "nodejs", "bun", "deno") and ops:
            if _NODE_WEB_SCRIPTS.search(ops[0]):
                server = f"{name} {posixpath.basename(ops[0])}"
        elif name == "java" and "-jar" in args:
            server = "java -jar"
        if server is None:
            continue
        return server, _port_from_args(server, args)
    return None


def _port_from_args(server: str, args: list[str]) -> int | None:
    for index, arg in enumerate(args):
        value: str | None = None
        if arg in ("-b", "--bind", "--port", "-p", "--listen", "-l", "--server.port"):
            value = args[index + 1] if index + 1 < len(args) else None
        elif arg.startswith(
            ("--bind=", "--port=", "--listen=", "--server.port=")
        ) or arg.startswith("-Dserver.port="):
            value = arg.split("=", 1)[1]
        elif server in ("runserver", "http.server") and re.fullmatch(r"(?:[\d.]*:)?\d{2,5}", arg):
            value = arg
        if value:
            match = _PORT_IN_ARG.search(value)
            if match and 1 <= int(match.group(1)) <= 65535:
                return int(match.group(1))
    return _SERVER_DEFAULT_PORTS.get(server.split()[0]) if " " not in server else None


def _check_expose(ctx: _Context) -> None:
    if not ctx.shipping:
        return
    if any(stage.find("EXPOSE") for stage in ctx.shipping):
        return
    base = ctx.shipping[0].base
    if base.official_name in _EXPOSING_BASES or (
        base.official_name == "php" and base.tag and ("apache" in base.tag or "fpm" in base.tag)
    ):
        return  # the base image's own EXPOSE is inherited
    if "nginx-unprivileged" in base.path:
        return
    entrypoint = _last(ctx.shipping, "ENTRYPOINT")
    cmd = _last(ctx.shipping, "CMD")
    for instr in (cmd, entrypoint):
        if instr is None:
            continue
        server = _server_of(ctx.run_commands(instr))
        if server is None:
            continue
        what, port = server
        fix = (
            f"EXPOSE {port} (the port {what} listens on) before the {instr.keyword}."
            if port
            else f"EXPOSE <port> with the port {what} listens on, before the {instr.keyword}."
        )
        ctx.add(
            "DUI014",
            instr,
            f"{instr.keyword} starts a server ({what}) but the image EXPOSEs no port.",
            fix,
        )
        return


def _check_apk_cache(ctx: _Context) -> None:
    for stage in ctx.shipping:
        for instr in stage.find("RUN"):
            commands = ctx.run_commands(instr)
            if _has_cache_mount(instr, "/var/cache/apk", "/etc/apk/cache"):
                continue
            if any(
                cmd.name == "rm" and any(a.startswith("/var/cache/apk") for a in cmd.args)
                for cmd in commands
            ):
                continue
            for cmd in commands:
                if cmd.name != "apk" or cmd.subcommand() != "add" or "--no-cache" in cmd.args:
                    continue
                ctx.add(
                    "DUI015",
                    instr,
                    "apk add without --no-cache keeps the package index in /var/cache/apk.",
                    "apk add --no-cache " + " ".join(cmd.operands()[1:]),
                )
                break


_CHECKS: list[Callable[[_Context], None]] = [
    _check_base_tags,
    _check_slim_base,
    _check_user,
    _check_secrets,
    _check_copy_order,
    _check_apt_lists,
    _check_apt_recommends,
    _check_pip_cache,
    _check_add,
    _check_run_runs,
    _check_compilers,
    _check_shell_form,
    _check_cd,
    _check_expose,
    _check_apk_cache,
]

_IGNORE = re.compile(r"^dockui\s+(global\s+)?ignore\s*=\s*([A-Za-z0-9_,\s]+)$", re.IGNORECASE)


def _suppressions(df: Dockerfile) -> tuple[set[str], dict[int, set[str]]]:
    """`# dockui global ignore=...` ids, and per-instruction-line ids from the comment
    block right above an instruction."""
    global_ids: set[str] = set()
    by_comment_line: dict[int, set[str]] = {}
    for comment in df.comments:
        match = _IGNORE.match(comment.text)
        if not match:
            continue
        ids = {part.strip().upper() for part in re.split(r"[,\s]+", match.group(2)) if part}
        if match.group(1):
            global_ids |= ids
        else:
            by_comment_line[comment.line] = ids
    per_line: dict[int, set[str]] = {}
    comment_lines = {comment.line for comment in df.comments}
    for instr in df.instructions:
        line = instr.line - 1
        while line >= 1 and line in comment_lines:
            if line in by_comment_line:
                per_line.setdefault(instr.line, set()).update(by_comment_line[line])
            line -= 1
    return global_ids, per_line


def lint(dockerfile: Dockerfile, ignore: tuple[str, ...] | list[str] = ()) -> list[Finding]:
    """Every finding for a parsed Dockerfile, sorted by line (then rule id)."""
    ctx = _Context(dockerfile)
    for problem in dockerfile.problems:
        ctx.add(
            "DUI000",
            problem.line,
            problem.message,
            "Fix the syntax; see https://docs.docker.com/reference/dockerfile/",
        )
    if dockerfile.stages:
        ctx.shipping = dockerfile.lineage()
        for check in _CHECKS:
            check(ctx)
    global_ids, per_line = _suppressions(dockerfile)
    skip = {rule.upper() for rule in ignore} | global_ids
    findings = [
        finding
        for finding in ctx.findings
        if finding.rule not in skip and finding.rule not in per_line.get(finding.line, set())
    ]
    unique: dict[tuple[str, int, str], Finding] = {}
    for finding in findings:
        unique.setdefault((finding.rule, finding.line, finding.message), finding)
    return sorted(unique.values(), key=lambda f: (f.line, f.rule))


def lint_text(text: str, ignore: tuple[str, ...] | list[str] = ()) -> list[Finding]:
    """Parse and lint Dockerfile text in one call."""
    return lint(parse(text), ignore)


__all__ = [
    "RULES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "Finding",
    "Rule",
    "ShellCommand",
    "is_secret_name",
    "lint",
    "lint_text",
    "run_commands",
    "shell_commands",
]
