"""ML303 apt-update-alone: `apt-get update` in a RUN that installs nothing."""
from dockerlint_ml.apt import FETCHING_ACTIONS, apt_commands, removes_lists, runs_script
from dockerlint_ml.edits import APT_FRONTENDS, merge_runs, same_flags
from dockerlint_ml.finding import Applicability, Fix, Severity
from dockerlint_ml.registry import rule


@rule("ML303", "apt-update-alone", Severity.WARNING,
      "`apt-get update` runs in a RUN that installs nothing, so later installs read cached, stale lists.",
      fix=Applicability.SAFE)
def check(df, ctx):
    for instruction in df.instructions:
        apts = apt_commands(instruction)
        updates = [(index, apt) for index, apt in apts if apt.action == "update"]
        if not updates or any(apt.action in FETCHING_ACTIONS for _, apt in apts):
            continue
        commands = instruction.commands
        if any(runs_script(c) or c.name in APT_FRONTENDS for c in commands):
            continue  # it may install out of sight
        for index, apt in updates:
            if any(removes_lists(c) for c in commands[index + 1:]):
                continue  # nothing is left for a later RUN to read
            command = apt.command
            yield ctx.report(command.argv[0].start, command.end,
                             f"`{apt.tool} update` runs in a RUN that installs nothing: its package lists are "
                             "cached as a layer of their own, so a later install reuses stale lists and can fail on "
                             f"versions the mirror has dropped; run `{apt.tool} update && {apt.tool} install ...` "
                             "in one RUN", fix=_fix(df, instruction))


def _fix(df, instruction) -> Fix | None:
    """Join the update with the RUN right after it when that RUN installs with apt and has the same flags."""
    following = df.instructions[instruction.index + 1] if instruction.index + 1 < len(df.instructions) else None
    if following is None or following.keyword != "RUN" or not same_flags(instruction, following):
        return None
    if not any(apt.action in FETCHING_ACTIONS for _, apt in apt_commands(following)):
        return None
    edits = merge_runs(df, instruction, following)
    return Fix(f"Join with the install on line {following.start_line}", edits) if edits else None
