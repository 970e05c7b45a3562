"""ML601 shell-form-cmd: the final image's CMD/ENTRYPOINT in shell form, so the server never gets SIGTERM."""
import json
import re

from dockerlint_ml import shell
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.serving import launch, unwrap

_POSIX_SHELLS = ("sh", "bash", "dash", "ash", "zsh", "ksh")
_WINDOWS_BASES = ("windows", "servercore", "nanoserver")
_BASH_SH_BASES = ("ubi", "centos", "fedora", "rockylinux", "almalinux", "amazonlinux", "oraclelinux", "rhel")
# Commands only a shell has: exec form would look for a program of that name.
_BUILTINS = frozenset({"cd", "source", ".", "export", "set", "unset", "ulimit", "umask", "alias", "eval", "trap",
                       "shift", "wait", "read", "readonly", "local", "return", "exit", "exec", "builtin",
                       "command", "type", "hash", "times", "jobs", "fg", "bg", "declare", "typeset", "let",
                       "shopt", "enable", "time", "coproc", "function", "!", "[[", "((", "{", "(", "if",
                       "for", "while", "until", "case", "select"})
# SHELL options that do not change what a plain command does: -e, -u, -x, -o pipefail, ... (not -l, -i).
_HARMLESS_SHELL_OPTION = re.compile(r"-[euxvo]+|pipefail|errexit|nounset|xtrace")


@rule("ML601", "shell-form-cmd", Severity.WARNING,
      "The CMD or ENTRYPOINT that the final image runs is in shell form, so SIGTERM never reaches the server.",
      aliases=("DL3025", "JSONArgsRecommended"), fix=Applicability.SAFE)
def check(df, ctx):
    current = launch(df)
    entrypoint, cmd = current.entrypoint, current.cmd
    if entrypoint is not None and not entrypoint.json:
        target, extra = entrypoint, ", and it ignores CMD and `docker run` arguments"  # a shell ENTRYPOINT drops CMD
    else:
        target, extra = cmd, ""
    if target is None or target.json:
        return
    if _looks_like_json(target):
        yield _not_json(ctx, df, target)
    elif not _needs_exec(df, target):
        return
    elif target is cmd and entrypoint is not None:
        program = json.dumps([w.value for w in entrypoint.words])
        yield ctx.report(cmd.start, cmd.end,
                         f"this shell-form CMD reaches ENTRYPOINT {program} (line {entrypoint.start_line}) as the "
                         f"three arguments `{_shell(df, cmd)} {_quote(cmd)}`: a program that reads its own arguments "
                         f"gets these instead, and a script that runs them (`exec \"$@\"`) leaves the shell as PID 1, "
                         f"deaf to SIGTERM; write {_exec_form(df, cmd)}", fix=_fix(df, cmd))
    else:
        yield _report(ctx, df, target, extra)


def _report(ctx, df, instruction, extra: str):
    program = _program(instruction)
    return ctx.report(instruction.start, instruction.end,
                      f"{instruction.keyword} in shell form runs `{_shell(df, instruction)} {_quote(instruction)}`: "
                      f"the shell is PID 1 and does not pass SIGTERM on to {program}, so `docker stop` waits 10 s "
                      f"and then SIGKILLs it (a server loses its in-flight requests){extra}; "
                      f"write {_exec_form(df, instruction)}", fix=_fix(df, instruction))


def _looks_like_json(instruction) -> bool:
    """`CMD ['app']`: meant as exec form, but BuildKit reads only valid JSON as such."""
    text = instruction.rest.text.strip()
    return text.startswith("[") and text.endswith("]")


def _not_json(ctx, df, instruction):
    text = instruction.rest.text.strip()
    try:
        words = json.loads(text.replace("'", '"'))
    except ValueError:
        words = None
    strings = isinstance(words, list) and bool(words) and all(isinstance(w, str) for w in words)
    fixed = f"{instruction.keyword} {json.dumps(words)}" if strings else "it with double quotes"
    return ctx.report(instruction.start, instruction.end,
                      f"{instruction.keyword} {text} is not a valid JSON array (JSON strings need double quotes), so "
                      f"Docker runs it in shell form, `{_shell(df, instruction)} {text!r}`, which tries to run a "
                      f"program named by the bracketed text and fails; write {fixed}",
                      fix=_requote(instruction, words) if strings else None)


