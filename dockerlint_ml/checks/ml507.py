"""ML507 pip-user-site-unreadable: packages installed under /root/.local in an image that runs as another user."""
import posixpath

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import pip_install
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import final_lineage_users, final_user

_PIP_TRUE = {"y", "yes", "t", "true", "on", "1"}  # pip reads PIP_USER with strtobool


@rule("ML507", "pip-user-site-unreadable", Severity.ERROR,
      "`pip install --user` ran as root (or /root/.local was copied under /root) but the image runs as another "
      "user, who cannot read /root.")
def check(df, ctx):
    user = final_user(df)
    if user is None or user.is_root is not False:
        return  # the image runs as root (ML501's business), or we cannot tell who it runs as
    who = f"USER {user.value}" if user.value else f"the non-root user of {user.base.value}"
    steps = list(final_lineage_users(df))
    for index, (instruction, before) in enumerate(steps):
        if instruction.keyword == "RUN" and before.is_root and not _root_opened(steps[index:]):
            for command in instruction.commands:
                install = pip_install(command)
                if install is not None and _user_install(install, command, instruction.vars):
                    yield ctx.report(command.argv[0].start, command.end,
                                     "this user-site install (--user or PIP_USER) runs as root, so the packages go "
                                     f"to /root/.local, but the image runs as {who}, who cannot read root's home "
                                     "(mode 700): "
                                     "imports fail at run time; install without --user (system site-packages, or a "
                                     "venv under /opt), or run it after switching USER")
        elif instruction.keyword == "COPY" and instruction.flag("from") is not None:
            copied = _root_local_copy(instruction)
            if copied:
                source, dest = copied
                yield ctx.report(instruction.start, instruction.end,
                                 f"COPY --from={instruction.flag('from').value} {source} {dest} puts packages under "
                                 f"/root, but the image runs as {who}, who cannot read root's home (mode 700): "
                                 "imports fail at run time; copy them into a venv under /opt or into the user's "
                                 "home with --chown (e.g. /home/app/.local)")


def _user_install(install, command, env) -> bool:
    """`pip install --user`, or PIP_USER set true (ENV/ARG or a `PIP_USER=1 pip …` prefix), into root's home."""
    if install.tool != "pip":
        return False
    env = {**env, **dict(w.value.split("=", 1) for w in command.assignments)}
    if not (install.has_option("--user") or env.get("PIP_USER", "").lower() in _PIP_TRUE):
        return False
    # The user site is $PYTHONUSERBASE, else $HOME/.local: only under /root is it unreadable.
    base = env.get("PYTHONUSERBASE") or posixpath.join(env.get("HOME") or "/root", ".local")
    return _under_root(base)


def _root_opened(later) -> bool:
    """A `chmod … /root…` from this step on, in the final image's stages: root's home opened on purpose."""
    for instruction, _ in later:
        for command in instruction.commands:
            if command.name == "chmod" and any(_under_root(w.value) for w in command.argv[1:]):
                return True
    return False


def _root_local_copy(instruction):
    """(source, destination) of a COPY --from of /root/.local (or below) to an absolute path under /root."""
    values = [value for _, value in instruction.paths]
    if len(values) < 2:
        return None
    sources, dest = values[:-1], values[-1]
    local = [s for s in sources if posixpath.normpath(s) == "/root/.local" or s.startswith("/root/.local/")]
    if local and dest.startswith("/") and _under_root(dest):
        return local[0], dest
    return None


def _under_root(path: str) -> bool:
    path = posixpath.normpath(path) if path else ""
    return path == "/root" or path.startswith("/root/")
