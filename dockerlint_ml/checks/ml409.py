"""ML409 cudnn-major-mix: frameworks in one image that need different cuDNN major versions."""
from dockerlint_ml.cuda import by_install, gpu_packages, image_cuda, installed_by, root_stage
from dockerlint_ml.facts import minors, minors_where, span_text
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import report, stage_packages
from dockerlint_ml.registry import rule

_SECTIONS = {"torch": "torch", "tensorflow": "tensorflow", "onnxruntime-gpu": "onnxruntime_gpu"}


@rule("ML409", "cudnn-major-mix", Severity.WARNING,
      "Two frameworks in the final image need different cuDNN major versions, which are not interchangeable.")
def check(df, ctx):
    lineage = df.final_lineage
    if not lineage:
        return
    base = image_cuda(root_stage(lineage[0]).base)
    base_cudnn = base.cudnn if base is not None and base.kind == "nvidia/cuda" else None
    system_cuda = base is not None and base.kind in ("nvidia/cuda", "env")
    latest = {}  # a later install of the same framework replaces the earlier one
    for group in by_install(gpu_packages(stage_packages(df, ctx.build, lineage))):
        latest.pop(group[0].name, None)
        latest[group[0].name] = group[0]
    items = [g for g in latest.values() if g.cudnn is not None and g.family in _SECTIONS]
    # frameworks that bring cuDNN as a pip wheel; those that load the system's only count on a CUDA base
    bundled = [g for g in items if g.bundled]
    system = [g for g in items if not g.bundled and (g.intent or system_cuda)]
    for later_index, later in enumerate(bundled):
        for earlier in bundled[:later_index]:
            if earlier.cudnn != later.cudnn and earlier.major == later.major and earlier.family != later.family:
                yield report(ctx, later.package, _wheel_clash(earlier, later) + installed_by(later.package))
                break
    for consumer in system:
        available = {g.cudnn: g for g in bundled}
        if base_cudnn is not None:
            available.setdefault(base_cudnn, None)
        if available and consumer.cudnn not in available:
            yield report(ctx, consumer.package, _missing(consumer, available, base) + installed_by(consumer.package))


def _fit(item, cudnn: int) -> str:
    section = _SECTIONS[item.family]
    candidates = minors(section)
    return f"{item.name} {span_text(minors_where(section, 'cudnn', cudnn), candidates)}"


def _wheel_clash(earlier, later) -> str:
    return (f"{later.version_text} needs cuDNN {later.cudnn} but {earlier.version_text} needs cuDNN "
            f"{earlier.cudnn}, and both take it from the one nvidia-cudnn-cu{later.major} wheel: pip cannot "
            f"install both (ResolutionImpossible, or the later install replaces the earlier cuDNN), and cuDNN "
            f"{earlier.cudnn} and {later.cudnn} are not interchangeable, so one framework fails to load cuDNN "
            f"('Loaded runtime CuDNN library: … but source was compiled with: …'); pin releases that agree, e.g. "
            f"{_fit(later, earlier.cudnn)} with cuDNN {earlier.cudnn}, or {_fit(earlier, later.cudnn)} with "
            f"cuDNN {later.cudnn}")


def _missing(consumer, available, base) -> str:
    sources = []
    for cudnn, provider in sorted(available.items()):
        origin = provider.version_text if provider is not None else f"the base {base.image.value}"
        sources.append(f"cuDNN {cudnn} from {origin}")
    other = sorted(available)[-1]
    return (f"{consumer.version_text} loads the system's cuDNN {consumer.cudnn}, but this image has "
            f"{' and '.join(sources)}: cuDNN {consumer.cudnn} and {other} are not interchangeable, so "
            f"libcudnn.so.{consumer.cudnn} is not found and {consumer.name}'s GPU support fails to load; use "
            f"{_fit(consumer, other)} (built for cuDNN {other}), or add cuDNN {consumer.cudnn} to the image")
