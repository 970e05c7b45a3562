"""ML202 apt-lists-in-layer: an apt install whose RUN leaves the package lists of `apt-get update` in the layer."""
from dockerlint_ml.apt import FETCHING_ACTIONS, apt_commands, lists_mounted, removes_lists, updates_lists
from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import apt_command
from dockerlint_ml.registry import rule


@rule("ML202", "apt-lists-in-layer", Severity.WARNING,
      "An apt install runs after `apt-get update` in a RUN that leaves /var/lib/apt/lists in the final image.",
      aliases=("DL3009",))
def check(df, ctx):
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            commands = instruction.commands
            # Only a RUN that updates writes the lists into its own layer; an install reading lists from an
            # earlier layer cannot shrink that layer (ML303 reports a lone update).
            update = next((c for c in commands if updates_lists(c)), None)
            if update is None or lists_mounted(instruction):
                continue
            for index, apt in apt_commands(instruction):
                if apt.action not in FETCHING_ACTIONS or any(removes_lists(c) for c in commands[index + 1:]):
                    continue
                command = apt.command
                yield ctx.report(command.argv[0].start, command.end,
                                 f"`{apt.tool} {apt.action}` runs in a RUN with `{_label(update)}` that never "
                                 "removes /var/lib/apt/lists, so the package lists (tens of MB) ship in this layer: "
                                 "end the RUN with `&& rm -rf /var/lib/apt/lists/*` (or use cache mounts on "
                                 "/var/lib/apt and /var/cache/apt)")


def _label(command) -> str:
    apt = apt_command(command)
    return f"{apt.tool} update" if apt else command.name
