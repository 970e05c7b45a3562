"""ML404 cuda-arch-list-missing: CUDA extensions compiled in `docker build` without TORCH_CUDA_ARCH_LIST."""
import posixpath
import re

from dockerlint_ml.checks.ml204 import is_devel_image
from dockerlint_ml.cuda import lineage, root_stage, stage_cuda
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import apt_command, pip_install
from dockerlint_ml.model import expand
from dockerlint_ml.registry import rule

_SETUP_BUILDS = frozenset({"install", "develop", "build_ext", "bdist_wheel", "build"})
_NVCC_APT = re.compile(r"^cuda-(nvcc|minimal-build|toolkit|compiler|libraries-dev)")
_ARCH = re.compile(r"^(\d+)\.(\d+)(a?)(\+PTX)?$", re.IGNORECASE)
_TRUE = {"1", "true", "yes", "on"}


@rule("ML404", "cuda-arch-list-missing", Severity.WARNING,
      "CUDA extensions are compiled during the build without TORCH_CUDA_ARCH_LIST (or without the target GPUs).",
      options={"target_archs": []})
def check(df, ctx):
    targets = [str(t) for t in ctx.options.get("target_archs") or []]
    for stage in df.stages:
        if not _compiles_cuda(stage):
            continue
        for instruction in stage.instructions:
            for index, command in enumerate(instruction.commands):
                built = _extension_build(instruction, index, command)
                if built is None:
                    continue
                label, word, gated = built
                env = _environment(instruction, index, command)
                archs = env.get("TORCH_CUDA_ARCH_LIST")
                if gated and env.get("FORCE_CUDA", "").lower() not in _TRUE:
                    yield ctx.report(word.start, command.end, _cpu_only(label, archs is not None, targets))
                elif archs is None:
                    yield ctx.report(word.start, command.end, _missing(label, targets))
                elif targets and archs:
                    uncovered = _uncovered(targets, archs)
                    if uncovered:
                        yield ctx.report(word.start, command.end, _partial(label, archs, uncovered))


def _compiles_cuda(stage) -> bool:
    """A stage with nvcc: a CUDA devel base (nvidia/cuda, pytorch/pytorch) or the compiler installed with apt.
    NGC images set TORCH_CUDA_ARCH_LIST themselves."""
    cuda = stage_cuda(stage)
    if cuda is not None and cuda.kind == "ngc":
        return False
    if is_devel_image(root_stage(stage).base):
        return True
    for earlier in lineage(stage):
        for instruction in earlier.instructions:
            for command in instruction.commands:
                apt = apt_command(command)
                if apt and apt.action == "install" and any(_NVCC_APT.match(w.value) for w in apt.packages):
                    return True
    return False


def _extension_build(instruction, index: int, command):
    """(what is built, the word to report, whether it needs FORCE_CUDA=1 to compile CUDA kernels without a GPU)
    when the command builds torch CUDA extensions from source; else None."""
    data = facts()["torch_cuda_arch"]
    always, gated, own = set(data["cuda_projects"]), set(data["force_cuda_projects"]), set(data["own_arch_flags"])
    env = _environment(instruction, index, command)
    force = env.get("FORCE_CUDA", "").lower() in _TRUE
    folder = _current_folder(instruction, index)
    install = pip_install(command)
    if install is not None:
        prebuilt = install.has_option("--find-links")
        for word in install.packages + install.editables:
            value = expand(word.value, instruction.vars)[0].strip("'\"")
            source = _source_project(value, folder)
            name = source if source is not None else _name(value)
            if name in own:
                continue
            if name == "deepspeed":  # an sdist: its ops compile at install only when asked to
                if any(k.startswith("DS_BUILD_") and v.lower() in _TRUE for k, v in env.items()):
                    return "deepspeed (DS_BUILD_* ops)", word, False
                continue
            from_source = source is not None or name in data["sdist_only"] and not prebuilt
            if from_source and name in always | gated:
                return name, word, name in gated
            if source is not None and force:
                return source or value, word, False
        return None
    if _PYTHON.fullmatch(command.name) and _setup_build(command):
        project = _project_of(folder)
        args = {w.value for w in command.argv}
        if project in own:
            return None
        if project in always | gated or force or args & {"--cuda_ext", "--cpp_ext"}:
            return (f"setup.py of {project}" if project else "setup.py"), command.argv[0], project in gated
    return None


_PYTHON = re.compile(r"python(\d+(\.\d+)*)?")


def _setup_build(command) -> bool:
    values = [w.value for w in command.argv[1:]]
    return bool(values) and values[0].endswith("setup.py") and any(v in _SETUP_BUILDS for v in values[1:])


def _source_project(value: str, folder: str | None) -> str | None:
    """For a source install (git URL, archive URL, local folder) the project's name as far as it shows ('' when
    it does not); None for a name from an index."""
    lowered = value.lower()
    egg = re.search(r"#egg=([\w.-]+)", lowered)
    if egg:
        return _canonical(egg.group(1))
    if lowered.startswith(("git+", "hg+", "svn+", "bzr+")) or "://" in lowered:
        path = lowered.split("://", 1)[-1].split("@")[0].split("#")[0].rstrip("/")
        return _canonical(posixpath.basename(path).removesuffix(".git").split(".tar")[0].split(".zip")[0])
    if lowered in (".", "..") or lowered.startswith(("./", "../", "/", ".[")):
        target = lowered.split("[", 1)[0]
        name = posixpath.basename(target.rstrip("/")) if target not in (".", "./") else None
        return _project_of(name) if name else (_project_of(folder) or "")
    return None


