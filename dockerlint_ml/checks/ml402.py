"""ML402 cuda-driver-floor: the image's CUDA needs a newer NVIDIA driver than the fleet's minimum (option)."""
import re

from dockerlint_ml.cuda import by_install, gpu_packages, image_cuda, installed_by, names_text, root_stage
from dockerlint_ml.facts import (compare_versions, cuda_of_local_tag, driver_floor, driver_minimum, facts,
                                 torch_build_for, variant_index, version_tuple)
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import report, stage_packages
from dockerlint_ml.registry import rule

_REQUIRE_CUDA = re.compile(r"cuda>=(\d+\.\d+)")
_TRUE = {"1", "true", "yes", "on"}


@rule("ML402", "cuda-driver-floor", Severity.WARNING,
      "The image's CUDA (base image or framework wheels) needs a newer NVIDIA driver than the `min_driver` option.",
      options={"min_driver": None})
def check(df, ctx):
    fleet = str(ctx.options.get("min_driver") or "").strip()
    if not version_tuple(fleet) or not df.final_lineage:
        return  # inert until the fleet's minimum driver is configured
    yield from _base_images(df, ctx, fleet)
    gpu = [g for g in gpu_packages(stage_packages(df, ctx.build, df.final_lineage)) if g.major is not None]
    for group in by_install(gpu):
        item = group[0]
        floor = driver_floor(item.major)
        if floor and compare_versions(fleet, floor) < 0:
            yield report(ctx, item.package, _package_message(item, group, floor, fleet) + installed_by(item.package))


def _base_images(df, ctx, fleet: str):
    """The final image's base, when the CUDA it declares needs a newer driver than the fleet's."""
    stage = root_stage(df.final_stage)
    env = df.final_stage.env
    declared = _declared_cuda(stage, env)
    if declared is None:
        return
    version, image, checked = declared
    checked = checked and env.get("NVIDIA_DISABLE_REQUIRE", "").lower() not in _TRUE
    # a checked requirement (NVIDIA_REQUIRE_CUDA=cuda>=X.Y) needs the toolkit's own driver at container start;
    # otherwise CUDA X.Y code runs on any driver of its major (minor-version compatibility)
    need = driver_minimum(version) if checked else driver_floor(version[0])
    if not need or compare_versions(fleet, need) >= 0:
        return
    word = stage.from_instruction.words[0] if stage.from_instruction.words else stage.from_instruction
    yield ctx.report(word.start, word.end, _base_message(image, version, need, fleet, checked))


def _declared_cuda(stage, env) -> tuple[tuple[int, ...], str, bool] | None:
    """(CUDA version, image, whether the container toolkit checks it at start) of the final image's base."""
    cuda = image_cuda(stage.base)
    if cuda is not None:
        if cuda.version is None or cuda.kind not in ("nvidia/cuda", "pytorch/pytorch"):
            return None  # NGC tags do not say their CUDA
        return cuda.version, stage.base.value, cuda.kind == "nvidia/cuda"
    require = _REQUIRE_CUDA.search(env.get("NVIDIA_REQUIRE_CUDA", ""))
    if require:  # a CUDA image built in the Dockerfile, declaring its requirement as nvidia/cuda does
        return version_tuple(require.group(1)), f"{stage.base.value} with ENV NVIDIA_REQUIRE_CUDA", True
    version = version_tuple(env.get("CUDA_VERSION"))
    return (version, f"{stage.base.value} with ENV CUDA_VERSION", False) if version and len(version) > 1 else None


def _base_message(image: str, version, need: str, fleet: str, checked: bool) -> str:
    major, label = version[0], ".".join(map(str, version))
    floor = driver_floor(major)
    older = _newest_toolkit_for(fleet, major)
    advice = f"use a CUDA {older} tag" if older else "use an older CUDA tag"
    if not checked:
        runnable = [int(m) for m, floor in facts()["cuda_driver"]["major_floor"].items()
                    if compare_versions(fleet, floor) >= 0]
        advice = f"use a CUDA {max(runnable)}.x build" if runnable else "use an older CUDA build"
        return (f"{image} is CUDA {label}, which needs an NVIDIA driver ≥ {need} (CUDA {major} minor-version "
                f"compatibility); the fleet minimum (min_driver) is {fleet}, so the GPU is unusable there; "
                f"{advice}, or, on data-center GPUs only, add the cuda-compat-{major}-x forward-compatibility package")
    compat = (f", or set ENV NVIDIA_DISABLE_REQUIRE=1 and rely on minor-version compatibility (CUDA {major}.x runs "
              f"with fewer features on drivers ≥ {floor})") if floor and compare_versions(fleet, floor) >= 0 else ""
    return (f"{image} declares NVIDIA_REQUIRE_CUDA=cuda>={'.'.join(map(str, version[:2]))}, which needs an NVIDIA "
            f"driver ≥ {need}; the fleet minimum (min_driver) is {fleet}: the NVIDIA Container Toolkit refuses to "
            f"start the container there ('unsatisfied condition: cuda>={'.'.join(map(str, version[:2]))}') except "
            f"on data-center GPUs, where the image's cuda-compat forward-compatibility libraries run it; "
            f"{advice}{compat}")


def _package_message(item, group, floor: str, fleet: str) -> str:
    names = names_text(group)
    fix = "use a build for an older CUDA major"
    if item.family == "torch":
        for major in range(item.major - 1, 9, -1):
            need = driver_floor(major)
            build = torch_build_for(major, item.release.minor if item.release else None)
            if need and build and compare_versions(fleet, need) >= 0:
                minor, variant = build
                cuda = ".".join(map(str, cuda_of_local_tag(variant)))
                fix = f"install torch {minor} from {variant_index(variant)} (CUDA {cuda}, drivers ≥ {need})"
                break
    return (f"{item.version_text} is a CUDA {item.label} build ({item.how}): CUDA {item.major} needs an NVIDIA "
            f"driver ≥ {floor} even through minor-version compatibility, and the fleet minimum (min_driver) is "
            f"{fleet}, so {names} will find no usable GPU there ('The NVIDIA driver on your system is too old'); "
            f"{fix}, or, on data-center GPUs only, add the cuda-compat-{item.major}-x forward-compatibility package")


def _newest_toolkit_for(fleet: str, major: int) -> str | None:
    """The newest CUDA release (X.Y.P of the facts) of `major` or below whose own driver minimum the fleet meets."""
    table = facts()["cuda_driver"]["toolkit_min"]
    fitting = [m for m, need in table.items()
               if version_tuple(m)[0] <= major and compare_versions(fleet, need) >= 0]
    if not fitting:
        return None
    minor = max(fitting, key=version_tuple)
    patch = facts()["nvidia_cuda_images"]["last_patch"].get(minor)
    return f"{minor}.{patch}" if patch is not None else minor
