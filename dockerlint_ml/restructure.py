"""Shared pieces of the structural fixes (ML204, ML205, ML206, ML209, ML211, ML301, ML507).

Whole instructions as text (to move or repeat them), removing one word from a shell command, running a new
command before another, pip's options as written, a virtualenv at /opt/venv, and the signs that a stage
compiles something. Every helper returns offsets or text and never edits: the rules build their `Fix`.
"""
from __future__ import annotations

import posixpath
import re

from dockerlint_ml.finding import Edit
from dockerlint_ml.installs import apt_command, conda_command, package_command, pip_install, uv_sync
from dockerlint_ml.model import Dockerfile, Instruction, Stage
from dockerlint_ml.shell import Command, Word
from dockerlint_ml.text import SourceText

VENV = "/opt/venv"


# ---------------------------------------------------------------------------------------------------------
# Instructions as lines of text


def lines_span(source: SourceText, first: int, last: int) -> tuple[int, int]:
    """Offsets of whole lines first..last, the newline that ends `last` included."""
    end = source.line_start(last + 1) if last < source.line_count else len(source.text)
    return source.line_start(first), end


def instruction_text(source: SourceText, instruction: Instruction) -> str:
    """The instruction's lines as written (continuations, inner comments and heredoc bodies included), without
    the final newline."""
    return source.text[source.line_start(instruction.start_line):source.line_end(instruction.end_line)]


def comment_lines_above(source: SourceText, line: int) -> int:
    """The first line of the comment lines directly above `line` (no blank line between): they describe it
    and move with it. `line` itself when there are none; parser directives at the top never count."""
    first = line
    while first > 1 and source.line_text(first - 1).lstrip().startswith("#"):
        first -= 1
    while first < line and _directive_line(source, first):
        first += 1
    return first


def _directive_line(source: SourceText, line: int) -> bool:
    """A `# syntax=` / `# escape=` / `# check=` line in the leading block of parser directives."""
    return all(re.match(r"#\s*[A-Za-z]+\s*=", source.line_text(n).strip()) for n in range(1, line + 1))


def block_removal(source: SourceText, first: int, last: int) -> tuple[int, int]:
    """Offsets that delete lines first..last, and one blank line after them when a blank line (or the top of
    the file) is also before them, so that removing a block leaves no double blank line."""
    start, end = lines_span(source, first, last)
    before_blank = first == 1 or not source.line_text(first - 1).strip()
    if before_blank and last < source.line_count and not source.line_text(last + 1).strip():
        end = lines_span(source, last + 1, last + 1)[1]
    return start, end


def indent(source: SourceText, line: int) -> str:
    text = source.line_text(line)
    return text[:len(text) - len(text.lstrip(" \t"))]


# ---------------------------------------------------------------------------------------------------------
# Editing shell commands


_SHELL_STRING = re.compile(r"\b(?:sh|bash|dash|ash|zsh|ksh)\s+-[A-Za-z]*c\b")


def editable_command(instruction: Instruction, command: Command) -> bool:
    """Whether a RUN's command can take a text edit: shell form, not part of a compound command (if/for/...) and
    not inside a `bash -c "..."` string (whose quoting an inserted word could break)."""
    if instruction.json or command.unknown:
        return False
    return not _SHELL_STRING.search(instruction.source_text[instruction.start:instruction.end])


def _gap_pattern(escape: str) -> re.Pattern:
    """Blanks and line continuations only (no comment line, no command separator)."""
    return re.compile(rf"(?:[ \t]|{re.escape(escape)}[ \t]*\r?\n)*")


def word_removal(text: str, command: Command, word: Word, escape: str = "\\") -> tuple[int, int] | None:
    """Offsets that delete `word` from `command` with the blanks that separate it, so that the words around it
    keep their lines, continuations and comments; None when that cannot be done cleanly (a comment line
    between the word and both of its neighbours)."""
    spans = words_removal(text, command, [word], escape)
    return spans[0] if spans else None


def words_removal(text: str, command: Command, remove: list[Word], escape: str = "\\") -> list[tuple[int, int]] | None:
    """Offsets that delete every word of `remove` from `command` (see word_removal); neighbouring words go in
    one span, so the spans never overlap. None if one of them cannot be removed cleanly."""
    words = command.words
    keys = {(w.start, w.end) for w in remove}
    marked = [(w.start, w.end) in keys for w in words]
    if sum(marked) != len(keys):
        return None
    spans, index = [], 0
    while index < len(words):
        if not marked[index]:
            index += 1
            continue
        last = index
        while last + 1 < len(words) and marked[last + 1]:
            last += 1
        span = _run_removal(text, words, index, last, _gap_pattern(escape))
        if span is None:
            return None
        spans.append(span)
        index = last + 1
    return spans


