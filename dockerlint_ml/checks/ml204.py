"""ML204 no-multi-stage-build: a single-stage image that ships its build toolchain."""
import posixpath
import re

from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.fixes import newline_of
from dockerlint_ml.installs import (APK_TOOLS, DNF_TOOLS, ZYPPER_TOOLS, apt_command, conda_command, package_command,
                                     pip_install)
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule
from dockerlint_ml.restructure import (VENV, comment_lines_above, editable_command, instruction_text,
                                       official_python, prepend_command, raw, reads_no_sources, venv_create,
                                       venv_env, words_removal)

TOOLCHAIN = re.compile(r"^(build-essential|gcc(-\d+)?|g\+\+(-\d+)?|clang(-\d+)?|make|cmake|ninja-build|git|"
                       r"rustc|cargo|gfortran|autoconf|automake|libtool|[a-z0-9.+-]+-dev)(=.*)?$")


@rule("ML204", "no-multi-stage-build", Severity.WARNING,
      "The only stage installs a build toolchain, so compilers ship in the image.", fix=Applicability.UNSAFE)
def check(df, ctx):
    final = df.final_stage
    if final is None or final.index != 0 or len(df.stages) != 1:
        return  # an earlier stage exists that could hold the toolchain
    # A CUDA devel base is ML205's finding, in a single stage or not.
    first = True  # the split is one fix: it goes with the first finding
    for instruction in final.instructions:
        for command in instruction.commands:
            apt = apt_command(command)
            if apt is None or apt.action != "install":
                continue
            tools = [w for w in apt.packages if TOOLCHAIN.match(w.value)]
            if tools:
                names = ", ".join(w.value for w in tools)
                yield ctx.report(tools[0].start, tools[-1].end,
                                 f"build tools ({names}) are installed in the only stage, so they ship in the "
                                 "image: compile in a builder stage and COPY --from it only what runs",
                                 fix=_fix(df, final) if first else None)
                first = False


def is_devel_image(base) -> bool:
    """nvidia/cuda:*devel*, pytorch/pytorch:*devel*, NGC devel images (nvcr.io/...:*-devel*)."""
    name = base.name.lower()
    cuda_family = name in ("nvidia/cuda", "pytorch/pytorch") or name.startswith("nvidia/") or base.registry == "nvcr.io"
    return cuda_family and "devel" in (base.tag or "").lower()


# ---------------------------------------------------------------------------------------------------------
# The fix: a builder stage (the file as it is, pip installs into a venv at /opt/venv) and a runtime stage.

# What the runtime stage leaves out of apt installs: compilers and build tools. Headers (`-dev`) stay: their
# packages bring the runtime libraries (libsndfile1-dev brings libsndfile1) that the built wheels load.
_BUILD_TOOLS = re.compile(r"^(build-essential|gcc(-\d+)?|g\+\+(-\d+)?|clang(-\d+)?|make|cmake|ninja-build|git|"
                          r"rustc|cargo|gfortran|autoconf|automake|libtool|pkg-config)(=.*)?$")
# Instructions the runtime stage repeats as they are: configuration, and copies from other images.
_REPEATED = frozenset({"ARG", "ENV", "WORKDIR", "USER", "EXPOSE", "LABEL", "CMD", "ENTRYPOINT", "HEALTHCHECK",
                       "STOPSIGNAL", "VOLUME", "SHELL", "MAINTAINER", "ONBUILD"})
# pip options, and the ENV spelling them, that install somewhere else than the environment of the pip that runs.
_ELSEWHERE = ("--user", "--target", "--prefix", "--root", "--system", "--python")
_ELSEWHERE_ENV = ("PIP_USER", "PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "UV_SYSTEM_PYTHON", "UV_PYTHON",
                  "UV_PROJECT_ENVIRONMENT")


