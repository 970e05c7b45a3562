"""ML206 cuda-wheels-on-cpu-image: PyPI's torch, a CUDA build on Linux x86_64, in an image not meant for GPUs."""
from dockerlint_ml.cuda import by_install, gpu_intent, gpu_packages, installed_by, root_stage
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import report, stage_packages
from dockerlint_ml.registry import rule


@rule("ML206", "cuda-wheels-on-cpu-image", Severity.WARNING,
      "torch from PyPI (a CUDA build with GBs of nvidia-* wheels on Linux) in an image with no GPU in sight.",
      options={"cpu_index": ""})
def check(df, ctx):
    lineage = df.final_lineage
    if not lineage or any(_not_x86(stage) for stage in lineage):
        return  # PyPI's aarch64 torch was a CPU build until 2.11: leave other platforms alone
    gpu = gpu_packages(stage_packages(df, ctx.build, lineage))
    accidental = [g for g in gpu if g.family == "torch" and not g.intent]
    if not accidental or gpu_intent(df, lineage, gpu) is not None:
        return
    base = root_stage(lineage[0]).base.value
    cpu_index = ctx.options.get("cpu_index") or facts()["torch"]["cpu_index"]
    for group in by_install(accidental):
        yield report(ctx, group[0].package, _message(group, base, cpu_index))


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
