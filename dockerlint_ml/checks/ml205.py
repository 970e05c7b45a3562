"""ML205 cuda-devel-final-stage: the final image is based on a CUDA development (devel) image."""
import re

from dockerlint_ml.checks.ml204 import is_devel_image
from dockerlint_ml.cuda import root_stage
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.restructure import may_compile

# Images whose tags come in devel/runtime pairs differing only in that word.
_DERIVABLE = ("nvidia/cuda", "pytorch/pytorch")


@rule("ML205", "cuda-devel-final-stage", Severity.WARNING,
      "The final image is based on a CUDA devel image, so the CUDA compiler, headers and static libraries ship.",
      fix=Applicability.UNSAFE)
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
                     f"disk); {_advice(base, root_stage(final) is final)}", fix=_fix(df, ctx))


_DEVEL = re.compile(r"(^|-)devel(-|$)")


def _fix(df, ctx) -> Fix | None:
    """Replace `devel` by `runtime` in the tag where it is written (the FROM, or the default of the ARG it
    names), when nothing in the final image compiles and no other stage starts from the same FROM."""
    lineage = df.final_lineage
    root = root_stage(lineage[0])
    base = root.base
    if runtime_variant(base) is None or base.digest or may_compile(df, lineage, ctx.build):
        return None
    if any(root_stage(stage) is root for stage in df.stages if stage not in lineage):
        return None  # a builder stage built FROM the same stage keeps needing the compiler
    span = _devel_span(df, root)
    if span is None:
        return None
    return Fix(f"Base the final image on {runtime_variant(base)}", (Edit(*span, "runtime"),), Applicability.UNSAFE)


def _devel_span(df, stage) -> tuple[int, int] | None:
    """Offsets of the word `devel` in the tag: in the FROM's image word, or in the default of the one global
    ARG that the image word names, unless another stage's FROM also uses that ARG."""
    text = df.source.text
    word = stage.from_instruction.words[0] if stage.from_instruction.words else None
    if word is None:
        return None
    found = _devel_in(text, word.start, word.end)
    if found is not None or "$" not in word.value:
        return found
    names = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", word.value))
    users = [s for s in df.stages if names & set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", s.base.raw))]
    if len(users) != 1:
        return None
    spans = []
    for instruction in df.instructions:
        if instruction.keyword == "ARG" and instruction.stage is None:
            for arg in instruction.words:
                name = arg.value.split("=", 1)[0]
                if name in names and "=" in arg.value:
                    spans.append(_devel_in(text, arg.start + len(name) + 1, arg.end))
    spans = [s for s in spans if s is not None]
    return spans[-1] if len(spans) == 1 else None


def _devel_in(text: str, start: int, end: int) -> tuple[int, int] | None:
    """`devel` as a dash-separated part of the tag after the last ':' of text[start:end]."""
    colon = text.rfind(":", start, end)
    if colon < 0:
        return None
    match = _DEVEL.search(text, colon + 1, end)
    if match is None:
        return None
    begin = match.start() + len(match.group(1))
    return begin, begin + len("devel")


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