def _fix(df, stage) -> Fix | None:
    """Split the only stage: it becomes the builder (`AS builder`; a venv at /opt/venv created before the
    first pip install and put first on PATH), and a runtime stage from the same base (a CUDA devel base: its
    runtime flavor) repeats the configuration (ARG, ENV, WORKDIR, USER, EXPOSE, CMD, ...), the apt installs
    without compilers and build tools, the system setup (useradd, mkdir, ...), copies the venv, and copies
    each folder or file the builder COPYs from the context. None when a RUN does something else (a download, a
    script, a build whose output is elsewhere) whose result the runtime stage would miss."""
    source, text = df.source, df.source.text
    runtime_base = _runtime_base(df, stage)
    name = stage.name or "builder"
    if runtime_base is None or "$" in name:
        return None
    lines, edits = [], []
    venv_at = None  # (instruction, command) of the first pip install: the venv is created just before it
    copied: list[str] = []
    workdir = None  # the base image's until a WORKDIR: unknown
    for instruction in stage.instructions[1:]:
        keyword = instruction.keyword
        if keyword == "WORKDIR":
            path, known = expand(unquote(instruction.rest.text.strip()), instruction.vars)
            workdir = posixpath.normpath(posixpath.join(workdir or "/", path)) if known else None
        if keyword == "USER" and instruction.args and instruction.args[0].split(":")[0] not in ("root", "0") and any(
                _pip(c) for i in stage.instructions if i.index > instruction.index for c in i.commands):
            return None  # pip as a non-root user cannot write the venv that root created
        if keyword == "ENV" and venv_at is not None and _drops_venv(instruction):
            return None
        if keyword in _REPEATED or keyword in ("COPY", "ADD") and instruction.flag("from") is not None:
            lines.append(instruction_text(source, instruction))
        elif keyword in ("COPY", "ADD"):
            line = _copy_from_builder(instruction, workdir, name, copied, text)
            if line is None:
                return None
            if line:
                lines.append(line)
        elif keyword == "RUN":
            kept, pips = _split_run(df, instruction)
            if kept is None:
                return None
            if kept:
                lines.append(kept)
            if pips and any(instruction.vars.get(variable) for variable in _ELSEWHERE_ENV):
                return None
            if pips and venv_at is None:
                if not _has_venv_module(stage):
                    return None
                venv_at = (instruction, pips[0])
                lines += [f"COPY --from={name} {VENV} {VENV}", venv_env()]
        else:
            return None
    nl = newline_of(text)
    if venv_at is not None:
        instruction, command = venv_at
        create = prepend_command(instruction, command, venv_create(command, stage))
        if create is None or len(_versioned_pythons(stage)) > 1:
            return None
        at = source.line_start(comment_lines_above(source, instruction.start_line))
        edits += [Edit(at, at, venv_env() + nl), create]
    if stage.name is None:
        end = stage.from_instruction.end
        edits.append(Edit(end, end, f" AS {name}"))
    platform = stage.from_instruction.flag("platform")
    flags = f"{text[platform.start:platform.end]} " if platform else ""
    stage_text = nl.join([f"FROM {flags}{runtime_base}", *lines])
    ending = text.endswith("\n")  # the file keeps its trailing-newline state
    edits.append(Edit(len(text), len(text), f"{'' if ending else nl}{nl}{stage_text}{nl if ending else ''}"))
    return Fix(f"Split into a builder stage and a runtime stage from {runtime_base} without build tools",
               tuple(edits), Applicability.UNSAFE)


def _runtime_base(df, stage) -> str | None:
    """The base image of the runtime stage as written: the same FROM word, or a CUDA devel image's runtime tag."""
    from dockerlint_ml.checks.ml205 import runtime_variant

    base = stage.base
    if base.unresolved or base.is_scratch or not stage.from_instruction.words:
        return None
    written = raw(df.source.text, stage.from_instruction.words[0])
    if not is_devel_image(base):
        return written
    runtime = runtime_variant(base)
    return runtime if runtime is not None and base.digest is None else None


def _has_venv_module(stage) -> bool:
    """Whether the stage's Python can create a venv: the official image's, or an apt python3 with python3-venv
    (Debian and Ubuntu split `ensurepip` out of python3)."""
    if official_python(stage):
        return True
    for instruction in stage.instructions:
        for command in instruction.commands:
            apt = apt_command(command)
            if apt is not None and apt.action == "install" and any(
                    re.fullmatch(r"python3(\.\d+)?-venv", w.value) for w in apt.packages):
                return True
    return False


def _versioned_pythons(stage) -> set[str]:
    """The `python3.X` / `pip3.X` versions pip commands name: the venv holds one of them only."""
    found = set()
    for instruction in stage.instructions:
        for command in instruction.commands:
            match = re.fullmatch(r"(?:python|pip)(3\.\d+)", command.name) if _pip(command) else None
            if match:
                found.add(match.group(1))
    return found


def _drops_venv(instruction) -> bool:
    """An ENV that sets PATH without the PATH before it: the venv's bin/ would no longer come first."""
    return any(name == "PATH" and not re.search(r"\$\{?PATH\b", value)
               for name, value in zip(instruction.args[0::2], instruction.args[1::2]))


