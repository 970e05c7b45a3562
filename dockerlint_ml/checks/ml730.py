"""ML730 zypper-dist-upgrade: `zypper dist-upgrade` in a RUN, which can move the image to another release."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import ZYPPER_TOOLS, package_command
from dockerlint_ml.registry import rule


@rule("ML730", "zypper-dist-upgrade", Severity.WARNING,
      "`zypper dist-upgrade` (dup) in a RUN can replace the base image's distribution release.",
      aliases=("DL3035",))
def check(df, ctx):
    for instruction in df.instructions:
        for command in instruction.commands:
            found = package_command(command)
            if found is None or found.tool not in ZYPPER_TOOLS or found.action != "dist-upgrade":
                continue
            yield ctx.report(command.argv[0].start, command.end,
                             f"`{found.label}` may upgrade, downgrade or remove any package to match "
                             "the configured repositories, even to another release, so the image silently stops "
                             "being the base image it names: use `zypper update` (or `zypper patch`), or a newer "
                             "base image")
