"""ML724 shell-via-run: a RUN replaces /bin/sh by a symlink instead of using the SHELL instruction."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.shell import parse_args

# /bin/sh, and /usr/bin/sh, which is the same file on merged-/usr systems (Debian 12, Ubuntu 22.04 and later).
_SH = frozenset({"/bin/sh", "/usr/bin/sh"})
_LN_VALUED = frozenset({"-t", "--target-directory", "-S", "--suffix", "--backup"})


@rule("ML724", "shell-via-run", Severity.WARNING,
      "A RUN symlinks /bin/sh to another shell; the SHELL instruction changes the shell of RUN without that.",
      aliases=("DL4005",))
def check(df, ctx):
    for instruction in df.instructions:
        for command in instruction.commands:
            if command.name != "ln":
                continue
            options, paths = parse_args(command.argv[1:], _LN_VALUED)
            if len(paths) < 2 or any(o.name in ("-t", "--target-directory") for o in options):
                continue
            link, target = paths[-1], paths[0]
            if link.value.rstrip("/") not in _SH:
                continue
            yield ctx.report(command.argv[0].start, command.end,
                             f"replacing {link.value} with a link to {target.value} changes the shell of every "
                             "later RUN and of every program and script in the image that calls /bin/sh, and "
                             f"hides the change from readers: use {_shell_instruction(target.value)} instead")


def _shell_instruction(target: str) -> str:
    path = target if target.startswith("/") else "/bin/" + target
    pipefail = '"-o", "pipefail", ' if path.rsplit("/", 1)[-1] in ("bash", "zsh", "ash") else ""
    return f'`SHELL ["{path}", {pipefail}"-c"]`'
