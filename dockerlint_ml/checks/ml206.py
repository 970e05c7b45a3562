"""ML206 cuda-wheels-on-cpu-image: PyPI's torch, a CUDA build on Linux x86_64, in an image not meant for GPUs."""
import re
import shlex

from dockerlint_ml.cuda import (by_install, gpu_intent, gpu_packages, index_variant, installed_by, root_stage,
                                shipped_stages)
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.packages import stage_packages
from dockerlint_ml.registry import rule
from dockerlint_ml.restructure import (INDEX_OPTIONS, TARGET_OPTIONS, editable_command, install_command,
                                       install_word, pip_options_text, prepend_command, raw, words_removal)

# The torch builds published with a `+cpu` local version on the CPU index.
_CPU_TAGGED = ("torch", "torchvision", "torchaudio")
# Options of the later install that would replace the CPU torch installed before it.
_REPLACING = ("--upgrade", "--force-reinstall", "--ignore-installed", "--reinstall", "--reinstall-package",
              "--upgrade-package", "--no-index")


@rule("ML206", "cuda-wheels-on-cpu-image", Severity.WARNING,
      "torch from PyPI (a CUDA build with GBs of nvidia-* wheels on Linux) in an image with no GPU in sight.",
      fix=Applicability.UNSAFE, options={"cpu_index": ""})
def check(df, ctx):
    lineage = df.final_lineage
    shipped = shipped_stages(df)  # also a builder whose virtualenv or site-packages the final image copies
    if not lineage or any(_not_x86(stage) for stage in shipped):
        return  # PyPI's aarch64 torch was a CPU build until 2.11: leave other platforms alone
    packages = stage_packages(df, ctx.build, shipped)
    gpu = gpu_packages(packages)
    accidental = [g for g in gpu if g.family == "torch" and not g.intent
                  and not _kept_cpu_build(df, ctx.build, g.package, packages)]
    if not accidental or gpu_intent(df, shipped, gpu) is not None:
        return
    base = root_stage(lineage[0]).base.value
    cpu_index = ctx.options.get("cpu_index") or facts()["torch"]["cpu_index"]
    for group in by_install(accidental):
        package = group[0].package
        yield ctx.report(package.start, package.end, _message(group, base, cpu_index), source=package.source,
                         fix=_fix(df, ctx, [g.package for g in group], cpu_index))


def _kept_cpu_build(df, build, package, packages) -> bool:
    """Whether an earlier install of the final image already put the CPU build of this package in place and
    this install keeps it: pip and uv leave an installed version that satisfies the requirement alone
    (`torch==2.5.1` is satisfied by `2.5.1+cpu`), unless told to upgrade or reinstall."""
    earlier = packages[:next(i for i, p in enumerate(packages) if p is package)]
    cpu = [p for p in earlier if p.name == package.name and _cpu_build(p)]
    found = install_command(df, build, package) if cpu else None
    if found is None or any(found[1].has_option(option) for option in _REPLACING):
        return False
    return _satisfies(cpu[-1], package)


def _cpu_build(package) -> bool:
    if package.local_tag is not None:
        return package.local_tag == "cpu"
    return bool(package.index_urls) and all(index_variant(u) == "cpu" for u in package.index_urls)


