"""ML729 non-numeric-user: the final image runs as a user given by name, which Kubernetes cannot verify."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import final_user


# Windows images (servercore, nanoserver) have only named users (ContainerUser) and no runAsNonRoot check.
_WINDOWS = re.compile(r"windows|servercore|nanoserver", re.IGNORECASE)


@rule("ML729", "non-numeric-user", Severity.INFO,
      "The image's USER is a name, not a numeric uid, so Kubernetes `runAsNonRoot` cannot verify it.",
      aliases=("DL3066",))
def check(df, ctx):
    user = final_user(df)
    if user is None or user.instruction is None or not user.resolved:
        return  # no USER (the base image's default), or a value --build-arg sets
    if _WINDOWS.search(user.base.value):
        return
    name = user.value.split(":", 1)[0].strip()
    if name.isdigit():
        return
    words = user.instruction.words
    start, end = (words[0].start, words[-1].end) if words else (user.instruction.start, user.instruction.end)
    yield ctx.report(start, end,
                     f"the image runs as USER {user.value}, a name rather than a uid: Kubernetes `runAsNonRoot` "
                     f"cannot tell whether {name} is root and refuses to start the container, and the name means "
                     f"nothing outside the image's /etc/passwd; give the numeric id (e.g. USER 1000:1000)")
