"""ML212 heavy-base-image: the final image starts from a full python or Anaconda image, or from Alpine with
packages that have no musl wheels."""
import re

from dockerlint_ml.cuda import root_stage
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import stage_packages
from dockerlint_ml.registry import rule

_DOCKER_HUB = (None, "docker.io", "index.docker.io", "registry-1.docker.io")
_ANACONDA = frozenset({"continuumio/anaconda", "continuumio/anaconda2", "continuumio/anaconda3"})
# Variants that are not the full Debian image: slim, Alpine, and the Windows images.
_NOT_FULL = re.compile(r"slim|alpine|windowsservercore|nanoserver")
_DEBIAN_RELEASES = frozenset({"jessie", "stretch", "buster", "bullseye", "bookworm", "trixie"})


@rule("ML212", "heavy-base-image", Severity.INFO,
      "The final image starts from a full python or Anaconda image, or from Alpine with ML wheels it cannot use.")
def check(df, ctx):
    final = df.final_stage
    if final is None:
        return
    base = root_stage(final).base
    if base.unresolved:
        return
    word = final.from_instruction.words[0] if final.from_instruction.words else final.from_instruction
    name, tag = _official_name(base), (base.tag or "latest").lower()
    if name == "python" and not _NOT_FULL.search(tag) or base.name.lower() in _ANACONDA:
        yield ctx.report(word.start, word.end, _heavy_message(base, name == "python"))
    elif name == "alpine" or name == "python" and "alpine" in tag:
        musl_less = [p for p in stage_packages(df, ctx.build, df.final_lineage)
                     if p.name in facts()["no_musllinux_wheels"] and p.manager != "conda"]
        if musl_less:
            yield ctx.report(word.start, word.end, _alpine_message(base, musl_less), severity=Severity.WARNING)


def _official_name(base) -> str | None:
    """'python' / 'alpine' for the Docker official images: `python`, `library/python` on Docker Hub, and
    mirrors that keep the `library/` path (`mirror.gcr.io/library/python`, `public.ecr.aws/docker/library/python`)."""
    parts = base.name.lower().split("/")
    if len(parts) >= 2 and parts[-2] == "library":
        name = parts[-1]
    elif len(parts) == 1 and base.registry in _DOCKER_HUB:
        name = parts[0]
    else:
        return None
    return name if name in ("python", "alpine") else None


def slim_tag(tag: str | None) -> str:
    """The slim tag of the same Python and Debian release: `3.9-buster` -> `3.9-slim-buster`, `3.12` -> `3.12-slim`."""
    parts = [p for p in (tag or "").lower().split("-") if p and p != "latest"]
    if parts and parts[-1] in _DEBIAN_RELEASES:
        return "-".join(parts[:-1] + ["slim", parts[-1]])
    return "-".join(parts + ["slim"])


def _heavy_message(base, python: bool) -> str:
    if python:
        data = facts()["python_images"]
        sizes, example = data["compressed_mb"], data["example"]
        return (f"{base.value} is the full Debian image, with compilers, headers and hundreds of Debian packages "
                f"(python:{example} pulls {sizes['full']} MB compressed vs {sizes['slim']} MB for "
                f"python:{example}-slim): use {base.repository}:{slim_tag(base.tag)} and apt-install only the "
                "libraries the image needs, or compile in a builder stage")
    return (f"{base.value} ships the whole Anaconda distribution (hundreds of packages the image does not use, "
            "GBs on disk): start from miniconda3, miniforge or micromamba and install only the packages needed")


def _alpine_message(base, packages) -> str:
    names = ", ".join(dict.fromkeys(p.name for p in packages))
    return (f"{base.value} is Alpine (musl libc) but the image installs {names}, which publish only manylinux "
            "(glibc) wheels: pip finds no matching distribution or tries to build from source, and NVIDIA's CUDA "
            "libraries are glibc-only; use a -slim (Debian) base instead")
