"""ML203 apt-install-recommends: apt install without --no-install-recommends in the final image."""
import re

from dockerlint_ml.apt import action_word, apt_commands, is_fix_only, no_recommends_config_before
from dockerlint_ml.edits import add_option
from dockerlint_ml.finding import Applicability, Fix, Severity
from dockerlint_ml.registry import rule

_WANTS_RECOMMENDS = re.compile(r"APT::Install-Recommends=(true|1|yes|on)", re.IGNORECASE)


@rule("ML203", "apt-install-recommends", Severity.INFO,
      "An apt install in the final image also installs recommended packages (no --no-install-recommends).",
      aliases=("DL3015",), fix=Applicability.UNSAFE)
def check(df, ctx):
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            for _, apt in apt_commands(instruction):
                if apt.action != "install" or is_fix_only(apt) or _skips_recommends(apt):
                    continue
                command = apt.command
                if no_recommends_config_before(df, instruction, command, ctx.build):
                    continue
                word = action_word(apt) or command.argv[0]
                names = "".join(f" {w.value}" for w in apt.packages[:3]) + (" ..." if len(apt.packages) > 3 else "")
                flag = "--without-recommends" if apt.tool == "aptitude" else "--no-install-recommends"
                yield ctx.report(command.argv[0].start, word.end,
                                 f"`{apt.tool} install{names}` also installs recommended packages (often hundreds "
                                 f"of MB of docs, X11 libraries and fonts in the image): add {flag} and name the "
                                 "packages you need", fix=_fix(instruction, apt, word, flag))


def _skips_recommends(apt) -> bool:
    return apt.no_install_recommends or bool(apt.tool == "aptitude" and apt.flags & {"-R", "--without-recommends"})


def _fix(instruction, apt, word, flag: str) -> Fix | None:
    """Unsafe: the program may need a package it only recommends (curl and ca-certificates). None where the
    command asks for recommends with `-o APT::Install-Recommends=true`, which would override the flag."""
    if any(_WANTS_RECOMMENDS.fullmatch(w.value) for w in apt.config):
        return None
    edit = add_option(instruction, word, flag)
    return Fix(f"Add {flag}", (edit,), Applicability.UNSAFE) if edit is not None else None
