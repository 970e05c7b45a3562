"""ML205 cuda-devel-final-stage: the final image is based on a CUDA development (devel) image."""
import re

from dockerlint_ml.checks.ml204 import is_devel_image
from dockerlint_ml.cuda import root_stage
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# Images whose tags come in devel/runtime pairs differing only in that word.
_DERIVABLE = ("nvidia/cuda", "pytorch/pytorch")


@rule("ML205", "cuda-devel-final-stage", Severity.WARNING,
      "The final image is based on a CUDA devel image, so the CUDA compiler, headers and static libraries ship.")
def check(df, ctx):
    final = df.final_stage
    if final is None:
        return
    base = root_stage(final).base
    if base.unresolved or not is_devel_image(base):
        return
    word = final.from_instruction.words[0] if final.from_instruction.words else final.from_instruction
    through = "" if root_stage(final) is final else f" (through FROM {final.base.value})"
    sizes = facts()["cuda_image_sizes"]
    on_disk = sizes["installed_gb"]
    yield ctx.report(word.start, word.end,
                     f"the final image is based on the development image {base.value}{through}: nvcc, CUDA headers "
                     f"and static libraries ship in it though only compiling needs them (nvidia/cuda "
                     f"{sizes['example']}: devel ≈{on_disk['devel']} GB vs runtime ≈{on_disk['runtime']} GB on "
                     f"disk); {_advice(base, root_stage(final) is final)}")


def runtime_variant(base) -> str | None:
    """The same image with the -runtime flavor (`…-cudnn-devel-ubuntu22.04` -> `…-cudnn-runtime-ubuntu22.04`),
    for the images whose every devel tag has a runtime twin; None for others."""
    name = base.name.lower()
    tag = base.tag or ""
    if name not in _DERIVABLE or not re.search(r"(^|-)devel(-|$)", tag):
        return None
    runtime = re.sub(r"(^|-)devel(-|$)", r"\1runtime\2", tag, count=1)
    return f"{base.repository}:{runtime}"


def _advice(base, single: bool) -> str:
    runtime = runtime_variant(base)
    target = f"`{runtime}`" if runtime else "the -runtime flavor of the same release"
    if base.name.lower() == "nvidia/cuda":
        target += " (or -base when pip wheels such as torch bring their own CUDA libraries)"
    if single:
        return f"base the final stage on {target} and compile in a devel stage you COPY --from"
    return f"start the final stage FROM {target} and COPY --from the devel stage only what was built"
