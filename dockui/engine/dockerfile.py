"""A Dockerfile parser that reads a file the way BuildKit's frontend reads it.

The build dialog needs the stage names (its target choices), the run dialog needs the ports
the final stage EXPOSEs, and the linter needs every instruction with its line. All three
want the same answer Docker would give, so the rules here follow BuildKit's parser
(moby/buildkit frontend/dockerfile/parser) rather than a regex per instruction:

- Parser directives (`# syntax=`, `# escape=`, `# check=`) count only in the leading block
  of `# key=value` lines; the first comment, blank line or instruction ends that block. An
  unknown directive ends it too, and is then just a comment.
- The escape character (backslash, or a backtick after `# escape=\\``) continues a line
  when it is the last non-blank character. Inside a continued instruction, comment lines
  and blank lines are skipped, exactly as Docker skips them; line numbers stay physical.
- RUN, COPY and ADD may carry heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`): their bodies are
  read verbatim up to the terminator and kept with the instruction.
- `RUN`/`CMD`/`ENTRYPOINT` are exec (JSON) form only when the arguments are a valid JSON
  list of strings; anything else, even `["a", 'b']`, is shell form, as Docker decides.
- `ARG` before the first `FROM` declares build arguments for `FROM` lines; their defaults
  are substituted into `FROM` so `FROM ${BASE}` is resolved where a default exists.

Nothing here raises on bad input: `parse` collects `problems` (line + message) and returns
what it could read, so an editor or the build dialog can show both. No Docker, no Textual.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
# Instructions whose arguments may be a JSON list (exec form) or plain text (shell form).
EXEC_FORM_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT"})
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp"})

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"^(\d*)<<(-?)(([\"']?)([A-Za-z_][A-Za-z0-9_.-]*)\4)$")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>.*))?$", re.S)


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class Problem:
    """Something Docker would reject or warn about, found while parsing."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Directive:
    """A parser directive from the top of the file, e.g. `# syntax=docker/dockerfile:1`."""

    name: str  # lower-cased
    value: str
    line: int