def _requote(instruction, words):
    """`CMD ['app', '-v']` -> `CMD ["app", "-v"]`: safe, the bracketed text can only fail as a shell command.
    Only when no element holds a quote or backslash (every quote was a delimiter) and the array is on one line."""
    rest = instruction.rest
    text = rest.text.strip()
    first = len(rest.text) - len(rest.text.lstrip())
    start, end = rest.source_span(first, first + len(text))
    if instruction.source_text[start:end] != text or any(ch in w for w in words for ch in "\"'\\"):
        return None
    return Fix("write the exec form with JSON double quotes",
               (Edit(start, end, json.dumps(words, ensure_ascii=False)),))


def _needs_exec(df, instruction) -> bool:
    """Shell form that leaves the shell running: no `exec` on its last command, on a POSIX shell that
    does not exec the last command by itself."""
    commands = shell.parse_shell(instruction.rest)
    if not commands or not _posix(df, instruction):
        return False
    last = commands[-1]
    prefix = last.words[:len(last.words) - len(last.argv)]
    if any(w.value == "exec" and not w.quoted for w in prefix):
        return False
    return not (_bash(df, instruction) and _bash_execs_last(instruction, commands))


def _bash(df, instruction) -> bool:
    """The shell is bash: a SHELL naming it, or a Red Hat family base, whose /bin/sh is bash. (Debian and
    Ubuntu images have dash as /bin/sh, which always forks.)"""
    custom = _shell_instruction(df, instruction)
    if custom is not None:
        return bool(custom.words) and custom.words[0].value.rsplit("/", 1)[-1] == "bash"
    root = df.final_lineage[-1].base.name.lower()
    return any(part in root for part in _BASH_SH_BASES)


def _bash_execs_last(instruction, commands) -> bool:
    """bash (4.4 and later) replaces itself with the last command of a `-c` string when that is a simple
    command outside a pipeline, not in the background, without redirections, and no trap is set."""
    last = commands[-1]
    if last.unknown or not last.words or last.operator == "&" or any(c.name == "trap" for c in commands):
        return False
    if len(commands) > 1 and commands[-2].operator == "|":
        return False
    return _same_text(last, instruction, whole=False)


def _shell_instruction(df, before):
    """The SHELL in effect at `before` (image config: inherited through FROM <stage>)."""
    found = None
    for stage in reversed(df.final_lineage):
        for instruction in stage.instructions:
            if instruction is before:
                return found
            if instruction.keyword == "SHELL":
                found = instruction
    return found


def _posix(df, instruction) -> bool:
    """Signals matter only for Linux shells: Windows images run shell form with cmd or PowerShell."""
    custom = _shell_instruction(df, instruction)
    if custom is not None:
        words = [w.value for w in custom.words]
        return bool(words) and words[0].rsplit("/", 1)[-1] in _POSIX_SHELLS
    root = df.final_lineage[-1].base.name.lower()
    return not any(part in root for part in _WINDOWS_BASES)


def _shell(df, instruction) -> str:
    custom = _shell_instruction(df, instruction)
    return " ".join(w.value for w in custom.words) if custom is not None else "/bin/sh -c"


def _quote(instruction) -> str:
    text = " ".join(instruction.rest.text.split())
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _program(instruction) -> str:
    """The program of the last pipeline: `gunicorn` in `cd /app && gunicorn app:app | tee log`."""
    commands = shell.parse_shell(instruction.rest)
    index = len(commands) - 1
    while index > 0 and commands[index - 1].operator == "|":
        index -= 1
    argv = unwrap(commands[index].argv) if commands else []
    return argv[0].value.rsplit("/", 1)[-1] if argv else "the command"


def _exec_form(df, instruction) -> str:
    """The exec-form rewrite when the text is one plain command; otherwise the `exec` advice."""
    commands = shell.parse_shell(instruction.rest)
    if _plain(df, instruction, commands):
        return f"{instruction.keyword} {json.dumps([w.value for w in commands[0].words], ensure_ascii=False)}"
    return "it in exec form (JSON array) or prefix its last command with `exec`"


