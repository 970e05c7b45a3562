"""ML303 apt-update-alone: `apt-get update` in a RUN that installs nothing."""
from dockerlint_ml.apt import FETCHING_ACTIONS, apt_commands, removes_lists, runs_script
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# Front ends that install Debian packages through apt without being apt-get themselves.
_APT_FRONTENDS = frozenset({"apt-fast", "nala", "install_packages", "rosdep", "apt-install", "add-pkg"})


@rule("ML303", "apt-update-alone", Severity.WARNING,
      "`apt-get update` runs in a RUN that installs nothing, so later installs read cached, stale lists.")
def check(df, ctx):
    for instruction in df.instructions:
        apts = apt_commands(instruction)
        updates = [(index, apt) for index, apt in apts if apt.action == "update"]
        if not updates or any(apt.action in FETCHING_ACTIONS for _, apt in apts):
            continue
        commands = instruction.commands
        if any(runs_script(c) or c.name in _APT_FRONTENDS for c in commands):
            continue  # it may install out of sight
        for index, apt in updates:
            if any(removes_lists(c) for c in commands[index + 1:]):
                continue  # nothing is left for a later RUN to read
            command = apt.command
            yield ctx.report(command.argv[0].start, command.end,
                             f"`{apt.tool} update` runs in a RUN that installs nothing: its package lists are "
                             "cached as a layer of their own, so a later install reuses stale lists and can fail on "
                             f"versions the mirror has dropped; run `{apt.tool} update && {apt.tool} install ...` "
                             "in one RUN")

