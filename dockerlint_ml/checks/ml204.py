"""ML204 no-multi-stage-build: a single-stage image that ships its build toolchain."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import apt_command
from dockerlint_ml.registry import rule

TOOLCHAIN = re.compile(r"^(build-essential|gcc(-\d+)?|g\+\+(-\d+)?|clang(-\d+)?|make|cmake|ninja-build|git|"
                       r"rustc|cargo|gfortran|autoconf|automake|libtool|[a-z0-9.+-]+-dev)(=.*)?$")


@rule("ML204", "no-multi-stage-build", Severity.WARNING,
      "The only stage installs a build toolchain, so compilers ship in the image.")
def check(df, ctx):
    final = df.final_stage
    if final is None or final.index != 0 or len(df.stages) != 1:
        return  # an earlier stage exists that could hold the toolchain
    # A CUDA devel base is ML205's finding, in a single stage or not.
    for instruction in final.instructions:
        for command in instruction.commands:
            apt = apt_command(command)
            if apt is None or apt.action != "install":
                continue
            tools = [w for w in apt.packages if TOOLCHAIN.match(w.value)]
            if tools:
                names = ", ".join(w.value for w in tools)
                yield ctx.report(tools[0].start, tools[-1].end,
                                 f"build tools ({names}) are installed in the only stage, so they ship in the "
                                 "image: compile in a builder stage and COPY --from it only what runs")


def is_devel_image(base) -> bool:
    """nvidia/cuda:*devel*, pytorch/pytorch:*devel*, NGC devel images (nvcr.io/...:*-devel*)."""
    name = base.name.lower()
    cuda_family = name in ("nvidia/cuda", "pytorch/pytorch") or name.startswith("nvidia/") or base.registry == "nvcr.io"
    return cuda_family and "devel" in (base.tag or "").lower()
