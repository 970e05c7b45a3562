"""The Dockerfile model: stages and instructions with exact source positions.

Structure (instruction boundaries, flags, arguments, heredocs) comes from BuildKit's own parser through
the `dockerfile` package. BuildKit reports only line ranges, so positions of keywords, flags, arguments
and heredoc bodies are located here in the original text; tests/test_parser_parity.py checks that what
we locate reads back exactly as BuildKit's values on the real-world corpus.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property

import dockerfile as buildkit

from dockerlint_ml.text import Mapped, SourceText, logical_line

# Instructions BuildKit accepts, and those that may legitimately have no arguments.
KNOWN_INSTRUCTIONS = frozenset(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN SHELL STOPSIGNAL "
    "USER VOLUME WORKDIR".split()
)
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")
HEREDOC_MARKER = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


class ParseError(Exception):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Flag:
    name: str  # without the leading "--"
    value: str | None  # quotes removed, as BuildKit reads it
    start: int
    end: int

    @property
    def text(self) -> str:
        return f"--{self.name}" if self.value is None else f"--{self.name}={self.value}"


@dataclass
class Heredoc:
    name: str
    content: str  # as BuildKit reports it
    start: int  # source offset of the body's first character
    end: int  # source offset just past the body (before the terminator line)
    strip_tabs: bool  # <<-EOF
    quoted: bool  # <<"EOF": no variable expansion in the body


@dataclass
class Word:
    """One argument of a non-shell instruction, located in the source."""

    value: str
    start: int
    end: int


@dataclass
class Instruction:
    keyword: str  # upper case, e.g. "RUN"; for ONBUILD, "ONBUILD"
    raw_keyword: str  # as written
    index: int  # position in the file, 0-based
    start_line: int
    end_line: int
    start: int  # offset of the keyword
    end: int  # offset past the last character of the instruction (before its final newline)
    keyword_end: int
    flags: list[Flag]
    args: tuple[str, ...]  # BuildKit's values
    rest: Mapped  # the argument text after keyword and flags, continuation-joined
    json: bool  # exec (JSON array) form
    heredocs: list[Heredoc]
    original: str  # BuildKit's joined line
    sub_keyword: str | None = None  # ONBUILD's inner instruction
    stage: "Stage | None" = field(default=None, repr=False)
    vars: dict[str, str] = field(default_factory=dict, repr=False)  # ARG/ENV visible before it runs

    def flag(self, name: str) -> Flag | None:
        for item in self.flags:
            if item.name == name:
                return item
        return None

    @cached_property
    def mounts(self) -> list[dict[str, str]]:
        """`--mount` flags as fields, with `target` and `source` under one name whatever alias was written."""
        aliases = {"dst": "target", "destination": "target", "src": "source"}
        mounts = []
        for flag in self.flags:
            if flag.name == "mount" and flag.value:
                fields = {}
                for part in flag.value.split(","):
                    key, _, value = part.partition("=")
                    fields[aliases.get(key, key)] = value
                mounts.append(fields)
        return mounts

    @cached_property
    def paths(self) -> list[tuple[Word, str]]:
        """Arguments as paths (COPY/ADD sources and destination, WORKDIR): quotes removed, ARG/ENV expanded."""
        return [(w, expand(w.value if self.json else unquote(w.value), self.vars)[0]) for w in self.words]

    @property
    def effective_keyword(self) -> str:
        return self.sub_keyword or self.keyword

    @cached_property
    def words(self) -> list[Word]:
        """Arguments located in the source: JSON array elements, or words split on blanks outside quotes
        (values keep their quotes, as in BuildKit's parse). `HEALTHCHECK CMD [...]` gives CMD + elements."""
        text = self.rest.text
        bracket = text.find("[") if self.json else -1
        words = _split_words(self.rest, 0, bracket if bracket >= 0 else len(text))
        if bracket >= 0:
            words += _json_elements(self.rest, bracket) or []
        return words

    @cached_property
    def commands(self) -> list:
        """RUN: the shell commands it runs (shell.Command), heredoc scripts and `sh -c` strings included."""
        from dockerlint_ml import shell

        if self.effective_keyword != "RUN":
            return []
        if self.json:
            return shell.parse_exec(self.exec_words)
        commands = []
        script_heredocs = self.heredocs if runs_heredoc_as_script(self.rest.text) else []
        if not script_heredocs or HEREDOC_MARKER.sub("", self.rest.text).strip():
            commands.extend(shell.parse_shell(self.rest))
        for doc in script_heredocs:
            commands.extend(shell.parse_script(self.source_text[doc.start:doc.end], doc.start))
        return commands

    @property
    def exec_words(self) -> list:
        """Exec-form (JSON) arguments as shell words, each quoted: what RUN/CMD/ENTRYPOINT [...] runs."""
        from dockerlint_ml import shell

        return [shell.Word(w.value, w.start, w.end, tuple(range(w.start, w.start + len(w.value))), True,
                           "$" in w.value) for w in self.words]

    @property
    def source_text(self) -> str:
        return self.stage.dockerfile.source.text if self.stage else ""


@dataclass
class ImageRef:
    raw: str  # as written
    value: str  # after ARG substitution
    registry: str | None
    name: str  # repository path without registry, e.g. "library/python" stays "python"
    tag: str | None
    digest: str | None
    platform: str | None
    unresolved: bool  # still holds a variable after substitution

    @property
    def is_scratch(self) -> bool:
        return self.value.lower() == "scratch"

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.name}" if self.registry else self.name


