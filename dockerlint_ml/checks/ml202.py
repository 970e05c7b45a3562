"""ML202 apt-lists-in-layer: an apt install whose RUN leaves the package lists of `apt-get update` in the layer."""
from dockerlint_ml import edits
from dockerlint_ml.apt import FETCHING_ACTIONS, apt_commands, lists_mounted, removes_lists, updates_lists
from dockerlint_ml.finding import Applicability, Fix, Severity
from dockerlint_ml.installs import apt_command
from dockerlint_ml.registry import rule
from dockerlint_ml.text import InputError

APT_LISTS_STYLES = ("remove", "mount")
REMOVE_LISTS = edits.REMOVE_APT_LISTS
# BuildKit's own example for apt: both caches, locked, since apt cannot share them between concurrent builds.
APT_CACHES = ("/var/cache/apt", "/var/lib/apt")


@rule("ML202", "apt-lists-in-layer", Severity.WARNING,
      "An apt install runs after `apt-get update` in a RUN that leaves /var/lib/apt/lists in the final image.",
      aliases=("DL3009",), fix=Applicability.SAFE, options={"apt_lists": "remove"})
def check(df, ctx):
    style = ctx.options["apt_lists"]
    if style not in APT_LISTS_STYLES:
        raise InputError(f"options.ML202.apt_lists: expected one of {', '.join(APT_LISTS_STYLES)}, got {style!r}")
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
                                 "/var/lib/apt and /var/cache/apt)", fix=_fix(df, instruction, style))


def _label(command) -> str:
    apt = apt_command(command)
    return f"{apt.tool} update" if apt else command.name


def _fix(df, instruction, style: str) -> Fix | None:
    """Remove the lists at the end of the RUN, or (by option) keep them in cache mounts; neither where a later
    RUN installs with apt without updating first: it reads the lists this one leaves."""
    if edits.lists_read_later(df, instruction):
        return None
    if style == "mount":
        taken = edits.mount_targets(instruction)
        if "/var/lib/apt/lists" in taken:
            return None  # a bind mount there: a cache mount on its parent would not hold it
        mounts = [f"--mount=type=cache,target={path},sharing=locked" for path in APT_CACHES if path not in taken]
        edit = None if edits.joins_neighbour(instruction, mounts) else edits.add_flags(df, instruction, mounts)
        if edit is not None:
            return Fix("Keep the apt lists and packages in BuildKit cache mounts", (edit,))
    edit = edits.append_command(df, instruction, REMOVE_LISTS)
    return Fix(f"End the RUN with `{REMOVE_LISTS}`", (edit,)) if edit else None