@dataclass(frozen=True, slots=True)
class Comment:
    """A `#` comment line; kept because linters read `# dockui ignore=...` from them."""

    line: int
    text: str  # without the leading `#`, stripped


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A here-document attached to RUN/COPY/ADD: `<<EOF` ... `EOF`."""

    name: str
    body: str  # the lines between marker and terminator, joined with "\n"
    line: int  # the first body line (the line after the instruction)
    end_line: int  # the terminator's line
    strip_tabs: bool = False  # `<<-EOF`: leading tabs are removed from the body
    quoted: bool = False  # `<<"EOF"`/`<<'EOF'`: no variable expansion in the body
    fd: int | None = None  # `3<<EOF`


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image reference as FROM names it: `[registry/]path[:tag][@digest]`."""

    text: str
    registry: str | None
    path: str
    tag: str | None
    digest: str | None

    @property
    def is_scratch(self) -> bool:
        return self.text.lower() == "scratch"

    @property
    def has_variables(self) -> bool:
        """True when an unresolved `$VAR` is left: nothing certain can be said about it."""
        return "$" in self.text

    @property
    def official_name(self) -> str | None:
        """`python` for `python:3.12`, `docker.io/library/python` or `library/python`; None
        for anything that is not a Docker Hub official image (`ghcr.io/x/python`,
        `bitnami/python`)."""
        if self.registry not in (None, "docker.io", "index.docker.io", "registry-1.docker.io"):
            return None
        path = self.path.lower()
        if path.startswith("library/"):
            path = path[len("library/") :]
        return None if "/" in path else path

    @property
    def repository(self) -> str:
        """Registry and path without tag or digest, e.g. `ghcr.io/acme/app`."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    def with_tag(self, tag: str) -> str:
        """This reference with another tag (and no digest), for suggestions."""
        return f"{self.repository}:{tag}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction, with the lines it spans and its arguments parsed.

    `args` depends on the form: for exec form (`json_form`) it is the JSON list; for
    shell-form RUN/CMD/ENTRYPOINT it is a single string, the command; for every other
    instruction it is the words, with quotes and escapes resolved. `pairs` holds the
    name/value pairs of ENV, LABEL and ARG (an ARG without default has value None).
    """

    keyword: str  # upper-cased, e.g. "RUN"
    line: int  # 1-based line of the keyword
    end_line: int  # last physical line, heredoc terminators included
    raw: str  # the physical lines exactly as written, joined with "\n"
    text: str  # the logical line: continuations joined, inner comments dropped
    arguments: str  # `text` after the keyword and the flags
    args: tuple[str, ...] = ()
    flags: tuple[tuple[str, str | None], ...] = ()
    json_form: bool = False
    pairs: tuple[tuple[str, str | None], ...] = ()
    heredocs: tuple[Heredoc, ...] = ()
    stage: int = -1  # index of the stage it belongs to; -1 before the first FROM
    trigger: Instruction | None = None  # the instruction an ONBUILD carries

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` (the last one if repeated); "" for a bare `--name`;
        None when the flag is absent."""
        value: str | None = None
        for key, val in self.flags:
            if key == name:
                value = "" if val is None else val
        return value

    def flag_values(self, name: str) -> list[str]:
        """Every value of a repeatable flag, e.g. all `--mount=` of a RUN."""
        return [("" if val is None else val) for key, val in self.flags if key == name]

    @property
    def shell_form(self) -> bool:
        return not self.json_form

    @property
    def command(self) -> str:
        """RUN/CMD/ENTRYPOINT as one line: the shell text, or the exec list joined by spaces."""
        if self.json_form:
            return " ".join(self.args)
        return self.arguments


@dataclass(frozen=True, slots=True)
class Stage:
    """A build stage: one FROM and the instructions up to the next FROM."""

    index: int
    name: str | None  # the `AS name`, lower-cased as Docker matches it
    base: ImageRef  # with global ARG defaults substituted
    line: int  # the FROM line
    instructions: tuple[Instruction, ...]  # the FROM first
    platform: str | None = None
    parent: int | None = None  # index of an earlier stage this one is FROM

    @property
    def base_image(self) -> str:
        return self.base.text

    @property
    def from_instruction(self) -> Instruction:
        return self.instructions[0]

    def find(self, keyword: str) -> list[Instruction]:
        """The instructions of this stage with that keyword, in order."""
        keyword = keyword.upper()
        return [instr for instr in self.instructions if instr.keyword == keyword]


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """A parsed Dockerfile: instructions in order, grouped into stages, plus problems."""

    instructions: tuple[Instruction, ...] = ()
    directives: tuple[Directive, ...] = ()
    comments: tuple[Comment, ...] = ()
    problems: tuple[Problem, ...] = ()
    escape: str = "\\"
    line_count: int = 0
    stage_tuple: tuple[Stage, ...] = field(default=(), repr=False)

    @property
    def stages(self) -> list[Stage]:
        return list(self.stage_tuple)

    @property
    def final_stage(self) -> Stage | None:
        return self.stage_tuple[-1] if self.stage_tuple else None

    @property
    def syntax(self) -> str | None:
        return self.directive("syntax")

    def directive(self, name: str) -> str | None:
        for directive in self.directives:
            if directive.name == name.lower():
                return directive.value
        return None

    @property
    def global_args(self) -> dict[str, str | None]:
        """ARGs declared before the first FROM, with their defaults (None: no default)."""
        found: dict[str, str | None] = {}
        for instr in self.instructions:
            if instr.stage >= 0:
                break
            if instr.keyword == "ARG":
                found.update(instr.pairs)
        return found

    def stage_names(self) -> list[str]:
        """The named stages in file order: the choices for `docker build --target`."""
        return [stage.name for stage in self.stage_tuple if stage.name]

    def stage(self, ref: str | int) -> Stage | None:
        """The stage called `ref` (case-insensitive) or with that index; None if none."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            index = int(ref)
            return self.stage_tuple[index] if 0 <= index < len(self.stage_tuple) else None
        for stage in self.stage_tuple:
            if stage.name == ref.lower():
                return stage
        return None

    def lineage(self, stage: Stage | int | None = None) -> list[Stage]:
        """The stage (default: the final one) and the earlier stages it is built FROM, oldest
        first: everything whose layers end up in that stage's image."""
        if stage is None:
            stage = self.final_stage
        elif isinstance(stage, int):
            stage = self.stage_tuple[stage] if 0 <= stage < len(self.stage_tuple) else None
        chain: list[Stage] = []
        seen: set[int] = set()
        while stage is not None and stage.index not in seen:
            seen.add(stage.index)
            chain.append(stage)
            stage = self.stage_tuple[stage.parent] if stage.parent is not None else None
        chain.reverse()
        return chain

    def copy_source(self, instr: Instruction) -> Stage | ImageRef | None:
        """Where a `COPY --from=...` copies from: an earlier stage (by name or index) or an
        image. None when the instruction has no --from."""
        ref = instr.flag("from")
        if not ref:
            return None
        for stage in self.stage_tuple[: max(instr.stage, 0)]:
            if stage.name == ref.lower() or (ref.isdigit() and int(ref) == stage.index):
                return stage
        return parse_image_ref(ref)

    def exposed_ports(self, stage: Stage | int | None = None) -> list[tuple[int, str]]:
        """(port, protocol) pairs the stage (default: the final one) EXPOSEs, inherited
        ones from the stages it is built FROM included, in order, without duplicates.
        Ranges are expanded (`8000-8002` → three ports) and `$PORT` is resolved from
        ARG/ENV defaults; a port that cannot be resolved is left out."""
        ports: dict[tuple[int, str], None] = {}
        globals_ = self.global_args
        inherited: dict[str, str] = {}
        for member in self.lineage(stage):
            env = dict(inherited)
            for instr in member.instructions:
                if instr.keyword == "ARG":
                    for name, default in instr.pairs:
                        value = expand(default, env) if default is not None else globals_.get(name)
                        if value is not None:
                            env[name] = value
                elif instr.keyword == "ENV":
                    for name, value in instr.pairs:
                        expanded = expand(value or "", env)
                        env[name] = expanded if expanded is not None else ""
                        inherited[name] = env[name]
                elif instr.keyword == "EXPOSE":
                    for word in instr.args:
                        resolved = expand(word, env)
                        if resolved is None:
                            continue
                        for part in resolved.split():
                            try:
                                for port in parse_port_spec(part):
                                    ports.setdefault(port, None)
                            except ValueError:
                                continue
        return list(ports)


# ---------------------------------------------------------------------------------------------
# Small public helpers


def parse_image_ref(text: str) -> ImageRef:
    """Split `[registry/]path[:tag][@digest]`. A first component with a `.` or `:`, or
    `localhost`, is a registry (the same test the docker CLI uses)."""
    rest = text.strip()
    digest: str | None = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    registry: str | None = None
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    tag: str | None = None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        rest, tag = rest[:colon], rest[colon + 1 :]
    return ImageRef(text=text.strip(), registry=registry, path=rest, tag=tag, digest=digest)


def parse_port_spec(text: str) -> list[tuple[int, str]]:
    """`80`, `80/tcp`, `53/udp`, `8000-8010`, `8000-8010/udp` → [(port, protocol), ...].

    Raises ValueError with a readable message for anything else. The protocol is lower-
    cased (Docker accepts `80/TCP` but warns). An `ip:host:container` mapping is not
    valid in EXPOSE and is rejected here.
    """
    spec = text.strip()
    if not spec:
        raise ValueError("empty port")
    port_part, slash, proto = spec.partition("/")
    proto = proto.lower() if slash else "tcp"
    if proto not in PORT_PROTOCOLS:
        raise ValueError(f"invalid protocol {proto!r} in {text!r} (tcp, udp or sctp)")
    if ":" in port_part:
        raise ValueError(f"EXPOSE takes container ports only, not a host mapping: {text!r}")
    low, dash, high = port_part.partition("-")
    try:
        start = int(low)
        end = int(high) if dash else start
    except ValueError:
        raise ValueError(f"invalid port {text!r}") from None
    for number in (start, end):
        if not 1 <= number <= 65535:
            raise ValueError(f"port {number} out of range 1-65535 in {text!r}")
    if end < start:
        raise ValueError(f"invalid port range {text!r}: end before start")
    return [(number, proto) for number in range(start, end + 1)]


def expand(text: str, env: dict[str, str | None]) -> str | None:
    """Substitute `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}` and
    `${VAR+alt}` from `env`. Returns None when a variable without a default is unknown,
    so callers can tell "resolved" from "guessed"."""
    unresolved = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group("plain")
        op = word = None
        if name is None:
            braced = _BRACED.match(match.group("braced") or "")
            if braced is None:
                unresolved = True
                return match.group(0)
            name, op, word = braced.group("name"), braced.group("op"), braced.group("word")
        value = env.get(name)
        is_set = name in env and value is not None
        if op in (":-", "-"):
            use_default = not is_set or (op == ":-" and value == "")
            return (word or "") if use_default else str(value)
        if op in (":+", "+"):
            present = is_set and (op == "+" or value != "")
            return (word or "") if present else ""
        if not is_set:
            unresolved = True
            return match.group(0)
        return str(value)

    result = _VARIABLE.sub(substitute, text)
    return None if unresolved else result


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Whitespace-separated words with quotes and escapes resolved, as Docker's shell
    lexer splits COPY/ADD/EXPOSE/FROM arguments (variables are left as written)."""
    return [word for word, _start, _end, _raw in _scan_words(text, escape)]


def parse_file(path: str | Path) -> Dockerfile:
    """Read and parse a Dockerfile. Raises OSError if the file cannot be read (the caller
    decides how to report that); a file that is not valid UTF-8 is decoded with
    replacement characters rather than refused."""
    data = Path(path).read_bytes()
    return parse(data.decode("utf-8", errors="replace"))


def parse(text: str) -> Dockerfile:
    """Parse Dockerfile text. Never raises: whatever is wrong ends up in `problems`."""
    try:
        return _Parser(text).run()
    except Exception as exc:  # a parser bug must not take the caller down
        return Dockerfile(problems=(Problem(1, f"could not parse the Dockerfile: {exc!r}"),))


# ---------------------------------------------------------------------------------------------
# The parser


def _scan_words(text: str, escape: str) -> list[tuple[str, int, int, str]]:
    """(value, start, end, raw) for each word; quotes and escapes resolved in `value`."""
    words: list[tuple[str, int, int, str]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        buf: list[str] = []
        quote: str | None = None
        while i < n:
            char = text[i]
            if quote:
                if char == quote:
                    quote = None
                elif char == escape and quote == '"' and i + 1 < n:
                    i += 1
                    buf.append(text[i])
                else:
                    buf.append(char)
                i += 1
                continue
            if char.isspace():
                break
            if char in "'\"":
                quote = char
            elif char == escape and i + 1 < n:
                i += 1
                buf.append(text[i])
            else:
                buf.append(char)
            i += 1
        words.append(("".join(buf), start, i, text[start:i]))
    return words


def _unquote(text: str, escape: str) -> str:
    """Resolve quotes and escapes but keep the whitespace (a legacy `ENV key value`)."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote and char == quote:
            quote = None
        elif not quote and char in "'\"":
            quote = char
        elif char == escape and quote != "'" and i + 1 < len(text):
            i += 1
            out.append(text[i])
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _json_list(text: str) -> list[str] | None:
    """The list if `text` is a JSON array of strings (Docker's test for exec form)."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return value


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """Strip a trailing escape character (and blanks after it); True if the line continues."""
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape):
        return stripped[: -len(escape)], True
    return line, False


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


class _Parser:
    def __init__(self, text: str) -> None:
        text = text.removeprefix("\ufeff")
        self.lines = [line.removesuffix("\r") for line in text.split("\n")]
        if self.lines and self.lines[-1] == "" and text.endswith("\n"):
            self.lines.pop()
        self.escape = "\\"
        self.problems: list[Problem] = []
        self.directives: list[Directive] = []
        self.comments: list[Comment] = []
        self.instructions: list[Instruction] = []
        self.stage = -1

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def run(self) -> Dockerfile:
        index = self.read_directives()
        lines = self.lines
        while index < len(lines):
            line = lines[index]
            if _is_comment(line):
                self.comments.append(Comment(index + 1, line.lstrip()[1:].strip()))
                index += 1
                continue
            if not line.strip():
                index += 1
                continue
            index = self.read_instruction(index)
        stages = self.build_stages()
        if not self.instructions:
            self.problem(1, "the Dockerfile has no instructions")
        elif not stages:
            self.problem(self.instructions[0].line, "no FROM instruction: nothing to build on")
        return Dockerfile(
            instructions=tuple(self.instructions),
            directives=tuple(self.directives),
            comments=tuple(self.comments),
            problems=tuple(sorted(self.problems, key=lambda p: p.line)),
            escape=self.escape,
            line_count=len(lines),
            stage_tuple=tuple(stages),
        )

    def read_directives(self) -> int:
        seen: set[str] = set()
        for index, line in enumerate(self.lines):
            match = _DIRECTIVE.match(line.strip())
            if not match or match.group(1).lower() not in KNOWN_DIRECTIVES:
                return index
            name, value = match.group(1).lower(), match.group(2)
            if name in seen:
                self.problem(index + 1, f"only one {name} parser directive can be used")
            seen.add(name)
            if name == "escape":
                if value not in ("\\", "`"):
                    self.problem(index + 1, f"invalid escape token {value!r}: use ` or \\")
                else:
                    self.escape = value
            self.directives.append(Directive(name, value, index + 1))
        return len(self.lines)

    def read_instruction(self, index: int) -> int:
        lines, escape = self.lines, self.escape
        start = index
        logical, continues = _trim_continuation(lines[index].lstrip(), escape)
        index += 1
        while continues and index < len(lines):
            line = lines[index]
            index += 1
            if _is_comment(line) or not line.strip():
                continue  # Docker drops comment and empty lines inside a continuation
            part, continues = _trim_continuation(line, escape)
            logical += part
        if continues:
            self.problem(start + 1, "the last instruction ends with a line continuation")
        head = logical.strip().split(None, 1)
        keyword_upper = head[0].upper()
        rest = head[1].strip() if len(head) > 1 else ""

        heredocs: list[Heredoc] = []
        if keyword_upper in HEREDOC_INSTRUCTIONS or (
            keyword_upper == "ONBUILD" and rest.split(" ", 1)[0].upper() in HEREDOC_INSTRUCTIONS
        ):
            for _value, _s, _e, raw in _scan_words(rest, escape):
                match = _HEREDOC.match(raw)
                if not match:
                    continue
                fd, dash, _quoted, quote, name = match.groups()
                body_start = index
                body: list[str] = []
                terminated = False
                while index < len(lines):
                    line = lines[index]
                    index += 1
                    if (line.lstrip("\t") if dash else line) == name:
                        terminated = True
                        break
                    body.append(line.lstrip("\t") if dash else line)
                if not terminated:
                    self.problem(start + 1, f"unterminated heredoc <<{name}: no line {name!r}")
                heredocs.append(
                    Heredoc(
                        name=name,
                        body="\n".join(body),
                        line=body_start + 1,
                        end_line=index,
                        strip_tabs=bool(dash),
                        quoted=bool(quote),
                        fd=int(fd) if fd else None,
                    )
                )
        raw_text = "\n".join(lines[start:index])
        instr = self.make(keyword_upper, rest, start + 1, index, raw_text, logical.strip())
        if instr is not None:
            if heredocs:
                instr = _replace(instr, heredocs=tuple(heredocs))
            self.instructions.append(instr)
        return index

    def make(
        self, keyword: str, rest: str, line: int, end_line: int, raw: str, text: str
    ) -> Instruction | None:
        if keyword not in INSTRUCTIONS:
            self.problem(line, f"unknown instruction: {keyword[:40]}")
            return None
        if keyword == "FROM":
            self.stage += 1
        elif self.stage < 0 and keyword != "ARG":
            self.problem(line, f"{keyword} before the first FROM: only ARG may come first")
        flags, arguments = self.split_flags(rest)
        instr = Instruction(
            keyword=keyword,
            line=line,
            end_line=end_line,
            raw=raw,
            text=text,
            arguments=arguments,
            flags=flags,
            stage=self.stage,
        )
        return self.parse_arguments(instr)

    def split_flags(self, rest: str) -> tuple[tuple[tuple[str, str | None], ...], str]:
        flags: list[tuple[str, str | None]] = []
        offset = 0
        for value, _start, end, raw in _scan_words(rest, self.escape):
            if not raw.startswith("--") or raw == "--":
                break
            name, eq, flag_value = value[2:].partition("=")
            flags.append((name.lower(), flag_value if eq else None))
            offset = end
        return tuple(flags), rest[offset:].strip()

    def parse_arguments(self, instr: Instruction) -> Instruction:
        keyword, text, line = instr.keyword, instr.arguments, instr.line
        escape = self.escape
        if keyword in EXEC_FORM_INSTRUCTIONS:
            exec_list = _json_list(text)
            if exec_list is not None:
                return _replace(instr, args=tuple(exec_list), json_form=True)
            if not text and keyword == "RUN":
                self.problem(line, "RUN needs a command")
            return _replace(instr, args=(text,) if text else ())
        if keyword in ("COPY", "ADD", "VOLUME"):
            exec_list = _json_list(text)
            args = tuple(exec_list) if exec_list is not None else tuple(split_words(text, escape))
            if keyword != "VOLUME" and len(args) < 2:
                self.problem(line, f"{keyword} needs at least one source and a destination")
            if keyword == "VOLUME" and not args:
                self.problem(line, "VOLUME needs at least one path")
            return _replace(instr, args=args, json_form=exec_list is not None)
        if keyword == "SHELL":
            exec_list = _json_list(text)
            if exec_list is None or not exec_list:
                self.problem(line, 'SHELL must be a JSON list, e.g. SHELL ["/bin/bash", "-c"]')
                return _replace(instr, args=tuple(split_words(text, escape)))
            return _replace(instr, args=tuple(exec_list), json_form=True)
        if keyword in ("ENV", "LABEL"):
            return _replace(instr, pairs=self.name_values(keyword, text, line))
        if keyword == "ARG":
            pairs: list[tuple[str, str | None]] = []
            for word in split_words(text, escape):
                name, eq, default = word.partition("=")
                if not name:
                    self.problem(line, "ARG names can not be blank")
                    continue
                pairs.append((name, default if eq else None))
            if not pairs:
                self.problem(line, "ARG needs a name")
            return _replace(instr, pairs=tuple(pairs), args=tuple(split_words(text, escape)))
        if keyword == "FROM":
            words = split_words(text, escape)
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
                self.problem(line, "FROM takes an image and optionally AS name")
            elif len(words) == 3 and not _STAGE_NAME.match(words[2].lower()):
                self.problem(
                    line,
                    f"invalid stage name {words[2]!r}: start with a letter; letters, digits, "
                    "'-', '_' and '.' only",
                )
            return _replace(instr, args=tuple(words))
        if keyword == "EXPOSE":
            words = split_words(text, escape)
            if not words:
                self.problem(line, "EXPOSE needs at least one port")
            for word in words:
                if "$" in word:
                    continue
                try:
                    parse_port_spec(word)
                except ValueError as exc:
                    self.problem(line, f"EXPOSE: {exc}")
            return _replace(instr, args=tuple(words))
        if keyword == "ONBUILD":
            inner = text.split(None, 1)
            inner_upper = inner[0].upper() if inner else ""
            inner_rest = inner[1] if len(inner) > 1 else ""
            if not inner_upper:
                self.problem(line, "ONBUILD needs an instruction")
                return instr
            if inner_upper in ("ONBUILD", "FROM", "MAINTAINER"):
                self.problem(line, f"{inner_upper} is not allowed as an ONBUILD trigger")
                return instr
            saved = self.stage
            trigger = self.make(inner_upper, inner_rest.strip(), line, instr.end_line, "", text)
            self.stage = saved
            return _replace(instr, trigger=trigger) if trigger else instr
        if keyword == "HEALTHCHECK":
            words = split_words(text, escape)
            if not words:
                self.problem(line, "HEALTHCHECK needs NONE or CMD")
                return instr
            head, _, command = text.partition(" ")
            if head.upper() == "NONE":
                return _replace(instr, args=("NONE",))
            if head.upper() != "CMD":
                self.problem(line, "HEALTHCHECK needs NONE or CMD")
                return _replace(instr, args=tuple(words))
            exec_list = _json_list(command)
            if exec_list is not None:
                return _replace(instr, args=("CMD", *exec_list), json_form=True)
            return _replace(instr, args=("CMD", command.strip()))
        # WORKDIR, USER, STOPSIGNAL, MAINTAINER: one string
        if not text:
            self.problem(line, f"{keyword} needs an argument")
            return instr
        return _replace(instr, args=(text,))

    def name_values(self, keyword: str, text: str, line: int) -> tuple[tuple[str, str | None], ...]:
        """ENV/LABEL: `key=value ...`, or the legacy `ENV key value with spaces`."""
        words = _scan_words(text, self.escape)
        if not words:
            self.problem(line, f"{keyword} needs at least one name=value")
            return ()
        first_raw = words[0][3]
        if "=" not in first_raw.split('"', 1)[0].split("'", 1)[0]:
            # legacy form: the first word is the name, everything after it the value
            if len(words) < 2:
                self.problem(line, f"{keyword} {words[0][0]} needs a value")
                return ((words[0][0], ""),)
            return ((words[0][0], _unquote(text[words[1][1] :].strip(), self.escape)),)
        pairs: list[tuple[str, str | None]] = []
        for value, _start, _end, raw in words:
            if "=" not in raw:
                self.problem(line, f"{keyword}: can't find = in {raw!r}; use name=value")
                continue
            name, _, val = value.partition("=")
            if not name:
                self.problem(line, f"{keyword} names can not be blank")
                continue
            pairs.append((name, val))
        return tuple(pairs)

    def build_stages(self) -> list[Stage]:
        globals_: dict[str, str | None] = {}
        stages: list[Stage] = []
        members: list[list[Instruction]] = []
        for instr in self.instructions:
            if instr.stage < 0:
                if instr.keyword == "ARG":
                    for name, default in instr.pairs:
                        value = expand(default, globals_) if default is not None else None
                        globals_[name] = value
                continue
            if instr.keyword == "FROM":
                members.append([instr])
            elif members:
                members[-1].append(instr)
        names: dict[str, int] = {}
        for index, group in enumerate(members):
            from_instr = group[0]
            words = list(from_instr.args)
            image_text = words[0] if words else ""
            resolved = expand(image_text, globals_) if "$" in image_text else image_text
            base = parse_image_ref(resolved if resolved is not None else image_text)
            name = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None
            parent = names.get(base.text.lower()) if not base.has_variables else None
            platform = from_instr.flag("platform")
            if name is not None:
                if name in names:
                    self.problem(from_instr.line, f"duplicate stage name {name!r}")
                else:
                    names[name] = index
            stages.append(
                Stage(
                    index=index,
                    name=name,
                    base=base,
                    line=from_instr.line,
                    instructions=tuple(group),
                    platform=platform,
                    parent=parent,
                )
            )
        return stages


def _replace(instr: Instruction, **changes: object) -> Instruction:
    return replace(instr, **changes)  # type: ignore[arg-type]
