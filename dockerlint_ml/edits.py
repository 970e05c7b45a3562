"""Building text edits for fixes: insert an option after a word, add a flag to a RUN, append a command at the
end of a RUN, join two RUNs into one.

Every helper returns None where it cannot be sure the edit keeps what the instruction does (an exec-form RUN,
a script it cannot see the end of, a shell that is not POSIX): the rule then reports without a fix. Edits
touch only the text they must; lines are inserted with the file's own line ending and continuation character.
"""
from __future__ import annotations

import re

from dockerlint_ml.apt import (FETCHING_ACTIONS, apt_commands, lists_mounted, removes_lists, runs_script,
                               updates_lists)
from dockerlint_ml.finding import Edit
from dockerlint_ml.fixes import newline_of
from dockerlint_ml.pragmas import parse_pragmas

_POSIX_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
# Reserved words that close a compound command: `fi && next` is still one list.
_CLOSERS = frozenset({"fi", "done", "esac", "}"})
# Builtins whose effect outlives the command (directory, variables, options, traps, the shell itself): after
# them, a command joined from the next RUN would run in a different shell state than it did on its own.
_STATEFUL = frozenset({
    "cd", "pushd", "popd", "export", "unset", "source", ".", "umask", "ulimit", "shopt", "alias", "unalias",
    "trap", "exec", "exit", "readonly", "declare", "typeset", "local", "eval", "enable", "builtin", "read",
    "mapfile", "readarray", "let", "function", "return",
})
REMOVE_APT_LISTS = "rm -rf /var/lib/apt/lists/*"
# Front ends that install Debian packages from the apt lists without being apt-get themselves.
APT_FRONTENDS = frozenset({"apt-fast", "nala", "install_packages", "rosdep", "apt-install", "add-pkg"})
_HARMLESS_SET = re.compile(r"[-+][exv]+")  # `set -ex`: tracing and exit-on-error do not change an && chain
_FUNCTION_DEFINITION = re.compile(r"[A-Za-z_][\w-]*\s*\(\s*\)")


def newline(df) -> str:
    return newline_of(df.source.text)


# ---------------------------------------------------------------------------------------------------------
# Words and options


def replace(word, text: str) -> Edit:
    return Edit(word.start, word.end, text)


def add_option(instruction, word, option: str) -> Edit | None:
    """Insert `option` right after `word` of a command: ` --opt` in shell text (a heredoc or `bash -c` string
    included), `, "--opt"` after an element of an exec-form RUN. None for a word inside the string of an
    exec-form `["bash", "-c", "..."]`, whose offsets do not map to the JSON text."""
    if instruction.json:
        if not any(w.start == word.start and w.end == word.end for w in instruction.words):
            return None
        return Edit(word.end, word.end, f', "{option}"')
    return Edit(word.end, word.end, f" {option}")


# ---------------------------------------------------------------------------------------------------------
# RUN flags


def add_flags(df, instruction, flags: list[str]) -> Edit | None:
    """Insert flags (`--mount=type=cache,target=/root/.cache/pip`) into a RUN. One flag on a one-line RUN goes
    after the existing flags; otherwise each goes on a line of its own before the command, as Docker's
    documentation lays out cache mounts:

        RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
            --mount=type=cache,target=/var/lib/apt,sharing=locked \\
            apt-get update && ...
    """
    if instruction.keyword != "RUN" or not flags:
        return None
    if len(flags) == 1 and instruction.start_line == df.source.position(instruction.rest.offsets[-1])[0]:
        at = instruction.flags[-1].end if instruction.flags else instruction.keyword_end
        return Edit(at, at, f" {flags[0]}")
    at = instruction.rest.offsets[0]
    line, column = df.source.position(at)
    if line != instruction.start_line:  # `RUN --mount=… \` / `    command`: one more flag line above it
        indent = df.source.line_text(line)[:column - 1]
        text = "".join(f"{flag} {df.escape}{newline(df)}{indent}" for flag in flags)
        return Edit(at, at, text) if not indent.strip() else None
    # The blanks before the command are replaced, not just inserted at: a fix that edits the RUN's start
    # (joining it to the RUN before) then overlaps this one and waits for the next pass.
    before = instruction.flags[-1].end if instruction.flags else instruction.keyword_end
    return Edit(before, at, " " + "".join(f"{flag} {df.escape}{newline(df)}    " for flag in flags))


def joins_neighbour(instruction, flags: list[str]) -> bool:
    """Whether adding `flags` gives the RUN the same flags as the RUN right before or after it in its stage,
    which it does not have now: the two would then be consecutive RUNs that could be one (ML302)."""
    stage = instruction.stage
    if stage is None:
        return False
    own = sorted(flag.text for flag in instruction.flags)
    extended = sorted(own + flags)
    position = stage.instructions.index(instruction)
    for index in (position - 1, position + 1):
        if 0 <= index < len(stage.instructions) and stage.instructions[index].keyword == "RUN":
            theirs = sorted(flag.text for flag in stage.instructions[index].flags)
            if theirs == extended and theirs != own:
                return True
    return False


