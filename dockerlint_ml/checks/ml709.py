"""ML709 apt-instead-of-apt-get: `apt`, the interactive front end, used in a RUN."""
from dockerlint_ml.apt import apt_commands
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# What to use instead of an `apt` action: apt-cache answers the queries, apt-get does the rest.
_REPLACEMENTS = {
    **{action: "apt-cache " + action for action in ("search", "show", "policy", "depends", "rdepends", "showsrc",
                                                    "madison")},
    "list": "dpkg-query --list", "full-upgrade": "apt-get dist-upgrade",
}


@rule("ML709", "apt-instead-of-apt-get", Severity.WARNING,
      "`apt` is used in a RUN; its command line and output are meant for people and may change between releases.",
      aliases=("DL3027",))
def check(df, ctx):
    for instruction in df.instructions:
        for _, apt in apt_commands(instruction):
            if apt.tool != "apt":
                continue
            action = f" {apt.action}" if apt.action else ""
            replacement = _REPLACEMENTS.get(apt.action, "apt-get" + action)
            word = apt.command.argv[0]
            yield ctx.report(word.start, word.end,
                             f"`apt{action}` is the interactive front end: its interface is not stable for scripts "
                             f"(apt itself warns so) and it shows progress bars meant for a terminal; use "
                             f"`{replacement}`")