def _run_removal(text: str, words: list[Word], first: int, last: int, gap: re.Pattern) -> tuple[int, int] | None:
    start, end = words[first].start, words[last].end
    before = words[first - 1] if first else None
    after = words[last + 1] if last + 1 < len(words) else None
    if after is not None and re.fullmatch(r"[ \t]+", text[end:after.start]):
        return start, after.start  # the words and the blanks after them, on their line
    if before is not None and gap.fullmatch(text[before.end:start]):
        return before.end, end  # the words and what separates them from the previous one
    if after is not None and gap.fullmatch(text[end:after.start]):
        return start, after.start
    return None


def previous_command(instruction: Instruction, command: Command) -> Command | None:
    commands = instruction.commands
    for index, other in enumerate(commands):
        if other is command:
            return commands[index - 1] if index else None
    return None


def prepend_command(instruction: Instruction, command: Command, text: str) -> Edit | None:
    """An edit that runs `text` just before `command` (`text && command`); None where `&&` would change what
    runs: after `||`, `|` or `&`, inside compound commands or a `bash -c` string."""
    if not editable_command(instruction, command):
        return None
    previous = previous_command(instruction, command)
    if previous is not None and previous.operator not in ("&&", ";", "\n"):
        return None
    return Edit(command.start, command.start, f"{text} && ")


def raw(source_text: str, word: Word) -> str:
    return source_text[word.start:word.end]


# ---------------------------------------------------------------------------------------------------------
# pip as written


def install_word(command: Command) -> Word | None:
    """The `install` word of `pip install` / `python -m pip install` / `uv pip install`."""
    for word in command.argv[1:]:
        if word.value == "install":
            return word
    return None


# Options that choose where packages come from: a call that installs from another index leaves them out.
INDEX_OPTIONS = frozenset({"--index-url", "--extra-index-url", "--index", "--default-index", "--find-links",
                           "--index-strategy", "--no-index", "--torch-backend"})
# Options that name what to install rather than how.
TARGET_OPTIONS = frozenset({"--requirement", "--editable"})


def pip_options_text(source_text: str, install, drop: frozenset[str]) -> list[str]:
    """The options of a `pip install` as written (with their values), but those whose long name is in `drop`."""
    from dockerlint_ml.installs import _PIP_ALIASES, _PIP_VALUED, _UV_ALIASES, _UV_VALUED
    from dockerlint_ml.shell import parse_args

    command = install.command
    tool_words = command.argv[1:]
    start = next((i for i, w in enumerate(tool_words) if w.value == "install"), None)
    if start is None:
        return []
    valued, aliases = (_UV_VALUED, _UV_ALIASES) if install.tool == "uv" else (_PIP_VALUED, _PIP_ALIASES)
    options, _ = parse_args(tool_words[start + 1:], valued)
    texts = []
    for option in options:
        if aliases.get(option.name, option.name) in drop:
            continue
        text = raw(source_text, option.word)
        if option.value is not None and option.value.start >= option.word.end:
            text += " " + raw(source_text, option.value)
        if not texts or texts[-1] != text:  # a cluster (-qU) yields one option per letter, written once
            texts.append(text)
    return texts


def install_command(df: Dockerfile, build, package):
    """(Command, PipInstall) of the pip / uv pip call that installs `package`: the call whose words hold it, or
    for a requirements-file line the call whose `-r` files include that file; None if there is none."""
    from dockerlint_ml.reach import runs

    installs = [(c, pip_install(c)) for c in package.instruction.commands]
    installs = [(c, i) for c, i in installs if i is not None]
    if package.source is None:
        return next(((c, i) for c, i in installs if c.start <= package.start < c.end), None)
    view = next((v for v in runs(df, build) if v.instruction is package.instruction), None)
    for command, install in installs:
        for word in install.requirement_files:
            relpath = view.context_path(word.value) if view is not None else None
            closure = build.requirements_closure(relpath, kinds=("requirement",)) if relpath else []
            if any(parsed.source.path == package.source.path for parsed in closure):
                return command, install
    return None


# ---------------------------------------------------------------------------------------------------------
# A virtualenv at /opt/venv


