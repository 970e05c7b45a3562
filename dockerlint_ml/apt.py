"""apt knowledge shared by the apt rules (ML104, ML202, ML203, ML303): which commands of a RUN run apt,
which of them fetch packages, and what keeps the package lists out of a layer."""
from __future__ import annotations

import re
from itertools import takewhile

from dockerlint_ml.installs import AptCommand, apt_command
from dockerlint_ml.paths import glob_covers
from dockerlint_ml.text import InputError
from dockerlint_ml.shell import Command, Word, parse_args

# Actions that read the package lists to download packages (so they need a fresh `apt-get update`).
FETCHING_ACTIONS = frozenset({
    "install", "reinstall", "upgrade", "dist-upgrade", "full-upgrade", "build-dep", "satisfy", "source",
    "download", "safe-upgrade",  # aptitude's upgrade
})

# A file `apt-get update` writes; a removal must reach it (or a folder above it) to drop the lists.
_LIST_FILE = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"
_LISTS = "/var/lib/apt/lists"
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
_TOOL_DIR = re.compile(r"(^|/)s?bin/")  # /usr/bin/apt-get, /opt/conda/bin/pip: a tool, not a script

# GNU xargs options that take the next word as their value (-i, -e, -l take only an attached one).
_XARGS_VALUED = frozenset({
    "-a", "--arg-file", "-d", "--delimiter", "-E", "-I", "-L", "-n", "--max-args", "-P", "--max-procs", "-s",
    "--max-chars", "--process-slot-var",
})


def apt_commands(instruction) -> list[tuple[int, AptCommand]]:
    """(index in instruction.commands, AptCommand) for each apt-get/apt/aptitude command of a RUN,
    including one run through xargs (`xargs -a pkgs.txt apt-get install -y`)."""
    found = []
    for index, command in enumerate(instruction.commands):
        apt = apt_command(command) or _through_xargs(command)
        if apt is not None:
            found.append((index, apt))
    return found


def _through_xargs(command: Command) -> AptCommand | None:
    if command.name != "xargs":
        return None
    _, rest = parse_args(command.argv[1:], _XARGS_VALUED, interleaved=False)
    if not rest:
        return None
    return apt_command(Command(rest, command.start, command.end, command.operator, command.unknown))


def action_word(apt: AptCommand) -> Word | None:
    """The word that names the action (`install` in `apt-get -y install curl`)."""
    return next((w for w in apt.command.argv[1:] if w.value == apt.action), None)


def is_fix_only(apt: AptCommand) -> bool:
    """`apt-get install -f` with no packages: it completes a `dpkg -i`, choosing nothing itself."""
    return apt.action == "install" and not apt.packages and bool(apt.flags & {"-f", "--fix-broken"})


def updates_lists(command: Command) -> bool:
    """`apt-get update` (any apt tool), or `add-apt-repository`, which runs one unless told not to."""
    apt = apt_command(command)
    if apt is not None:
        return apt.action == "update"
    if command.name in ("add-apt-repository", "apt-add-repository"):
        options, _ = parse_args(command.argv[1:], frozenset({"-k", "--keyserver", "-c", "--component"}))
        return not any(o.name in ("-n", "--no-update") for o in options)
    return False


def removes_lists(command: Command) -> bool:
    """`rm` (or `find ... -delete`) of /var/lib/apt/lists/* or of a folder or glob above it, `apt-get dist-clean`
    (Debian 13), or a script named for cleaning (Kaggle's `/tmp/clean-layer.sh`), which is not followed but trusted."""
    apt = apt_command(command)
    if apt is not None:
        return apt.action == "dist-clean"
    if runs_script(command) and any("clean" in w.value.lower() for w in command.argv[:2]):
        return True
    if command.name == "rm":
        _, targets = parse_args(command.argv[1:], frozenset())
    elif command.name == "find" and any(w.value in ("-delete", "rm") for w in command.argv):
        # `find /var/lib/apt/lists -type f -delete`: the starting points come before the first expression.
        targets = list(takewhile(lambda w: not w.value.startswith(("-", "(", "!")), command.argv[1:]))
    else:
        return False
    return any(glob_covers(w.value, _LIST_FILE) for w in targets if not w.expands)


def runs_script(command: Command) -> bool:
    """A command whose effect cannot be seen here: a script (`./setup.sh`, `/tmp/clean-layer.sh`, `bash x`,
    `curl ... | bash`, `. env.sh`) or a command held in a variable (`$APT_INSTALL curl`)."""
    argv = command.argv
    if not argv:
        return False
    name = command.name
    # `sh -c STRING` was already replaced by the commands of its string: a shell left here runs a file or stdin.
    path = argv[0].value
    return (argv[0].expands or name.endswith(".sh") or ("/" in path and not _TOOL_DIR.search(path))
            or name in (".", "source") or name in _SHELLS)


def lists_mounted(instruction) -> bool:
    """A cache or tmpfs mount on /var/lib/apt/lists or a folder above it (usually /var/lib/apt): what
    `apt-get update` writes there stays out of the layer."""
    for fields in instruction.mounts:
        target = fields.get("target", "").strip("\"'")
        if fields.get("type") in ("cache", "tmpfs") and target.strip("/") and glob_covers(target, _LISTS):
            return True
    return False


# `APT::Install-Recommends "false";` as written in an apt.conf file (not the `-o Key=value` form).
_CONF_NO_RECOMMENDS = re.compile(r"APT::Install-Recommends\s+\\?[\"']?(?:0|false|no|off)\b", re.IGNORECASE)
_CONF_FILE_LIMIT = 64 * 1024


def no_recommends_config_before(df, instruction, command: Command, build=None) -> bool:
    """Whether apt.conf says `APT::Install-Recommends "false"` before `command` runs: written earlier in the
    same RUN, by an earlier RUN or heredoc COPY of this stage or a stage it is built FROM, or copied in from
    a build-context file (read when the context is known)."""
    text = df.source.text
    if _CONF_NO_RECOMMENDS.search(text, instruction.start, command.start):
        return True
    for earlier in _earlier_in_lineage(instruction):
        if earlier.keyword in ("RUN", "COPY", "ADD") and _CONF_NO_RECOMMENDS.search(text, earlier.start, earlier.end):
            return True
        if earlier.keyword in ("COPY", "ADD") and build is not None and _copies_conf(earlier, build):
            return True
    return False


def _earlier_in_lineage(instruction):
    stage = instruction.stage
    if stage is None:
        return []
    earlier = [i for i in stage.instructions if i.index < instruction.index]
    seen = {stage.index}
    parent = stage.parent
    while parent is not None and parent.index not in seen:
        seen.add(parent.index)
        earlier.extend(parent.instructions)
        parent = parent.parent
    return earlier


def _copies_conf(instruction, build) -> bool:
    """A COPY of a build-context file (or folder) under /etc/apt whose text disables recommends."""
    paths = instruction.paths
    if instruction.flag("from") is not None or len(paths) < 2 or not paths[-1][1].startswith("/etc/apt"):
        return False
    for _, source in paths[:-1]:
        for rel in build.match(source):
            for name, size in build.files():
                if (name == rel or name.startswith(rel.rstrip("/") + "/") or rel == ".") and size <= _CONF_FILE_LIMIT:
                    if _CONF_NO_RECOMMENDS.search(_read(build, name)):
                        return True
    return False


def _read(build, relpath: str) -> str:
    try:
        return build.read(relpath).text
    except (InputError, OSError):
        return ""
