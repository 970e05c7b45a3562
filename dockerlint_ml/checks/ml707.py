"""ML707 pipe-without-pipefail: a RUN pipes commands in a shell that reports only the last one's failure."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.shell import Command, Word, parse_args, parse_script

# Shells with `-o pipefail`; dash (Debian's /bin/sh) has none.
PIPEFAIL_SHELLS = frozenset({"bash", "zsh", "ash", "ksh", "mksh", "busybox"})
# Shells that are not POSIX: their pipes mean something else, and they do not take `-o pipefail`.
NON_POSIX_SHELLS = frozenset({"pwsh", "powershell", "pwsh.exe", "powershell.exe", "cmd", "cmd.exe"})
DEFAULT_SHELL = ("/bin/sh", "-c")
_CANNOT_FAIL = frozenset({"echo", "printf", "yes", "true"})  # producers whose failure nobody needs to see
_PATTERN_PIPE = re.compile(r"\s*\|\s*[^\s|;&()<>]*\)")


@rule("ML707", "pipe-without-pipefail", Severity.WARNING,
      "A RUN pipes commands without `-o pipefail`, so a failure before the last `|` does not fail the build.",
      aliases=("DL4006",))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword != "RUN":
            continue  # ONBUILD RUN runs under the shell of the image built from this one
        if instruction.json:
            shell = _exec_shell(instruction)
            if shell is None:
                continue  # a program run without a shell: no pipe
        else:
            shell = _shell_in_effect(instruction)
        if _basename(shell[0]) in NON_POSIX_SHELLS or has_pipefail(shell):
            continue
        pipe = _unguarded_pipe(instruction)
        if pipe is None:
            continue
        first, second = pipe
        if instruction.json:
            advice = 'run `["/bin/bash", "-o", "pipefail", "-c", ...]` instead'
        else:
            advice = ('add `SHELL ["/bin/bash", "-o", "pipefail", "-c"]` before this RUN (or start it with '
                      "`set -o pipefail &&`)")
        yield ctx.report(first.start, second.end,
                         f"`{_label(first)}` is piped into `{_label(second)}` under `{' '.join(shell)}`, which takes "
                         f"the pipe's exit status from `{_label(second)}` alone, so a failure before the `|` (a "
                         f"broken download, say) does not fail the build: {advice}")


def has_pipefail(shell) -> bool:
    """Whether a shell command line (`/bin/bash -eo pipefail -c`) is a shell that runs with pipefail on."""
    if _basename(shell[0]) not in PIPEFAIL_SHELLS:
        return False
    words = [Word(value, 0, 0, ()) for value in shell[1:]]
    options, _ = parse_args(words, frozenset({"-o", "-O"}))
    return any(o.name == "-o" and o.value is not None and o.value.value == "pipefail" for o in options)


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _shell_in_effect(instruction) -> tuple[str, ...]:
    """The last SHELL before the RUN in its stage, else in the stage it is built FROM (SHELL is part of the
    image config, so it is inherited), else the default `/bin/sh -c`."""
    stage, before = instruction.stage, instruction.index
    while stage is not None:
        shells = [i for i in stage.instructions if i.keyword == "SHELL" and i.index < before]
        if shells:
            return tuple(shells[-1].args) if shells[-1].json and shells[-1].args else DEFAULT_SHELL
        stage, before = stage.parent, float("inf")
    return DEFAULT_SHELL


def _exec_shell(instruction) -> tuple[str, ...] | None:
    """For `RUN ["bash", "-o", "pipefail", "-c", "..."]`: the shell and its options before the script."""
    words = instruction.exec_words
    if not words or _basename(words[0].value) not in PIPEFAIL_SHELLS | {"sh", "dash"}:
        return None
    options, script = parse_args(words[1:], frozenset({"-o", "-O"}), interleaved=False)
    if not script or not any(o.name == "-c" for o in options):
        return None
    return tuple(w.value for w in words[:len(words) - len(script)])


def _unguarded_pipe(instruction) -> tuple[Command, Command] | None:
    """A pipe `a | b` the RUN's own shell runs before any `set -o pipefail`, preferring one whose first command
    can fail (`echo … | debconf-set-selections` loses nothing worth a message); None if there is none."""
    pipes = []
    for pipe in _pipes(instruction):
        if pipe is None:
            break  # from here on pipefail is on (or, where the shell lacks it, `set` fails the RUN)
        pipes.append(pipe)
    return next((p for p in pipes if p[0].name not in _CANNOT_FAIL), pipes[0] if pipes else None)


def _pipes(instruction):
    """Each pipe of the RUN in order, and None where a `set -o pipefail` runs."""
    commands = instruction.commands
    for index, command in enumerate(commands):
        if command.name == "set" and _sets_pipefail(command):
            yield None
        if command.operator == "|" and index + 1 < len(commands):
            nested = not instruction.json and _in_string(instruction, command.start)
            if not nested and not _case_pattern(instruction, command):
                yield command, commands[index + 1]
        if command.words and not command.argv:  # `VAR=$(a | b)`: the assignment's status is the pipe's
            for word in command.assignments:
                inner = _piped_substitution(word)
                if inner is not None:
                    yield inner


def _sets_pipefail(command: Command) -> bool:
    options, _ = parse_args(command.argv[1:], frozenset({"-o"}))
    return any(o.name == "-o" and o.value is not None and o.value.value == "pipefail" for o in options)


def _case_pattern(instruction, command: Command) -> bool:
    """`amd64|x86_64)` in a `case`: that `|` separates patterns, and one word then `)` follows it."""
    after = instruction.source_text[command.end:command.end + 200]
    return command.unknown and bool(_PATTERN_PIPE.match(after))


def _in_string(instruction, offset: int) -> bool:
    """Whether `offset` lies inside a quoted argument of the RUN line: a command of `sh -c "a | b"`, which runs
    in a shell of its own that no SHELL instruction configures (hadolint does not look there either)."""
    text = instruction.source_text
    for word in instruction.words:
        if word.start < offset < word.end:
            quote = None
            for ch in text[word.start:offset]:
                if quote is None and ch in "'\"":
                    quote = ch
                elif ch == quote:
                    quote = None
            return quote is not None
    return False


def _piped_substitution(word: Word) -> tuple[Command, Command] | None:
    """A pipe inside `$(...)` in an assignment word, e.g. `V=$(curl -s URL | jq -r .tag)`."""
    value = word.value
    start = value.find("$(")
    while start >= 0:
        end = _closing_paren(value, start + 2)
        if end < 0:
            return None
        commands = parse_script(value[start + 2:end], word.start)
        for command, following in zip(commands, commands[1:]):
            if command.operator == "|":
                return (_spanning(command, word), _spanning(following, word))
        start = value.find("$(", end)
    return None


def _closing_paren(text: str, i: int) -> int:
    depth, quote = 1, None
    while i < len(text):
        ch = text[i]
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _spanning(command: Command, word: Word) -> Command:
    """A command parsed out of a word's value, placed on the word's source span (its own offsets are not)."""
    return Command(command.words, word.start, word.end, command.operator, command.unknown)


def _label(command: Command) -> str:
    return command.name or " ".join(w.value for w in command.words[:1]) or "…"