def venv_env() -> str:
    """The ENV that makes every later `python`, `pip` and console script the venv's."""
    return f'ENV VIRTUAL_ENV={VENV} PATH="{VENV}/bin:$PATH"'


def venv_create(command: Command, stage: Stage) -> str:
    """The command that creates the venv, with the interpreter the pip command runs under. On the official
    python image a plain venv (its site-packages holds only pip); elsewhere `--system-site-packages`, so that
    Python packages of the base image or of apt (a conda torch, python3-numpy) stay visible as they were."""
    shared = "" if official_python(stage) else " --system-site-packages"
    return f"{interpreter(command)} -m venv{shared} {VENV}"


def interpreter(command: Command) -> str:
    """The Python a pip command runs under, to build the venv from: `python3.11 -m pip` -> python3.11,
    `pip3.11` -> python3.11, `pip`/`pip3` -> python3."""
    name = command.name
    if name.startswith("python"):
        return command.argv[0].value
    match = re.fullmatch(r"pip(\d+(?:\.\d+)?)", name)
    return f"python{match.group(1)}" if match and "." in match.group(1) else "python3"


def official_python(stage: Stage) -> bool:
    """A stage on the official `python` image, whose interpreter in /usr/local has venv and only pip in its
    site-packages."""
    base = stage.base
    return not base.unresolved and base.name.lower() in ("python", "library/python") and base.registry in (
        None, "docker.io", "index.docker.io")


# ---------------------------------------------------------------------------------------------------------
# Commands that read nothing of the project's sources


# System setup that reads no file of the project.
_SETUP_PROGRAMS = frozenset({"useradd", "groupadd", "adduser", "addgroup", "usermod", "ldconfig", "true", "echo",
                             "export", "set", "update-alternatives", "apt-key", "update-ca-certificates",
                             "locale-gen", "dpkg-reconfigure"})
# File utilities: fine on absolute paths (chown and chmod take an owner or a mode first).
_FILE_PROGRAMS = {"rm": 0, "mkdir": 0, "ln": 0, "chown": 1, "chmod": 1}


def reads_no_sources(command: Command) -> bool:
    """A command that installs packages by name or sets up the system, never reading files of the build
    context: apt and other system package managers, `pip install NAME` (no -r, no local path), conda by name,
    and file utilities on absolute paths (rm, mkdir, ln, chown, useradd, ...)."""
    if command.unknown:
        return False
    if apt_command(command) is not None or package_command(command) is not None:
        return command.name != "go" and command.name not in ("npm", "yarn")  # those read package.json
    pip = pip_install(command)
    if pip is not None:
        return not (pip.requirement_files or pip.constraint_files or pip.editables
                    or any(_local(w.value) for w in pip.packages + pip.option_values("--find-links")))
    conda = conda_command(command)
    if conda is not None:
        return conda.action in ("install", "create", "clean", "update", "remove") and not conda.files
    if command.name in _SETUP_PROGRAMS:
        return True
    if command.name in _FILE_PROGRAMS:
        paths = [w.value for w in command.argv[1:] if not w.value.startswith("-")][_FILE_PROGRAMS[command.name]:]
        return all(p.startswith(("/", "$")) for p in paths)
    return False


def _local(value: str) -> bool:
    """A pip argument naming a local path (`.`, `./pkg`, `../x`, `file:`, an archive) rather than a package."""
    return (value in (".", "..") or value.startswith(("./", "../", "/", "file:", ".["))
            or value.endswith((".whl", ".tar.gz", ".zip")) and "://" not in value)


# ---------------------------------------------------------------------------------------------------------
# What compiles


# Commands that compile, whatever their arguments.
_COMPILERS = frozenset({"nvcc", "gcc", "g++", "cc", "c++", "clang", "clang++", "make", "cmake", "ninja", "cargo",
                        "rustc", "bazel", "bazelisk", "meson", "scons", "gfortran", "ccache", "maturin"})
# The same as words anywhere in a RUN (an apt-get hidden in `$APT_INSTALL` still names its packages).
_TOOLCHAIN_WORD = re.compile(r"(?<![\w./-])(build-essential|gcc(-\d+)?|g\+\+(-\d+)?|clang(\+\+)?(-\d+)?|cmake|make|"
                             r"ninja(-build)?|nvcc|cargo|rustc|gfortran|cuda-nvcc\S*|cuda-toolkit\S*|setup\.py|"
                             r"bdist_wheel|python3?(\.\d+)?-dev|--no-binary)(?![\w.-])")