def _project_of(folder: str | None) -> str:
    return _canonical(posixpath.basename((folder or "").rstrip("/"))) if folder else ""


def _name(value: str) -> str:
    return _canonical(re.split(r"[\[<>=!~;@ ]", value, maxsplit=1)[0])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _current_folder(instruction, index: int) -> str | None:
    """The folder a command runs in: the last `cd` before it in the RUN, else the WORKDIR."""
    for command in reversed(instruction.commands[:index]):
        if command.name == "cd" and len(command.argv) > 1:
            return expand(command.argv[1].value, instruction.vars)[0]
    workdir = None
    stage = instruction.stage
    for earlier in stage.instructions if stage else []:
        if earlier is instruction:
            break
        if earlier.keyword == "WORKDIR" and earlier.paths:
            workdir = earlier.paths[-1][1]
    return workdir


def _environment(instruction, index: int, command) -> dict[str, str]:
    """ARG/ENV visible to the command, `export X=…` earlier in the RUN, and `X=… cmd` prefixes."""
    env = dict(instruction.vars)
    for earlier in instruction.commands[:index]:
        if earlier.name == "export":
            env.update(_pairs(earlier.argv[1:], instruction))
    env.update(_pairs(command.assignments, instruction))
    return env


def _pairs(words, instruction) -> dict[str, str]:
    pairs = {}
    for word in words:
        name, eq, value = word.value.partition("=")
        if eq:
            pairs[name] = expand(value.strip("'\""), instruction.vars)[0]
    return pairs


def _entries(archs: str) -> list[tuple[int, int, bool, bool]] | None:
    """(major, minor, arch-specific 'a', +PTX) per entry of a TORCH_CUDA_ARCH_LIST; None if one is unreadable."""
    text = archs.strip("'\"")
    for name, value in sorted(facts()["torch_cuda_arch"]["named_arches"].items(), key=lambda kv: -len(kv[0])):
        text = text.replace(name, value)
    entries = []
    for part in re.split(r"[;\s]+", text.strip()):
        match = _ARCH.match(part)
        if not match:
            return None
        entries.append((int(match.group(1)), int(match.group(2)), bool(match.group(3)), bool(match.group(4))))
    return entries


def _target(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(?:sm_?)?(\d+)\.?(\d)", text.strip().lower())
    return (int(match.group(1)), int(match.group(2))) if match else None


def covers(archs: str, target: str) -> bool | None:
    """Whether a TORCH_CUDA_ARCH_LIST runs on a GPU of compute capability `target` (same-major SASS of a lower or
    equal minor, an exact arch-specific 'a' target, or PTX of a lower or equal capability); None if unreadable."""
    entries, wanted = _entries(archs), _target(target)
    if entries is None or wanted is None:
        return None
    for major, minor, specific, ptx in entries:
        if specific and (major, minor) == wanted:
            return True
        if not specific and major == wanted[0] and minor <= wanted[1]:
            return True
        if ptx and (major, minor) <= wanted:
            return True
    return False


def _uncovered(targets: list[str], archs: str) -> list[str]:
    return [t for t in targets if covers(archs, t) is False]


def _suggested(targets: list[str]) -> str:
    if not targets:
        return facts()["torch_cuda_arch"]["example_list"]
    ordered = sorted(targets, key=lambda t: _target(t) or (0, 0))
    return ";".join(ordered[:-1] + [ordered[-1] + "+PTX"])


def _cpu_only(label: str, has_archs: bool, targets: list[str]) -> str:
    archs = "" if has_archs else f" and TORCH_CUDA_ARCH_LIST=\"{_suggested(targets)}\""
    return (f"{label} compiles its CUDA kernels only when the build sees a GPU or FORCE_CUDA=1, and `docker build` "
            f"sees no GPU: this builds it without CUDA support, so its GPU ops fail at run time ('not compiled with "
            f"GPU support'); set ENV FORCE_CUDA=1{archs} before it")


def _missing(label: str, targets: list[str]) -> str:
    return (f"{label} compiles CUDA kernels here, but TORCH_CUDA_ARCH_LIST is not set: torch.utils.cpp_extension "
            f"then targets the GPUs visible to the build, and `docker build` sees none, so the build fails "
            f"('IndexError: list index out of range' in _get_cuda_arch_flags) or falls back to the project's own "
            f"default list, which may miss your GPUs ('no kernel image is available for execution on the device'); "
            f"set ENV TORCH_CUDA_ARCH_LIST=\"{_suggested(targets)}\" (your GPUs' compute capabilities) before it")


def _partial(label: str, archs: str, uncovered: list[str]) -> str:
    return (f"TORCH_CUDA_ARCH_LIST={archs} has no kernels for compute capability {', '.join(uncovered)} (option "
            f"target_archs), so {label} fails there with 'no kernel image is available for execution on the "
            f"device'; add {', '.join(uncovered)} (or +PTX on the highest listed arch, JIT-compiled at first use)")
