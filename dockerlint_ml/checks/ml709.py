"""ML709 apt-instead-of-apt-get: `apt`, the interactive front end, used in a RUN."""
from dockerlint_ml.apt import action_word, apt_commands
from dockerlint_ml.edits import add_option, replace
from dockerlint_ml.finding import Applicability, Fix, Severity
from dockerlint_ml.registry import rule

# What to use instead of an `apt` action: apt-cache answers the queries, apt-get does the rest.
_REPLACEMENTS = {
    **{action: "apt-cache " + action for action in ("search", "show", "policy", "depends", "rdepends", "showsrc",
                                                    "madison")},
    "list": "dpkg-query --list", "full-upgrade": "apt-get dist-upgrade",
}
# Actions apt-get runs the same way as apt, so that the fix only renames the program.
_SAME_IN_APT_GET = frozenset({
    "install", "remove", "purge", "update", "autoremove", "dist-upgrade", "clean", "autoclean", "build-dep",
    "source", "download", "check", "satisfy", "changelog",
})


@rule("ML709", "apt-instead-of-apt-get", Severity.WARNING,
      "`apt` is used in a RUN; its command line and output are meant for people and may change between releases.",
      aliases=("DL3027",), fix=Applicability.SAFE)
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
                             f"`{replacement}`", fix=_fix(instruction, apt))


def _fix(instruction, apt) -> Fix | None:
    """`apt` -> `apt-get` (a path kept) where apt-get does the same: `apt upgrade` installs new dependencies, so
    it becomes `apt-get upgrade --with-new-pkgs`, and `apt full-upgrade` is `apt-get dist-upgrade`. The queries
    (`apt list`, `apt search`, `apt show`) print something else with apt-cache or dpkg-query: no fix."""
    word, verb = apt.command.argv[0], action_word(apt)
    if instruction.json or word.quoted or word.expands or verb is None or verb.quoted:
        return None  # exec form: words are JSON strings, and those of `["bash", "-c", "..."]` do not map
    edits = [replace(word, word.value + "-get")]
    if apt.action == "upgrade":
        edits.append(add_option(instruction, verb, "--with-new-pkgs"))
        shown = "apt-get upgrade --with-new-pkgs"
    elif apt.action == "full-upgrade":
        edits.append(replace(verb, "dist-upgrade"))
        shown = "apt-get dist-upgrade"
    elif apt.action in _SAME_IN_APT_GET:
        shown = f"apt-get {apt.action}"
    else:
        return None
    return Fix(f"Use `{shown}`", tuple(edits))