def _plain(df, instruction, commands) -> bool:
    """One simple command that means the same without a shell: no expansions, assignments, operators,
    redirections, globs, tilde or a shell builtin; quotes only group words (their values go into JSON)."""
    if len(commands) != 1 or commands[0].unknown or not commands[0].words:
        return False
    command = commands[0]
    if command.words[0].value in _BUILTINS or not _same_text(command, instruction):
        return False
    return not any(w.expands or w.assignment or _globs(df, w) for w in command.words)


def _globs(df, word) -> bool:
    """Whether the shell might expand the word: a glob, brace or tilde character outside quotes. A word
    quoted as a whole is literal."""
    if not any(ch in word.value for ch in "*?[]{}~"):
        return False
    raw = df.source.text[word.start:word.end]
    whole = len(raw) >= 2 and raw[0] in "'\"" and raw[-1] == raw[0] and raw[0] not in raw[1:-1]
    return not whole


def _fix(df, instruction):
    """Exec form when the command is plain and the shell adds nothing to it (safe); otherwise a display-only
    suggestion to `exec` the last command."""
    commands = shell.parse_shell(instruction.rest)
    if _plain(df, instruction, commands) and _shell_adds_nothing(df, instruction):
        words = commands[0].words
        text = _json_array(df, words)
        if text is not None:
            return Fix("write the exec form (JSON array), so that the server is PID 1 and gets SIGTERM",
                       (Edit(words[0].start, words[-1].end, text),))
    return _exec_suggestion(df, instruction, commands)


def _shell_adds_nothing(df, instruction) -> bool:
    """The default `/bin/sh -c`, or a SHELL of a POSIX shell with harmless options: no login or interactive
    shell (which reads profiles, e.g. to activate conda), and no BASH_ENV for bash to source."""
    custom = _shell_instruction(df, instruction)
    if "BASH_ENV" in instruction.vars:
        return False
    if custom is None:
        return True
    values = [w.value for w in custom.words]
    return len(values) >= 2 and values[-1] == "-c" and \
        all(_HARMLESS_SHELL_OPTION.fullmatch(v) for v in values[1:-1])


def _json_array(df, words) -> str | None:
    """The words as a JSON array, keeping the line breaks, indentation and comment lines between them; None
    if anything else stands between two words."""
    escape = re.escape(df.escape)
    between = re.compile(rf"[ \t]*(?:{escape}[ \t]*\r?\n(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*)?")
    text = df.source.text
    parts = [json.dumps(words[0].value, ensure_ascii=False)]
    for before, after in zip(words, words[1:]):
        gap = text[before.end:after.start]
        if not between.fullmatch(gap):
            return None
        # a gap that breaks the line keeps its text after a comma: `"a", \` + newline + indentation
        parts.append(("," + gap) if "\n" in gap else ", ")
        parts.append(json.dumps(after.value, ensure_ascii=False))
    return "[" + "".join(parts) + "]"


def _exec_suggestion(df, instruction, commands):
    """`exec` before the last command, shown only: it is right for a server started last, which the author
    must confirm (a pipeline or a command list that ends in a cleanup step needs another shape)."""
    if not commands:
        return None
    last = commands[-1]
    pipeline = len(commands) > 1 and commands[-2].operator == "|"
    if last.unknown or not last.words or last.words[0].assignment or pipeline or last.operator == "&":
        return None
    if not _same_text(last, instruction, whole=False):
        return None
    start = last.words[0].start
    return Fix("prefix the last command with `exec`, so that it replaces the shell as PID 1",
               (Edit(start, start, "exec "),), Applicability.DISPLAY)


def _same_text(command, instruction, whole: bool = True) -> bool:
    """The command's text is its words and nothing else (a redirection would be lost in exec form, and keeps
    bash from exec'ing); `whole`: and it is the whole of the instruction's text."""
    rest = instruction.rest
    text = rest.text if whole else "".join(
        ch for ch, offset in zip(rest.text, rest.offsets) if command.start <= offset < command.end)
    rebuilt = " ".join(instruction.source_text[w.start:w.end] for w in command.words)
    return " ".join(text.split()) == " ".join(rebuilt.split())
