"""ML601 shell-form-cmd: the final image's CMD/ENTRYPOINT in shell form, so the server never gets SIGTERM."""
import json

from dockerlint_ml import shell
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.serving import launch, unwrap

_POSIX_SHELLS = ("sh", "bash", "dash", "ash", "zsh", "ksh")
_WINDOWS_BASES = ("windows", "servercore", "nanoserver")
_BASH_SH_BASES = ("ubi", "centos", "fedora", "rockylinux", "almalinux", "amazonlinux", "oraclelinux", "rhel")


@rule("ML601", "shell-form-cmd", Severity.WARNING,
      "The CMD or ENTRYPOINT that the final image runs is in shell form, so SIGTERM never reaches the server.",
      aliases=("DL3025", "JSONArgsRecommended"))
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
                         f"deaf to SIGTERM; write {_exec_form(cmd)}")
    else:
        yield _report(ctx, df, target, extra)


def _report(ctx, df, instruction, extra: str):
    program = _program(instruction)
    return ctx.report(instruction.start, instruction.end,
                      f"{instruction.keyword} in shell form runs `{_shell(df, instruction)} {_quote(instruction)}`: "
                      f"the shell is PID 1 and does not pass SIGTERM on to {program}, so `docker stop` waits 10 s "
                      f"and then SIGKILLs it (a server loses its in-flight requests){extra}; "
                      f"write {_exec_form(instruction)}")


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
    fixed = f"{instruction.keyword} {json.dumps(words)}" if isinstance(words, list) else "it with double quotes"
    return ctx.report(instruction.start, instruction.end,
                      f"{instruction.keyword} {text} is not a valid JSON array (JSON strings need double quotes), so "
                      f"Docker runs it in shell form, `{_shell(df, instruction)} {text!r}`, which tries to run a "
                      f"program named by the bracketed text and fails; write {fixed}")


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


def _exec_form(instruction) -> str:
    """The exec-form rewrite when the text is one plain command; otherwise the `exec` advice."""
    commands = shell.parse_shell(instruction.rest)
    plain = len(commands) == 1 and not commands[0].unknown and commands[0].words and \
        not any(w.expands or w.assignment for w in commands[0].words)
    if plain and _same_text(commands[0], instruction):
        return f"{instruction.keyword} {json.dumps([w.value for w in commands[0].words])}"
    return "it in exec form (JSON array) or prefix its last command with `exec`"


def _same_text(command, instruction, whole: bool = True) -> bool:
    """The command's text is its words and nothing else (a redirection would be lost in exec form, and keeps
    bash from exec'ing); `whole`: and it is the whole of the instruction's text."""
    rest = instruction.rest
    text = rest.text if whole else "".join(
        ch for ch, offset in zip(rest.text, rest.offsets) if command.start <= offset < command.end)
    rebuilt = " ".join(instruction.source_text[w.start:w.end] for w in command.words)
    return " ".join(text.split()) == " ".join(rebuilt.split())