def same_flags(first, second) -> bool:
    """Whether two instructions have the same flags, in any order (what ML302 compares)."""
    return sorted(f.text for f in first.flags) == sorted(f.text for f in second.flags)


def mount_targets(instruction) -> set[str]:
    return {fields.get("target", "").strip("\"'").rstrip("/") for fields in instruction.mounts}


# ---------------------------------------------------------------------------------------------------------
# Appending a command to a RUN


def append_command(df, instruction, command: str) -> Edit | None:
    """An edit that runs `command` (plain text: no quotes, `$` or backslashes, as it may land inside a
    `bash -c "..."` string) after everything else the RUN runs, joined with `&&` (a line of its own in a
    heredoc script). None where there is no such spot: exec form, a RUN whose last command is backgrounded,
    inside an unclosed construct or a heredoc the shell does not run as a script, or a non-POSIX SHELL."""
    last = _last_command(instruction)
    if last is None:
        return None
    heredoc = next((doc for doc in instruction.heredocs if doc.start <= last.start < doc.end), None)
    if heredoc is not None:
        return _append_to_heredoc(df, instruction, heredoc, command)
    if instruction.heredocs:
        return None  # the heredoc bodies run after the shell text's last command
    source = df.source
    line = source.position(last.end)[0]
    after = source.text[last.end:source.line_end(line)]
    if after.strip() or line == instruction.start_line:
        # One line, or something follows the command on its line (`;`, a comment, the quote ending a `bash -c`
        # string): join on the same line.
        return Edit(last.end, last.end, f" && {command}")
    nl, escape = newline(df), df.escape
    start_line, start_column = source.position(last.start)
    first = source.line_text(start_line)
    # Indent like the line the last command starts on, unless that is the RUN line itself.
    shown = first if start_line != instruction.start_line else source.line_text(line)
    indent = shown[:len(shown) - len(shown.lstrip())]
    previous = source.line_text(start_line - 1).rstrip() if start_line > instruction.start_line else ""
    if not first[:start_column - 1].strip() and re.search(r"(&&|\|\||;)\s*" + re.escape(escape) + "$", previous):
        # `a && \` / `    b`: keep the operator at the end of the line
        return Edit(last.end, source.line_end(line), f" && {escape}{nl}{indent}{command}")
    # `a \` / `    && b`, or a first command: the new command gets its own `&&` line
    return Edit(last.end, source.line_end(line), f" {escape}{nl}{indent}&& {command}")


def _last_command(instruction):
    """The RUN's last shell command, when a command can be chained after it; else None."""
    if instruction.keyword != "RUN" or instruction.json or not posix_shell(instruction):
        return None
    commands = instruction.commands
    if not commands:
        return None
    last = commands[-1]
    return last if ends_cleanly(instruction, last) else None


def ends_cleanly(instruction, command) -> bool:
    """Whether `command && next` chains `next` after `command` and everything before it: not backgrounded, and
    either a simple command or the end of a compound one (`fi`, `done`, `esac`, `}`, a subshell's `)`)."""
    if command.operator in ("&", "|"):
        return False
    if not command.unknown:
        return True
    words = command.words
    if words and not words[0].quoted and words[0].value in _CLOSERS and len(words) == 1:
        return True
    source = instruction.source_text
    return source[command.end - 1:command.end] == ")" and not _FUNCTION_DEFINITION.search(
        source[command.start:command.end])


def _append_to_heredoc(df, instruction, doc, command: str) -> Edit | None:
    """A line of its own just before the terminator, indented like the script's last line."""
    if len(instruction.heredocs) != 1:
        return None
    body = df.source.text[doc.start:doc.end]
    lines = [line.rstrip("\r") for line in body.split("\n")[:-1]]
    content = [line for line in lines if line.strip()]
    if not body.endswith("\n") or not content or content[-1].rstrip().endswith("\\"):
        return None  # an empty body, or a last line that continues onto the terminator
    last = content[-1]
    indent = last[:len(last) - len(last.lstrip())]
    if doc.strip_tabs:
        indent = indent[:len(indent) - len(indent.lstrip("\t"))]  # <<-EOF strips tabs only
    return Edit(doc.end, doc.end, f"{indent}{command}{newline(df)}")


# ---------------------------------------------------------------------------------------------------------
# Joining two RUNs


