"""ML507 pip-user-site-unreadable: packages installed under /root/.local in an image that runs as another user."""
import posixpath

from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.installs import pip_install
from dockerlint_ml.registry import rule
from dockerlint_ml.fixes import newline_of
from dockerlint_ml.restructure import (VENV, comment_lines_above, editable_command, indent, prepend_command,
                                       venv_create, venv_env, word_removal)
from dockerlint_ml.secrets import final_lineage_users, final_user

_PIP_TRUE = {"y", "yes", "t", "true", "on", "1"}  # pip reads PIP_USER with strtobool


@rule("ML507", "pip-user-site-unreadable", Severity.ERROR,
      "`pip install --user` ran as root (or /root/.local was copied under /root) but the image runs as another "
      "user, who cannot read /root.", fix=Applicability.UNSAFE)
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
                                     "venv under /opt), or run it after switching USER",
                                     fix=_drop_user_fix(df, instruction, command))
        elif instruction.keyword == "COPY" and instruction.flag("from") is not None:
            copied = _root_local_copy(instruction)
            if copied:
                source, dest = copied
                yield ctx.report(instruction.start, instruction.end,
                                 f"COPY --from={instruction.flag('from').value} {source} {dest} puts packages under "
                                 f"/root, but the image runs as {who}, who cannot read root's home (mode 700): "
                                 "imports fail at run time; copy them into a venv under /opt or into the user's "
                                 "home with --chown (e.g. /home/app/.local)", fix=_venv_fix(df, instruction))


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


# ---------------------------------------------------------------------------------------------------------
# Fixes


def _user_word(command, env):
    """The word that makes this a user install: `--user`, or a `PIP_USER=1` prefix of this command alone; None
    when an ENV or ARG sets PIP_USER too (dropping the word would change nothing)."""
    if env.get("PIP_USER", "").lower() in _PIP_TRUE:
        return None
    word = next((w for w in command.argv if w.value == "--user"), None)
    prefix = [w for w in command.assignments if w.value.split("=", 1)[0] == "PIP_USER"]
    if prefix and word is None and len(prefix) == 1:
        return prefix[0]
    return word if not prefix else None


def _drop_user_fix(df, instruction, command) -> Fix | None:
    """`pip install --user` run as root in the final image: drop `--user`, so the packages go to the system
    site-packages every user can read. Not for PIP_USER, which an ENV may set for other installs too."""
    word = _user_word(command, instruction.vars)
    if word is None or not editable_command(instruction, command):
        return None
    span = word_removal(df.source.text, command, word, df.escape)
    if span is None:
        return None
    return Fix("Install into the system site-packages instead of root's user site", (Edit(*span, ""),),
               Applicability.UNSAFE)


def _venv_fix(df, copy) -> Fix | None:
    """`COPY --from=builder /root/.local /root/.local`: the builder installs into a virtualenv at /opt/venv
    instead (`--user` dropped, the venv created before the first install and put first on PATH), the COPY
    takes /opt/venv whole, and the final image puts its bin/ on PATH."""
    builder = df.stage_by_ref(copy.flag("from").value or "", copy.stage.index)
    paths = copy.paths
    if builder is None or len(paths) != 2 or any(posixpath.normpath(v) != "/root/.local" for _, v in paths):
        return None
    installs = _user_installs(df, builder)
    if not installs or _other_uses(df, builder, copy, installs[0][0]):
        return None
    text = df.source.text
    first_instruction, first_command, _ = installs[0]
    create = prepend_command(first_instruction, first_command, venv_create(first_command, builder))
    if create is None:
        return None
    line = comment_lines_above(df.source, first_instruction.start_line)  # the comments describe the RUN
    start = df.source.line_start(line)
    edits = [Edit(start, start, indent(df.source, line) + venv_env() + newline_of(text)), create]
    for instruction, command, word in installs:
        span = word_removal(text, command, word, df.escape) if editable_command(instruction, command) else None
        if span is None:
            return None
        edits.append(Edit(*span, ""))
    edits += [Edit(word.start, word.end, VENV) for word, _ in paths]
    edits.append(_path_edit(df, copy))
    return Fix(f"Install into a virtualenv at {VENV} in stage {builder.name or builder.index} and copy it whole",
               tuple(edits), Applicability.UNSAFE)


def _user_installs(df, builder) -> list:
    """(instruction, command, `--user` word) of each pip user install in the builder stage; [] when one of them
    cannot be rewritten (PIP_USER, a pip given by absolute path) or an ancestor stage installs to the user site
    too."""
    from dockerlint_ml.cuda import lineage

    found = []
    for stage in lineage(builder):
        for instruction in stage.instructions:
            for command in instruction.commands:
                install = pip_install(command)
                if install is None or not _user_install(install, command, instruction.vars):
                    continue
                word = _user_word(command, instruction.vars)
                if stage is not builder or word is None or "/" in command.argv[0].value:
                    return []
                found.append((instruction, command, word))
    return found


def _other_uses(df, builder, copy, first) -> bool:
    """Whether something else relies on /root/.local of the builder: another COPY of it, or a RUN of the builder
    after the first install that names it."""
    for instruction in df.instructions:
        if instruction is copy:
            continue
        flag = instruction.flag("from") if instruction.keyword in ("COPY", "ADD") else None
        if flag is not None and df.stage_by_ref(flag.value or "", instruction.stage.index) is builder and any(
                v.startswith("/root") for _, v in instruction.paths[:-1]):
            return True
        if instruction.stage is builder and instruction.keyword == "RUN" and instruction.index > first.index and (
                "/root/.local" in instruction.original or "~/.local" in instruction.original):
            return True
    return False


def _path_edit(df, copy) -> Edit:
    """Put the venv's bin/ on PATH: rewrite /root/.local/bin in a later ENV PATH of the stage, else add an ENV
    after the COPY."""
    text = df.source.text
    for instruction in copy.stage.instructions:
        if instruction.keyword == "ENV" and instruction.index > copy.index:
            for word in instruction.words:
                at = text.find("/root/.local/bin", word.start, word.end)
                if word.value.startswith("PATH") and at >= 0:
                    return Edit(at, at + len("/root/.local/bin"), f"{VENV}/bin")
    end = df.source.line_end(copy.end_line)
    return Edit(end, end, newline_of(text) + indent(df.source, copy.start_line) + f'ENV PATH="{VENV}/bin:$PATH"')
