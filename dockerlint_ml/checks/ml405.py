"""ML405 nvidia-env-missing: a GPU framework on a plain base image that never sets NVIDIA_VISIBLE_DEVICES."""
from dockerlint_ml.cuda import gpu_intent, gpu_packages, installed_by, root_stage, shipped_stages
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import report, stage_packages
from dockerlint_ml.registry import rule

# CUDA library wheels alone are not a framework that would use the GPU
_FRAMEWORKS = ("torch", "tensorflow", "jax", "onnxruntime-gpu", "cupy", "conda")


@rule("ML405", "nvidia-env-missing", Severity.INFO,
      "A GPU framework is installed on a plain base image, but the image sets no NVIDIA_VISIBLE_DEVICES.")
def check(df, ctx):
    lineage = df.final_lineage
    if not lineage:
        return
    base = root_stage(lineage[0]).base
    if base.unresolved or not _plain(base):
        return  # nvidia/cuda, pytorch/pytorch and other GPU images set the variables themselves
    data = facts()["nvidia_container"]
    env = df.final_stage.env
    visible, capabilities = env.get(data["visible_devices"]), env.get(data["capabilities"])
    lacks_compute = capabilities is not None and not {"all", "compute"} & set(capabilities.replace(" ", "").split(","))
    if visible is not None and not lacks_compute:
        return
    # a framework installed in a builder stage ships through COPY --from (a virtualenv, a conda prefix)
    gpu = gpu_packages(stage_packages(df, ctx.build, shipped_stages(df)))
    intent = gpu_intent(df, shipped_stages(df), gpu)
    framework = next((g for g in gpu if g.family in _FRAMEWORKS and (g.intent or g.family == "torch" and intent)),
                     None)
    if framework is None:
        return
    yield report(ctx, framework.package, _message(framework, base.value, visible is None, capabilities)
                 + installed_by(framework.package))


def _plain(image) -> bool:
    """A Docker Official Image or conda image that sets no NVIDIA_* variable (as the facts list them)."""
    name = image.name.lower().removeprefix("library/")
    return image.registry in (None, "docker.io", "registry.access.redhat.com") and (
        name in facts()["nvidia_container"]["plain_images"])


def _message(framework, base: str, missing: bool, capabilities: str | None) -> str:
    defaults = ",".join(facts()["nvidia_container"]["default_capabilities"])
    if missing:
        problem = (f"the image, built on the plain {base}, sets no NVIDIA_VISIBLE_DEVICES: run under the nvidia "
                   f"runtime without --gpus (`--runtime=nvidia`, docker-compose `runtime: nvidia`, nodes whose "
                   f"default runtime is nvidia) it gets no GPU and no driver libraries mounted, so "
                   f"{framework.name} silently runs on the CPU")
    else:
        problem = (f"NVIDIA_DRIVER_CAPABILITIES={capabilities} lacks `compute`, so the nvidia runtime mounts no "
                   f"libcuda.so and {framework.name} cannot use the GPU")
    return (f"{framework.package.text} is a GPU build, but {problem}; add ENV NVIDIA_VISIBLE_DEVICES=all "
            f"NVIDIA_DRIVER_CAPABILITIES={defaults} as nvidia/cuda and pytorch/pytorch images do")
