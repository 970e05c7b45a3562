"""ML401 cuda-version-mismatch: a framework or CUDA wheel built for another CUDA major than the base image."""
from dockerlint_ml.cuda import by_install, gpu_packages, installed_by, names_text, stage_cuda
from dockerlint_ml.facts import (cuda_of_local_tag, driver_floor, driver_minimum, framework_cuda_major, minors,
                                 span_text, torch_build_for, variant_index)
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import installed_packages, report
from dockerlint_ml.registry import rule

# Only these bases pin a CUDA toolkit in the image; pytorch/pytorch images carry CUDA in their wheels and NGC
# tags do not say their CUDA.
_TOOLKIT_BASES = ("nvidia/cuda", "env")
_SECTIONS = {"tensorflow": "tensorflow", "onnxruntime-gpu": "onnxruntime_gpu"}


@rule("ML401", "cuda-version-mismatch", Severity.ERROR,
      "A framework or CUDA library wheel targets another CUDA major version than the stage's CUDA base image.")
def check(df, ctx):
    for group in by_install(gpu_packages(installed_packages(df, ctx.build))):
        item = group[0]
        base = stage_cuda(item.package.stage)
        if base is None or base.kind not in _TOOLKIT_BASES or base.major is None or item.major is None:
            continue
        if item.major == base.major:
            continue
        uses_base_libraries = not item.bundled or item.family == "nvidia"
        if item.major < base.major and not uses_base_libraries and "devel" not in (base.flavor or ""):
            continue  # a newer driver runs older CUDA builds, and the wheel ignores the base's libraries
        yield report(ctx, item.package, _message(item, base, group) + installed_by(item.package))


def _message(item, base, group) -> str:
    names = names_text(group)
    verb = "finds" if len(group) == 1 else "find"
    image = base.image.value if base.kind != "env" else f"{base.image.value} with ENV CUDA_VERSION={base.label}"
    what = f"{item.version_text} is a CUDA {item.label} build ({item.how})"
    fix = _fix(item, base)
    if item.family == "nvidia":
        return (f"{item.name} adds CUDA {item.major} libraries to a CUDA {base.label} image ({image}): two CUDA "
                f"majors in one image, and whatever loads them is built for CUDA {item.major}, not for the base's "
                f"toolkit; {fix}")
    if not item.bundled:
        return (f"{what} and loads the system's CUDA libraries, but the base {image} has CUDA {base.label}: "
                f"libcudart.so.{item.major} and the other CUDA {item.major} libraries are missing, so {names} cannot "
                f"use the GPU (it falls back to the CPU or fails to load); {fix}")
    if item.major > base.major:
        needs = driver_minimum(base.version) or driver_floor(base.major)
        quote = " ('The NVIDIA driver on your system is too old')" if item.family == "torch" else ""
        return (f"{what} but the base {image} is CUDA {base.label}: CUDA {item.major} needs an NVIDIA driver "
                f"≥ {driver_floor(item.major)}, while the image declares CUDA {base.label} (drivers from {needs} "
                f"start it), so on hosts with a CUDA {base.major} driver {names} {verb} no usable GPU{quote}; {fix}")
    if item.family == "torch":
        check_text = (f"CUDA extensions built here fail torch's check ('The detected CUDA version ({base.label}) "
                      f"mismatches the version that was used to compile PyTorch ({item.label})')")
    else:
        check_text = f"code compiled here against the base's toolkit does not match {item.name}'s CUDA {item.major}"
    return (f"{what} but this devel image compiles with CUDA {base.label}'s nvcc ({image}): {check_text}, and the "
            f"base's CUDA libraries go unused; {fix}")


def _fix(item, base) -> str:
    other_base = f"base the image on a CUDA {item.major} nvidia/cuda tag"
    if item.family == "torch":
        build = torch_build_for(base.major, item.release.minor if item.release else None)
        if build is None:
            return other_base
        minor, variant = build
        cuda = ".".join(map(str, cuda_of_local_tag(variant)))
        pinned = item.release.minor if item.release and item.release.pinned else None
        missing = f"torch {pinned} has no CUDA {base.major} build: " if pinned and pinned != minor else ""
        return f"{missing}install torch {minor} from {variant_index(variant)} (CUDA {cuda}), or {other_base}"
    if item.family == "nvidia":
        return f"use the -cu{base.major} wheel, or {other_base}"
    if item.family == "jax":
        return f"install jax[cuda{base.major}], or {other_base}"
    section = _SECTIONS.get(item.family)
    if section:
        candidates = minors(section)
        fitting = [m for m in candidates if framework_cuda_major(section, m) == base.major]
        if fitting:
            releases = span_text(fitting, candidates)
            return f"install {item.name} {releases} (built for CUDA {base.major}), or {other_base}"
    return f"install a {item.name} build for CUDA {base.major}, or {other_base}"

