"""ML104 unpinned-apt-install: a package installed by apt without `=version`."""
from dockerlint_ml.apt import apt_commands
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML104", "unpinned-apt-install", Severity.WARNING,
      "A package installed by apt-get or apt has no `=version` pin.", default_enabled=False, aliases=("DL3008",))
def check(df, ctx):
    for instruction in df.instructions:
        for _, apt in apt_commands(instruction):
            if apt.action != "install":
                continue
            for word in apt.packages:
                if _pinned_or_not_a_name(word):
                    continue
                name, _, release = word.value.partition("/")
                detail = f" (/{release} picks a release, not a version)" if release else ""
                yield ctx.report(word.start, word.end,
                                 f"apt package {name} has no version{detail}: a rebuild installs whatever the "
                                 f"mirror carries that day; pin it as {name}=<version> (the version `apt-cache "
                                 f"policy {name}` shows)")


def _pinned_or_not_a_name(word) -> bool:
    """Pinned (`pkg=1.2-3`), a variable (`$PACKAGES`), a local .deb file, or `pkg-` (a removal)."""
    value = word.value
    return ("=" in value or word.expands or "$" in value or value.startswith((".", "/", "~"))
            or value.endswith((".deb", "-")))