def _pip(command):
    """A pip command the venv takes over: pip/uv pip install into the current environment, pip uninstall and
    the like; None for other commands."""
    install = pip_install(command)
    if install is not None:
        return install
    argv = [w.value for w in command.argv]
    if re.fullmatch(r"pip\d*(\.\d+)?", command.name) or argv[1:3] == ["-m", "pip"] or argv[:2] == ["uv", "pip"]:
        return command
    return None


def _split_run(df, instruction):
    """(the RUN as the runtime stage repeats it: its text less the pip commands and the build tools, or "" when
    nothing of use is left; the pip commands it runs), or (None, []) when a command is neither system setup nor
    a pip install into the current environment."""
    text = df.source.text
    pips, dropped, kept, removals = [], [], [], []
    for command in instruction.commands:
        install = _pip(command)
        if install is not None:
            if command.unknown or "/" in command.argv[0].value or (
                    install is not command and any(install.has_option(o) for o in _ELSEWHERE)):
                return None, []
            pips.append(command)
            dropped.append(command)
            continue
        if not _repeatable(command):
            return None, []
        apt = apt_command(command)
        tools = [w for w in apt.packages if _BUILD_TOOLS.match(w.value)] if apt and apt.action == "install" else []
        if tools and len(tools) == len(apt.packages):
            dropped.append(command)  # an install of build tools only: not in the runtime stage
            continue
        spans = words_removal(text, command, tools, df.escape) if tools else []
        if spans is None:
            return None, []
        removals += spans
        kept.append(command)
    if pips and not editable_command(instruction, pips[0]):
        return None, []
    if not any(_useful(c) for c in kept):
        return "", pips
    for command in dropped:
        span = _command_removal(df, instruction, command)
        if span is None:
            return None, []
        removals.append(span)
    start, end = df.source.line_start(instruction.start_line), df.source.line_end(instruction.end_line)
    body, cursor = [], start
    for a, b in sorted(set(removals)):
        if a < cursor:
            return None, []  # two removals meet: the RUN is too tangled to cut
        body.append(text[cursor:a])
        cursor = b
    return "".join(body) + text[cursor:end], pips


def _repeatable(command) -> bool:
    """System setup the runtime stage can run again without the build tools: apt and the other system package
    managers, user and file setup. Not conda, gem or npm installs, which may compile or fill other prefixes."""
    if not reads_no_sources(command) or conda_command(command) is not None:
        return False
    package = package_command(command)
    return package is None or package.tool in DNF_TOOLS | APK_TOOLS | ZYPPER_TOOLS


def _command_removal(df, instruction, command) -> tuple[int, int] | None:
    """Offsets that delete a whole command from its RUN: its own lines in a heredoc script, else the command
    and the `&&` (or `;`) joining it to the next one (to the previous one for the last command)."""
    text, source = df.source.text, df.source
    commands = instruction.commands
    index = commands.index(command)
    if any(doc.start <= command.start < doc.end for doc in instruction.heredocs):
        first, last = source.position(command.start)[0], source.position(command.end)[0]
        start, end = source.line_start(first), source.line_end(last)
        if text[start:command.start].strip() or text[command.end:end].strip(" \t;"):
            return None
        return start, source.line_start(last + 1)
    if index + 1 < len(commands) and command.operator in ("&&", ";"):
        return command.start, commands[index + 1].start
    if index > 0 and commands[index - 1].operator in ("&&", ";") and command.operator is None:
        return commands[index - 1].end, command.end
    return None


def _useful(command) -> bool:
    """A command worth repeating: not only `apt-get update`, a cleanup or `set -e`."""
    apt = apt_command(command)
    if apt is not None:
        return apt.action not in ("update", "clean", "autoclean", "autoremove")
    return command.name not in ("rm", "set", "true")


def _copy_from_builder(instruction, workdir: str | None, name: str, copied: list[str], text: str) -> str | None:
    """`COPY --from=builder <dest> <dest>` for a COPY/ADD from the context ("" when an earlier one copied it
    already); None when the destination is unknown or the image root."""
    if instruction.json or len(instruction.paths) < 2:
        return None
    dest, known = expand(instruction.paths[-1][1], instruction.vars)
    if not known or workdir is None and not dest.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(workdir or "/", dest))
    if path == "/":
        return None
    if any(path == c or path.startswith(c.rstrip("/") + "/") for c in copied):
        return ""
    copied.append(path)
    flags = [text[f.start:f.end] for f in instruction.flags if f.name in ("chown", "chmod", "link")]
    return " ".join(["COPY", f"--from={name}", *flags, path, path])
