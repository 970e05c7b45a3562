"""ML406 cuda-libs-duplicated: an nvidia/cuda runtime/devel base plus pip wheels that bring their own CUDA."""
from dockerlint_ml.cuda import gpu_packages, image_cuda, root_stage
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import stage_packages
from dockerlint_ml.registry import rule

# packages that install a whole CUDA user space (not a single nvidia-* library wheel)
_FRAMEWORKS = ("torch", "tensorflow", "jax", "onnxruntime-gpu", "conda")


@rule("ML406", "cuda-libs-duplicated", Severity.INFO,
      "An nvidia/cuda runtime or devel base plus a framework that brings its own CUDA libraries: two copies.")
def check(df, ctx):
    lineage = df.final_lineage
    if not lineage:
        return
    stage = root_stage(lineage[0])
    cuda = image_cuda(stage.base)
    if cuda is None or cuda.kind != "nvidia/cuda" or cuda.version is None or cuda.flavor in (None, "base"):
        return
    bundled = [g for g in gpu_packages(stage_packages(df, ctx.build, lineage))
               if g.bundled and g.family in _FRAMEWORKS]
    if not bundled:
        return
    word = stage.from_instruction.words[0] if stage.from_instruction.words else stage.from_instruction
    yield ctx.report(word.start, word.end, _message(stage.base, cuda, bundled))


def _message(image, cuda, bundled) -> str:
    first = bundled[0]
    others = sorted({g.name for g in bundled} - {first.name})
    also = f" (and {', '.join(others)})" if others else ""
    has_cudnn = "cudnn" in cuda.flavor
    sizes = facts()["cuda_runtime_libs_mb"].get(str(cuda.major))
    size = ""
    if sizes:
        installed = sizes["installed"] + (sizes["cudnn_installed"] if has_cudnn else 0)
        size = f" (≥ {installed / 1000:.1f} GB on disk, measured for CUDA {sizes['measured']})"
    libraries = "libraries and cuDNN" if has_cudnn else "libraries"
    base_tag = f"nvidia/cuda:{cuda.label}-base" + (f"-{cuda.os}" if cuda.os else "")
    devel = "devel" in cuda.flavor
    fix = (f"compile in a devel stage and ship on {base_tag}" if devel
           else f"base the image on {base_tag}, or a plain OS image")
    return (f"{image.value} ships the CUDA {cuda.label} runtime {libraries}{size}, and {first.version_text}{also} "
            f"installs its own copies ({first.how}), so the image carries two sets of CUDA libraries and the "
            f"base's go unused: the wheels need only the host driver; {fix}")
