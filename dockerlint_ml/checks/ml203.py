"""ML203 apt-install-recommends: apt install without --no-install-recommends in the final image."""
from dockerlint_ml.apt import action_word, apt_commands, is_fix_only, no_recommends_config_before
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML203", "apt-install-recommends", Severity.INFO,
      "An apt install in the final image also installs recommended packages (no --no-install-recommends).",
      aliases=("DL3015",))
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
                                 "packages you need")


def _skips_recommends(apt) -> bool:
    return apt.no_install_recommends or bool(apt.tool == "aptitude" and apt.flags & {"-R", "--without-recommends"})