def _satisfies(installed, package) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    wanted = package.specifier.strip()
    if not wanted or installed.specifier.strip() == wanted:
        return True
    if installed.version is None:
        return False
    try:
        return SpecifierSet(wanted).contains(Version(installed.version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


# ---------------------------------------------------------------------------------------------------------
# The fix: the torch family from the CPU index, in a pip call of its own that runs first.


def _fix(df, ctx, packages, cpu_index: str) -> Fix | None:
    """Install the group from the CPU index with the same pins (`+cpu` added where pinned): in place when the
    pip call installs nothing else, else in a pip call of its own run just before it (the words moved out of
    the original call; for a requirements file, the file is left as it is and its install then keeps the CPU
    build already in place)."""
    found = install_command(df, ctx.build, packages[0])
    if found is None or any(p.manager not in ("pip", "uv") or p.url for p in packages):
        return None
    command, install = found
    instruction = packages[0].instruction
    word = install_word(command)
    if word is None or not editable_command(instruction, command) or install.has_option("--no-index"):
        return None
    text = df.source.text
    title = f"Install {', '.join(p.name for p in packages)} from the CPU index {cpu_index}"
    if packages[0].source is None:
        words = [w for w in install.packages if any(w.start == p.start and w.end == p.end for p in packages)]
        if len(words) != len(packages):
            return None
        if len(words) == len(install.packages) and not (install.requirement_files or install.editables):
            return _in_place(text, install, word, packages, words, cpu_index, title)
        specs = [_tagged(raw(text, w), p) for w, p in zip(words, packages)]
    else:
        if any(install.has_option(o) for o in _REPLACING + ("--require-hashes",)) or any(
                p.requirement is None or p.requirement.hashes or p.requirement.editable for p in packages):
            return None
        if any(p.version is None for p in packages):
            return None  # moved into the RUN unpinned, it would be an unpinned RUN argument (ML102): pin it first
        specs = [_quoted(_tagged(p.requirement.text.strip(), p)) for p in packages]
    if install.constraint_files and any(p.version is None for p in packages):
        return None  # a constraints file may pin what the CPU call, which does not read it, leaves open
    options = pip_options_text(text, install, INDEX_OPTIONS | TARGET_OPTIONS | {"--constraint"})
    prefix = text[command.start:word.start]
    call = " ".join([f"{prefix}install", *options, "--index-url", cpu_index, *specs])
    first = prepend_command(instruction, command, call)
    if first is None:
        return None
    edits = [first]
    if packages[0].source is None:
        spans = words_removal(text, command, words, df.escape)
        if spans is None:
            return None
        edits += [Edit(start, end, "") for start, end in spans]
    return Fix(title, tuple(edits), Applicability.UNSAFE)


def _in_place(text, install, word, packages, words, cpu_index: str, title: str) -> Fix | None:
    """A pip call of torch packages only: add --index-url after `install` and `+cpu` to the pins."""
    if install.index_urls or install.option_values("--find-links"):
        return None  # another index or link page could still offer a CUDA build
    edits = [Edit(word.end, word.end, f" --index-url {cpu_index}")]
    for item, package in zip(words, packages):
        tagged = _tagged(raw(text, item), package)
        if tagged != raw(text, item):
            edits.append(Edit(item.start, item.end, tagged))
    return Fix(title, tuple(edits), Applicability.UNSAFE)


def _tagged(spec: str, package) -> str:
    """`torch==2.5.1` -> `torch==2.5.1+cpu` (torch, torchvision and torchaudio pinned without a local tag)."""
    if package.name not in _CPU_TAGGED or package.version is None or "+" in package.version or "$" in spec:
        return spec
    match = re.search(r"===?\s*" + re.escape(package.version) + r"(?![\w.+])", spec)
    return spec if match is None else spec[:match.end()] + "+cpu" + spec[match.end():]


def _quoted(spec: str) -> str:
    return spec if re.fullmatch(r"[\w.=+\-\[\],!]+", spec) else shlex.quote(spec)


def _not_x86(stage) -> bool:
    platform = (root_stage(stage).base.platform or "").lower()
    return any(arch in platform for arch in ("arm", "aarch64", "ppc64", "s390x"))


def _message(group, base: str, cpu_index: str) -> str:
    first = group[0]
    names = " and ".join(g.name for g in group) if len(group) < 3 else ", ".join(g.name for g in group[:-1]) + \
        f" and {group[-1].name}"
    build = f"the CUDA {first.label} build" if first.cuda else "a CUDA build"
    if first.name == "torch":
        what = f"{names} from PyPI {'are CUDA builds' if len(group) > 1 else 'is ' + build} on Linux x86_64"
    else:
        what = f"{names} from PyPI pull{'s' if len(group) == 1 else ''} PyPI's torch, {build} on Linux x86_64"
    version = first.package.version.split("+")[0] if first.name == "torch" and first.package.version else None
    pin = f"torch=={version}+cpu" if version else "torch==<version>+cpu"
    return (f"{what}, so {_size(first)} for CUDA libraries that can never run here: nothing in this image is set "
            f"up for a GPU (base {base}, no CUDA, no NVIDIA_* ENV){installed_by(first.package)}; install the CPU "
            f"wheels instead ({_cpu_size()}) with --index-url {cpu_index}, or pin {pin}")


def _size(gpu) -> str:
    """What the CUDA build costs, for the resolved release when the facts know it."""
    data = facts()["torch"]
    release = gpu.release
    sizes = data["pypi_install_mb"].get(release.minor) if release else None
    if sizes:
        download, installed = sizes
        which = f"torch {release.minor}" if release.pinned else gpu.version_text.replace(gpu.name, "torch", 1)
        return f"{which} adds ≈{download / 1000:.1f} GB to download and ≈{installed / 1000:.1f} GB on disk"
    if release is None and gpu.package.version:  # a release older than the facts: CUDA bundled in the wheel
        which = f"torch {gpu.package.version}" if gpu.name == "torch" else "its CUDA torch"
        return f"{which} weighs several times the CPU wheel"
    low, high = (int(x) / 1000 for x in data["default_install_mb"]["installed"].split("-"))
    return f"it adds ≈{low:.1f}–{high:.1f} GB on disk (torch ≥ 2.1)"


def _cpu_size() -> str:
    sizes = facts()["torch"]["cpu_install_mb"]
    return f"≈{sizes['download'] / 1000:.1f} GB to download, {sizes['installed'] / 1000:.1f} GB on disk"