# ENV that only an extension build reads.
_BUILD_ENV = frozenset({"TORCH_CUDA_ARCH_LIST", "FORCE_CUDA", "TCNN_CUDA_ARCHITECTURES", "CUDA_ARCHITECTURES",
                        "MAX_JOBS", "NVCC_FLAGS", "NVCC_APPEND_FLAGS", "CUDA_HOME", "CUDA_PATH", "CUDACXX"})
# PyPI packages that compile CUDA code at install (sdists) or at run time (JIT through nvcc or libNVVM), so
# they need the devel image's compiler.
NEEDS_NVCC = frozenset({"flash-attn", "apex", "deepspeed", "mamba-ssm", "causal-conv1d", "pytorch3d", "detectron2",
                        "auto-gptq", "tiny-cuda-nn", "nvdiffrast", "mmcv", "mmcv-full", "pycuda", "numba",
                        "gsplat", "diff-gaussian-rasterization", "simple-knn", "torch-scatter", "torch-sparse",
                        "torch-cluster", "torch-spline-conv", "spconv", "xformers", "tensorflow", "tensorflow-gpu",
                        "jaxlib", "exllamav2", "awq", "autoawq", "vllm", "bitsandbytes", "cupy"})


def may_compile(df: Dockerfile, stages: list[Stage], build) -> str | None:
    """Why these stages may compile (native code, CUDA kernels), as a phrase; None when nothing does. Signs: a
    compiler run or installed, a source build (`pip install .`, `setup.py`, `pip wheel`, `--no-binary`, a VCS
    or sdist URL), a package known to need nvcc, the ENV an extension build reads; and what cannot be seen
    into: a script run from the image, a requirements file that is not in the build context."""
    from dockerlint_ml.packages import stage_packages
    from dockerlint_ml.reach import runs

    for stage in stages:
        for name in stage.env:
            if name in _BUILD_ENV:
                return f"ENV {name} is set for an extension build"
    views = {id(v.instruction): v for v in runs(df, build)}
    for stage in stages:
        for instruction in stage.instructions:
            if instruction.keyword != "RUN":
                continue
            word = _TOOLCHAIN_WORD.search(instruction.original)
            if word:
                return f"line {instruction.start_line} uses {word.group(1)}"
            for command in instruction.commands:
                found = _compiles(command) or _unseen(command, views.get(id(instruction)))
                if found:
                    return f"{found} (line {instruction.start_line})"
    for package in stage_packages(df, build, stages):
        if package.name in NEEDS_NVCC:
            return f"{package.name} compiles CUDA code with nvcc"
    return None


def _unseen(command: Command, view) -> str | None:
    """A command whose work cannot be seen from here: a script, or an install from a file not in the context."""
    name, argv = command.name, [w.value for w in command.argv]
    if command.unknown or argv and argv[0].startswith(("./", "../")) or name in ("sh", "bash", "source", "."):
        return "a script runs"
    pip = pip_install(command)
    if pip is not None and any(view is None or view.context_path(w.value) is None for w in pip.requirement_files):
        return "a requirements file outside the build context is installed"
    return None


def _compiles(command: Command) -> str | None:
    name = command.name
    if name in _COMPILERS:
        return f"`{name}` runs"
    argv = [w.value for w in command.argv]
    if name.startswith("python") and len(argv) > 1 and posixpath.basename(argv[1]) == "setup.py":
        return "`setup.py` builds"
    if name.startswith("python") and "build" in argv[1:3] and "-m" in argv[1:2]:
        return "`python -m build` builds"
    pip = pip_install(command)
    if pip is not None:
        if pip.has_option("--no-binary") or pip.editables:
            return "pip builds from source"
        for word in pip.packages:
            value = word.value
            if _local(value) and not value.endswith(".whl") or value.startswith(("git+", "hg+", "svn+")) or (
                    "://" in value and not value.endswith(".whl")):
                return f"pip builds {value} from source"
        return None
    if uv_sync(command) is not None:
        return None
    if name in ("pip", "pip3") and "wheel" in argv[1:2]:
        return "`pip wheel` builds"
    conda = conda_command(command)
    if conda is not None and any(re.match(r"(cuda-nvcc|cudatoolkit-dev|gcc|gxx|cxx-compiler|c-compiler)\b", w.value)
                                 for w in conda.packages):
        return "a compiler is installed with conda"
    return None