def merge_runs(df, first, second) -> tuple[Edit, ...] | None:
    """Edits that make `second` (the RUN right after `first`, same flags) part of `first`: ` && \\` after the
    first's last command, the second's `RUN` and flags replaced by an indent, the comment lines between them kept
    (a comment inside a continuation is legal), blank lines between them removed (an empty continuation line is
    not). None when joining could change what runs: exec form or heredocs, a state change in the first (cd,
    export, a variable, source …) the second would now see, a `;` or `||` in the second that would run it even
    after the first failed, text after the first's last command, a pragma comment between them, a non-POSIX
    SHELL. When the first updates apt lists and the second installs, the joined RUN also removes the lists at
    its end (in a stage that ships), as one RUN must: else they would stay in its layer."""
    if not _joinable(first) or not _joinable(second) or second.index != first.index + 1:
        return None
    if first.stage is not second.stage or not posix_shell(second):
        return None
    last = _last_command(first)
    if last is None or any(_changes_state(c, first) for c in first.commands):
        return None
    if any(c.operator not in ("&&", "|", None) for c in second.commands):
        return None
    source = df.source
    line = source.position(last.end)[0]
    if line != first.end_line or source.text[last.end:source.line_end(line)].strip():
        return None  # a comment or `;` after it, or the command ends inside a string
    args_start = second.rest.offsets[0]
    if "\n" in source.text[second.start:args_start] or not second.rest.text.strip():
        return None
    if any(first.end_line < p.line < second.start_line for p in parse_pragmas(df)):
        return None  # a pragma meant for the second RUN would land inside the joined one
    edits = [Edit(last.end, source.line_end(line), f" && {df.escape}")]
    if _strands_apt_lists(first, second) and df.reaches_final(second.stage):
        # Joined, the update's lists would stay in this layer (ML202): end the joined RUN by removing them.
        remove = None if lists_read_later(df, second) else append_command(df, second, REMOVE_APT_LISTS)
        if remove is None:
            return None
        edits.append(remove)
    for number in range(first.end_line + 1, second.start_line):
        if not source.line_text(number).strip():
            edits.append(Edit(source.line_start(number), source.line_start(number + 1), ""))
    edits.append(Edit(second.start, args_start, "    "))
    return tuple(edits)


def _joinable(instruction) -> bool:
    return instruction.keyword == "RUN" and not instruction.json and not instruction.heredocs


def _changes_state(command, instruction) -> bool:
    """A command whose effect on the shell outlives it; conservative: also true inside a subshell or `if`."""
    if command.words and not command.argv and command.assignments:
        return True  # `X=1` alone sets a shell variable
    names = {command.name} | {w.value for w in command.words[:1] if not w.quoted}
    if names & _STATEFUL:
        return True
    if command.name == "set":
        return not all(_HARMLESS_SET.fullmatch(w.value) for w in command.argv[1:])
    if command.name == "printf" and any(w.value == "-v" for w in command.argv[1:]):
        return True
    source = instruction.source_text[command.start:command.end]
    return command.unknown and bool(_FUNCTION_DEFINITION.search(source))


def lists_read_later(df, instruction) -> bool:
    """Whether a later RUN installs with apt before any RUN updates the lists again: one of the same stage, or
    of a stage built FROM it. It reads the lists this RUN leaves, so removing them here would break it."""
    stage = instruction.stage
    if stage is None:
        return False
    if _reads_lists([i for i in stage.instructions if i.index > instruction.index]):
        return True
    if any(_updates(i) for i in stage.instructions if i.index > instruction.index):
        return False  # later stages read the lists of that update
    for other in df.stages:
        ancestor = other.parent
        while ancestor is not None and ancestor is not stage and ancestor.index < other.index:
            ancestor = ancestor.parent
        if ancestor is stage and _reads_lists(other.instructions):
            return True
    return False


def _reads_lists(instructions) -> bool:
    """Whether an apt install runs among `instructions` before any of them updates the lists."""
    for run in instructions:
        if run.effective_keyword != "RUN":
            continue
        installs = {id(apt.command) for _, apt in apt_commands(run) if apt.action in FETCHING_ACTIONS}
        for command in run.commands:
            if updates_lists(command):
                return False
            if id(command) in installs or command.name in APT_FRONTENDS or runs_script(command):
                return True  # a script (`./install-deps.sh`) may install out of sight
    return False


def _updates(instruction) -> bool:
    return instruction.effective_keyword == "RUN" and any(updates_lists(c) for c in instruction.commands)


def _strands_apt_lists(first, second) -> bool:
    """The first RUN updates the apt lists, the second installs and does not remove them (nor mount them)."""
    updates = any(updates_lists(c) for c in first.commands) and not lists_mounted(second)
    installs = any(apt.action in FETCHING_ACTIONS for _, apt in apt_commands(second))
    return updates and installs and not any(removes_lists(c) for c in second.commands)


# ---------------------------------------------------------------------------------------------------------
# The shell


def posix_shell(instruction) -> bool:
    """Whether RUN's shell form runs in a POSIX shell: no SHELL instruction in the stage (or the stages it is
    built FROM) before it, or one that names sh, bash, dash, ash, zsh or ksh."""
    stage, before, seen = instruction.stage, instruction.index, set()
    while stage is not None and stage.index not in seen:
        seen.add(stage.index)
        for earlier in reversed(stage.instructions):
            if earlier.index < before and earlier.keyword == "SHELL":
                program = earlier.words[0].value if earlier.words else ""
                return program.rsplit("/", 1)[-1] in _POSIX_SHELLS
        before, stage = instruction.index, stage.parent  # a parent stage lies wholly before
    return True