@dataclass
class Stage:
    index: int
    name: str | None  # as written after AS
    base: ImageRef
    from_instruction: Instruction = field(repr=False)
    instructions: list[Instruction] = field(default_factory=list, repr=False)  # FROM included
    parent: "Stage | None" = field(default=None, repr=False)  # FROM <earlier stage>
    dockerfile: "Dockerfile | None" = field(default=None, repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)  # ENV at the end of the stage, inherited too

    @property
    def lineage(self) -> list["Stage"]:
        """This stage and the stages it is built FROM, itself first: the filesystem and ENV it starts from.
        (`FROM <stage>` only names earlier stages, so the chain ends.)"""
        chain, stage = [], self
        while stage is not None and stage not in chain:
            chain.append(stage)
            stage = stage.parent
        return chain

    @property
    def root(self) -> "Stage":
        """The oldest stage of the lineage: the one whose FROM names a real image."""
        return self.lineage[-1]

    @property
    def key(self) -> str:
        """How stages are referenced: names are case-insensitive, unnamed stages go by index."""
        return self.name.lower() if self.name else str(self.index)


@dataclass
class Dockerfile:
    path: str
    source: SourceText
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)
    instructions: list[Instruction] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    global_args: dict[str, str] = field(default_factory=dict)
    error: ParseError | None = None

    @property
    def final_stage(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    @cached_property
    def final_lineage(self) -> list[Stage]:
        """The final stage and its FROM ancestors: the stages whose filesystem reaches the image."""
        return self.final_stage.lineage if self.final_stage else []

    def reaches_final(self, stage: Stage | None) -> bool:
        return stage is not None and stage in self.final_lineage

    def stage_by_ref(self, ref: str, before: int | None = None) -> Stage | None:
        """The stage a `FROM x` / `--from=x` names (by name or index), among stages before `before`."""
        candidates = self.stages if before is None else self.stages[:before]
        for stage in candidates:
            if stage.name and stage.name.lower() == ref.lower():
                return stage
        if ref.isdigit() and int(ref) < len(candidates):
            return candidates[int(ref)]
        return None


def parse(source: SourceText) -> Dockerfile:
    """Parse a Dockerfile; a file BuildKit rejects gives a Dockerfile with `error` set, never an exception."""
    df = Dockerfile(source.path, source)
    df.directives = _directives(source)
    escape = df.directives.get("escape", "\\")
    df.escape = escape if escape in ("\\", "`") else "\\"
    try:
        commands = buildkit.parse_string(source.text)
    except buildkit.GoParseError as exc:
        df.error = ParseError(str(exc), _error_line(source, str(exc)))
        return df
    for index, command in enumerate(commands):
        df.instructions.append(_locate(df, index, command))
    _build_stages(df)
    return df


def _directives(source: SourceText) -> dict[str, str]:
    """Parser directives: leading `# key=value` comment lines before anything else."""
    found: dict[str, str] = {}
    for line in range(1, source.line_count + 1):
        match = _DIRECTIVE.match(source.line_text(line).strip())
        if not match or match.group(1).lower() in found:
            break
        found[match.group(1).lower()] = match.group(2)
    return found


def _error_line(source: SourceText, message: str) -> int:
    match = re.search(r"line (\d+)", message)
    if match:
        return int(match.group(1))
    if "heredoc" in message:
        for line in range(source.line_count, 0, -1):
            if HEREDOC_MARKER.search(source.line_text(line)):
                return line
    return 1


def _locate(df: Dockerfile, index: int, command) -> Instruction:
    src = df.source
    rest, last_line = logical_line(src, command.start_line, df.escape)
    text = rest.text
    match = re.match(r"(\S+)", text)
    raw_keyword = match.group(1) if match else ""
    keyword_end = rest.source_span(0, len(raw_keyword))[1] if raw_keyword else rest.offsets[0]
    pos = len(raw_keyword)
    sub_keyword = None
    if raw_keyword.upper() == "ONBUILD":
        sub = re.match(r"\s*(\S+)", text[pos:])
        if sub:
            sub_keyword = sub.group(1).upper()
            pos += sub.end()
    flags, pos = _flags(rest, pos)
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    args = rest.slice(pos)
    heredocs = _heredocs(src, command, last_line)
    end_line, end = last_line, rest.offsets[-1]
    if heredocs:  # the instruction ends with the last terminator line
        end_line = min(src.position(heredocs[-1].end)[0], src.line_count)
        end = src.line_end(end_line)
    return Instruction(
        keyword=raw_keyword.upper(), raw_keyword=raw_keyword, index=index, start_line=command.start_line,
        end_line=end_line, start=rest.offsets[0], end=end, keyword_end=keyword_end, flags=flags,
        args=tuple(command.value), rest=args, json=command.json, heredocs=heredocs, original=command.original or "",
        sub_keyword=sub_keyword,
    )


def _flags(rest: Mapped, pos: int) -> tuple[list[Flag], int]:
    """BuildKit's extractBuilderFlags: leading `--name[=value]` words, quotes and backslashes removed;
    a bare `--` ends them. Returns the flags and the position where the arguments start."""
    flags, text = [], rest.text
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith("--", pos):
            return flags, pos
        start, word, quote = pos, [], None
        while pos < len(text) and (quote or not text[pos].isspace()):
            ch = text[pos]
            if quote is None and ch in "'\"":
                quote = ch
            elif ch == quote:
                quote = None
            elif ch == "\\" and pos + 1 < len(text):
                pos += 1
                word.append(text[pos])
            elif ch != "\\":
                word.append(ch)
            pos += 1
        body = "".join(word)
        if body == "--":
            return flags, pos
        name, eq, value = body[2:].partition("=")
        flags.append(Flag(name, value if eq else None, *rest.source_span(start, pos)))


def _heredocs(src: SourceText, command, last_line: int) -> list[Heredoc]:
    """Locate each heredoc body: the lines after the instruction line, up to its terminator."""
    located, line = [], last_line + 1
    markers = {m.group(3): m for m in HEREDOC_MARKER.finditer((command.original or "").split("\n", 1)[0])}
    for doc in command.heredocs:
        marker = markers.get(doc.name)
        strip_tabs = bool(marker and marker.group(1))
        start = src.line_start(line)
        while line <= src.line_count:
            text = src.line_text(line)
            if (text.lstrip("\t") if strip_tabs else text) == doc.name:
                break
            line += 1
        located.append(Heredoc(doc.name, doc.content, start, src.line_start(line), strip_tabs,
                               bool(marker and marker.group(2))))
        line += 1
    return located


def runs_heredoc_as_script(text: str) -> bool:
    """`RUN <<EOF` or `RUN bash <<EOF` run the body as a shell script; `RUN python <<EOF` does not."""
    program = HEREDOC_MARKER.sub("", text).split()
    return not program or program[0].rsplit("/", 1)[-1] in ("sh", "bash", "dash", "ash", "zsh")


def _split_words(rest: Mapped, pos: int, end: int) -> list[Word]:
    words, text = [], rest.text
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            return words
        start, quote = pos, None
        while pos < end and (quote or not text[pos].isspace()):
            if quote is None and text[pos] in "'\"":
                quote = text[pos]
            elif text[pos] == quote:
                quote = None
            elif text[pos] == "\\":
                pos += 1
            pos += 1
        pos = min(pos, end)
        words.append(Word(text[start:pos], *rest.source_span(start, pos)))


def _json_elements(rest: Mapped, bracket: int) -> list[Word] | None:
    """Locate the string elements of the JSON array starting at `bracket`; None if it is not one."""
    text, words = rest.text, []
    decoder = json.JSONDecoder()
    i = bracket + 1
    while True:
        while i < len(text) and text[i] in " \t,":
            i += 1
        if i >= len(text) or text[i] == "]":
            return words
        try:
            value, end = decoder.raw_decode(text, i)
        except ValueError:
            return None
        if not isinstance(value, str):
            return None
        start, stop = rest.source_span(i, end)
        words.append(Word(value, start, stop))
        i = end


def expand(text: str, variables: dict[str, str]) -> tuple[str, bool]:
    """Substitute $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x} as BuildKit does; returns (text, all resolved)."""
    resolved = True

    def substitute(match: re.Match) -> str:
        nonlocal resolved
        name = match.group("braced") or match.group("plain")
        op, word = match.group("op"), match.group("word") or ""
        value = variables.get(name)
        if op in (":-", "-"):
            return value if value not in (None, "") or (op == "-" and value is not None) else word
        if op in (":+", "+"):
            return word if value not in (None, "") or (op == "+" and value is not None) else ""
        if value is None:
            resolved = False
            return ""
        return value

    return _VARIABLE.sub(substitute, text), resolved


def unquote(value: str) -> str:
    """Remove the shell quoting BuildKit leaves in ENV/ARG/LABEL values."""
    out, quote, i = [], None, 0
    while i < len(value):
        ch = value[i]
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        elif ch == "\\" and quote != "'" and i + 1 < len(value):
            i += 1
            out.append(value[i])
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def parse_image(raw: str, variables: dict[str, str], platform: str | None = None) -> ImageRef:
    value, resolved = expand(raw, variables)
    rest, at, digest = value.partition("@")
    digest = digest if at else None
    first, _, remainder = rest.partition("/")
    registry = None
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    name, tag = rest, None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        name = rest[: len(rest) - len(tag) - 1]
    if platform is not None:
        platform = expand(platform, variables)[0]
    return ImageRef(raw, value, registry, name, tag, digest, platform, not resolved)


def _build_stages(df: Dockerfile) -> None:
    """Group instructions into stages, resolve bases and track the ARG/ENV visible at each instruction.

    ENV is part of the image config, so a stage built `FROM` an earlier stage inherits its ENV; ARGs do not
    cross stages, and a global ARG is visible in a stage only once redeclared there.
    """
    stage: Stage | None = None
    args: dict[str, str] = {}
    env: dict[str, str] = {}
    final_env: dict[int, dict[str, str]] = {}
    for instruction in df.instructions:
        keyword = instruction.keyword
        if keyword == "FROM":
            if stage is not None:
                final_env[stage.index] = env
            stage = _new_stage(df, instruction)
            args, env = {}, dict(final_env.get(stage.parent.index, {})) if stage.parent else {}
            stage.env = env  # the same dict: later ENV instructions of the stage fill it
        instruction.vars = {**args, **env} if stage else dict(df.global_args)
        if stage is None:
            if keyword == "ARG":
                _declare_args(instruction, df.global_args, {})
            continue
        instruction.stage = stage
        stage.instructions.append(instruction)
        if keyword == "ARG":
            _declare_args(instruction, args, df.global_args)
        elif keyword == "ENV":
            scope = {**args, **env}
            for name, value in zip(instruction.args[0::2], instruction.args[1::2]):
                env[name] = scope[name] = expand(unquote(value), scope)[0]


def _new_stage(df: Dockerfile, instruction: Instruction) -> Stage:
    words = instruction.args
    name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    platform = instruction.flag("platform")
    base = parse_image(words[0] if words else "", df.global_args, platform.value if platform else None)
    stage = Stage(len(df.stages), name, base, instruction, dockerfile=df)
    # Only a named earlier stage can be a base: `FROM 0` is an image called "0".
    named = [s for s in df.stages if s.name and s.name.lower() == base.value.lower()]
    stage.parent = named[-1] if named and not base.unresolved else None
    df.stages.append(stage)
    return stage


def _declare_args(instruction: Instruction, scope: dict[str, str], inherited: dict[str, str]) -> None:
    for item in instruction.args:
        name, eq, default = item.partition("=")
        if eq:
            scope[name] = expand(unquote(default), {**inherited, **scope})[0]
        else:
            scope[name] = scope.get(name, inherited.get(name, ""))
