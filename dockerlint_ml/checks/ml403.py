"""ML403 cuda-image-eol: an nvidia/cuda tag that NVIDIA deleted, will delete, or never published."""
from dockerlint_ml.cuda import from_build_arg, image_cuda
from dockerlint_ml.facts import facts, version_tuple
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

_REGISTRIES = (None, "docker.io", "index.docker.io", "nvcr.io")


@rule("ML403", "cuda-image-eol", Severity.WARNING,
      "An nvidia/cuda tag that NVIDIA deleted or will delete under its support policy, or never published.")
def check(df, ctx):
    for stage in df.stages:
        image = stage.base
        if image.unresolved or image.name.lower() != "nvidia/cuda" or image.registry not in _REGISTRIES:
            continue
        if image.digest and not image.tag or from_build_arg(image, df.global_args):
            continue  # pinned by digest, or the tag comes from a --build-arg
        message = _problem(image)
        if message:
            word = stage.from_instruction.words[0] if stage.from_instruction.words else stage.from_instruction
            yield ctx.report(word.start, word.end, message)


def _problem(image) -> str | None:
    data = facts()["nvidia_cuda_images"]
    tag = image.tag or "latest"
    name = f"nvidia/cuda:{tag}"
    cuda = image_cuda(image)
    if tag == "latest":
        return (f"{name} does not exist: NVIDIA removed the `latest` tag in 2021, so the pull fails with 'manifest "
                f"unknown'; name a tag such as nvidia/cuda:{_newest()}-runtime-ubuntu24.04")
    if cuda is None or cuda.version is None:
        return (f"{name} is not an nvidia/cuda tag (<MAJOR.MINOR.PATCH>-<flavor>-<os>), so the pull fails with "
                f"'manifest unknown'; use a tag such as nvidia/cuda:{_newest()}-runtime-ubuntu24.04")
    minor = ".".join(map(str, cuda.version[:2]))
    removed = _removed_reason(cuda, minor, data)
    if removed:
        suggestion = f"nvidia/cuda:{_suggest(cuda)}"
        if cuda.major == 11 and minor not in data["last_patch"]:
            last11 = _suggest(cuda, same_major=True)
            suggestion = f"nvidia/cuda:{last11} (itself scheduled for deletion) or a CUDA 12 tag such as {suggestion}"
        return (f"{name} no longer exists: {removed} under NVIDIA's support policy, so the pull fails with "
                f"'manifest unknown'; use {suggestion}")
    if minor in data["scheduled_removal"]:
        return (f"{name} is CUDA {minor}, whose tags are scheduled for deletion (the CUDA {cuda.major} driver "
                f"branches are end-of-life, and NVIDIA deletes end-of-life tags six months later), after which the "
                f"pull fails with 'manifest unknown'; move to a CUDA {cuda.major + 1} tag such as "
                f"nvidia/cuda:{_suggest(cuda, True)}")
    unknown = _unpublished(cuda, data)
    if unknown:
        return f"{name} {unknown}, so the pull fails with 'manifest unknown'; use nvidia/cuda:{_suggest(cuda)}"
    last = data["last_patch"].get(minor)
    if last is not None and len(cuda.version) == 3 and cuda.version[2] < last:
        return (f"{name} is not the last patch of CUDA {minor}: NVIDIA keeps only {minor}.{last} and deletes "
                f"superseded tags once they reach end of life, so this one fails or will fail to pull ('manifest "
                f"unknown'); use nvidia/cuda:{_suggest(cuda)}")
    return None


def _removed_reason(cuda, minor: str, data) -> str | None:
    first_kept = version_tuple(data["removed_below"])
    if version_tuple(minor) < first_kept:
        if cuda.major < first_kept[0]:
            return f"every CUDA {cuda.major}.x tag was deleted"
        return f"the CUDA {first_kept[0]}.0–{first_kept[0]}.{first_kept[1] - 1} tags were deleted"
    if len(cuda.version) == 2:
        return "tags without a patch number (old style) were deleted"
    if cuda.os in data["removed_os"]:
        return f"the {cuda.os} images were deleted"
    return None


def _unpublished(cuda, data) -> str | None:
    if cuda.os is None:
        return f"names no OS (tags end in one of {', '.join(data['os'])})"
    if cuda.os not in data["os"]:
        return f"names the OS '{cuda.os}', which nvidia/cuda does not publish (known: {', '.join(data['os'])})"
    if cuda.flavor not in data["flavors"]:
        return (f"names the flavor '{cuda.flavor}', which nvidia/cuda does not publish (known: base, runtime, devel, "
                f"cudnn-runtime, cudnn-devel and their cudnnN- spellings)")
    return None


def _newest() -> str:
    last = facts()["nvidia_cuda_images"]["last_patch"]
    minor = max(last, key=version_tuple)
    return f"{minor}.{last[minor]}"


def _suggest(cuda, next_major: bool = False, same_major: bool = False) -> str:
    """The nearest tag the facts say is kept: the last patch of the same minor, else the newest of the next CUDA
    major (`same_major`: the newest of the same major, scheduled for deletion or not)."""
    data = facts()["nvidia_cuda_images"]
    last = data["last_patch"]
    minor = ".".join(map(str, cuda.version[:2]))
    kept = {m: p for m, p in last.items()
            if version_tuple(m) >= version_tuple(data["removed_below"]) and m not in data["scheduled_removal"]}
    if same_major:
        newest = max((m for m in last if version_tuple(m)[0] == cuda.major), key=version_tuple)
        version = f"{newest}.{last[newest]}"
    elif minor in kept and not next_major:
        version = f"{minor}.{kept[minor]}"
    else:
        majors = [m for m in kept if version_tuple(m)[0] > cuda.major] or list(kept)
        oldest_major = min(version_tuple(m)[0] for m in majors)
        newest = max((m for m in majors if version_tuple(m)[0] == oldest_major), key=version_tuple)
        version = f"{newest}.{kept[newest]}"
    flavor = (cuda.flavor or "runtime").split("-")[-1] if cuda.flavor not in (None, "base") else "base"
    if flavor not in ("base", "runtime", "devel"):
        flavor = "runtime"
    if "cudnn" in (cuda.flavor or ""):
        flavor = f"cudnn-{flavor}" if version_tuple(version) >= (12, 4) else f"cudnn8-{flavor}"
    os = cuda.os if cuda.os in data["os"] else "ubuntu22.04"
    return f"{version}-{flavor}-{os}"
