"""ML721 useradd-high-uid: `useradd` with a high UID and without -l, which writes a huge sparse lastlog file."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import environment
from dockerlint_ml.model import expand
from dockerlint_ml.registry import rule
from dockerlint_ml.shell import parse_args
from dockerlint_ml.text import human_size

# hadolint's threshold: a UID of six digits or more.
HIGH_UID = 100000
# Bytes per UID in /var/log/lastlog (struct lastlog: 4 + 32 + 256) and /var/log/faillog (struct faillog).
_LASTLOG_RECORD, _FAILLOG_RECORD = 292, 32
_USERADD_VALUED = frozenset({
    "-u", "--uid", "-g", "--gid", "-G", "--groups", "-d", "--home-dir", "-s", "--shell", "-c", "--comment",
    "-b", "--base-dir", "-e", "--expiredate", "-f", "--inactive", "-k", "--skel", "-K", "--key", "-p", "--password",
    "-R", "--root", "-P", "--prefix", "-Z", "--selinux-user", "--btrfs-subvolume-home",
})


@rule("ML721", "useradd-high-uid", Severity.WARNING,
      "`useradd` gives a high UID without -l, so the sparse lastlog and faillog files fill the layer.",
      aliases=("DL3046",))
def check(df, ctx):
    for instruction in df.instructions:
        for command in instruction.commands:
            if command.name != "useradd":
                continue
            options, _ = parse_args(command.argv[1:], _USERADD_VALUED)
            if any(o.name in ("-l", "--no-log-init") for o in options):
                continue
            uid = _uid(options, environment(instruction, command, shell=True))
            if uid is None or uid < HIGH_UID:
                continue
            size = human_size((uid + 1) * (_LASTLOG_RECORD + _FAILLOG_RECORD))
            yield ctx.report(command.argv[0].start, command.end,
                             f"useradd with UID {uid} extends /var/log/lastlog and /var/log/faillog to {size}: "
                             "they are sparse on disk but image layers store every byte; add -l (--no-log-init)")


def _uid(options, env) -> int | None:
    """The -u / --uid value as a number, variables expanded; None when absent or unknown."""
    values = [o.value.value for o in options if o.name in ("-u", "--uid") and o.value is not None]
    if not values:
        return None
    text, resolved = expand(values[-1], env)
    return int(text) if resolved and text.isdigit() else None
