"""What CUDA a stage's base image brings: read from the image reference, or from ENV CUDA_VERSION.

`nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04` -> CUDA 12.4.1, flavor cudnn-runtime, os ubuntu22.04;
`pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime` -> CUDA 12.4 (from its wheels), flavor runtime;
`nvcr.io/nvidia/pytorch:25.12-py3` -> an NGC framework image (CUDA per its release notes, not in the tag).
A `FROM <stage>` inherits its parent's; ENV CUDA_VERSION (which nvidia/cuda images set) counts when the
image name says nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from dockerlint_ml.facts import (cuda_of_local_tag, facts, minors, onnxruntime_gpu_release, os_python,
                                  torch_last_with_variant, version_tuple)
from dockerlint_ml.model import ImageRef, Stage
from dockerlint_ml.packages import Package

_NVIDIA_CUDA_TAG = re.compile(r"^(?P<version>\d+(?:\.\d+){1,2})(?:-(?P<flavor>.+?))?(?:-(?P<os>(?:ubuntu|ubi|rockylinux|"
                              r"centos|oraclelinux|opensuse|debian)[\w.]*))?$")
_PYTORCH_TAG = re.compile(r"^(?P<torch>[\d.]+)-cuda(?P<cuda>\d+\.\d+)-cudnn(?P<cudnn>\d+)-(?P<flavor>runtime|devel)$")
_NGC = re.compile(r"^nvidia/(pytorch|tensorflow|tritonserver|cuda|jax|nemo|pytorch-lightning)")


@dataclass(frozen=True)
class CudaBase:
    image: ImageRef
    kind: str  # 'nvidia/cuda', 'pytorch/pytorch', 'ngc', 'env'
    version: tuple[int, ...] | None  # (12, 4, 1); None when the tag does not say (NGC)
    flavor: str | None = None  # base, runtime, devel, cudnn-runtime, ...
    os: str | None = None  # ubuntu22.04, ubi9, ...
    cudnn: int | None = None

    @property
    def major(self) -> int | None:
        return self.version[0] if self.version else None

    @property
    def label(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"


def image_cuda(image: ImageRef) -> CudaBase | None:
    """The CUDA an image reference names; None for images that are not known CUDA images."""
    if image is None or image.unresolved or image.is_scratch:
        return None
    name, tag = image.name.lower(), (image.tag or "")
    if image.registry == "nvcr.io" and _NGC.match(name):
        if name == "nvidia/cuda":
            found = _nvidia_cuda(image, tag)
            if found:
                return found
        return CudaBase(image, "ngc", None)
    if name == "nvidia/cuda":
        return _nvidia_cuda(image, tag) or CudaBase(image, "nvidia/cuda", None)
    if name == "pytorch/pytorch":
        match = _PYTORCH_TAG.match(tag)
        if match:
            return CudaBase(image, "pytorch/pytorch", _numbers(match.group("cuda")), match.group("flavor"),
                            None, int(match.group("cudnn")))
    return None


def _nvidia_cuda(image: ImageRef, tag: str) -> CudaBase | None:
    match = _NVIDIA_CUDA_TAG.match(tag)
    if not match:
        return None
    flavor = match.group("flavor")
    cudnn = re.match(r"cudnn(\d*)", flavor or "")
    return CudaBase(image, "nvidia/cuda", _numbers(match.group("version")), flavor, match.group("os"),
                    (int(cudnn.group(1)) if cudnn.group(1) else 9) if cudnn else None)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def root_stage(stage: Stage) -> Stage:
    """The first stage of a `FROM <stage>` chain: the one naming a real image."""
    seen = []
    while stage.parent is not None and stage not in seen:
        seen.append(stage)
        stage = stage.parent
    return stage


def stage_cuda(stage: Stage) -> CudaBase | None:
    """The CUDA of a stage's base image (through `FROM <stage>`), else from ENV CUDA_VERSION in its lineage."""
    found = image_cuda(root_stage(stage).base)
    if found is not None and found.version is not None:
        return found
    value = stage.env.get("CUDA_VERSION")
    if value and re.fullmatch(r"\d+\.\d+(\.\d+)?", value):
        return CudaBase(root_stage(stage).base, found.kind if found else "env", _numbers(value))
    return found


def lineage(stage: Stage) -> list[Stage]:
    """The stage and its `FROM <stage>` ancestors, nearest first."""
    chain = []
    while stage is not None and stage not in chain:
        chain.append(stage)
        stage = stage.parent
    return chain


# ---- the operating system and Python a base image names ----------------------------------------------------------

_DEBIAN_CODENAME = re.compile(r"(?:^|-)(jessie|stretch|buster|bullseye|bookworm|trixie)(?:-|$)")
_UBUNTU_IN_TAG = re.compile(r"(?:^|-)ubuntu-?(\d\d\.\d\d)(?:-|$)")
_PYTHON_IN_TAG = re.compile(r"(?:^|-)py(?:thon)?-?(3)\.(\d+)(?:[.-]|$)")


def image_os(image: ImageRef | None) -> str | None:
    """The OS release an image reference names, as keyed in the facts ('ubuntu22.04', 'bookworm', 'centos7',
    'amazonlinux2', 'ubi9', ...); None when the reference does not say (`python:3.11`, `ubuntu:latest`)."""
    if image is None or image.unresolved or image.is_scratch:
        return None
    cuda = image_cuda(image)
    if cuda is not None and cuda.os:
        return cuda.os
    data = facts()["distro"]
    name, tag = image.name.lower().rsplit("/", 1)[-1], (image.tag or "").lower()
    path = image.name.lower()
    release = tag.split("-", 1)[0]
    if name == "ubuntu":
        version = data["ubuntu_codenames"].get(release, release)
        return f"ubuntu{version}" if re.fullmatch(r"\d\d\.\d\d", version) else None
    if name == "debian":
        codename = release if _DEBIAN_CODENAME.search(release) else None
        return data["debian_releases"].get(release.split(".")[0], codename)
    if name in ("centos", "rockylinux", "almalinux") and re.fullmatch(r"(centos)?\d+(\.[\d.]+)?", release):
        major = re.search(r"\d+", release).group(0)
        return f"{'rockylinux' if name == 'almalinux' else name}{major}"
    if name == "amazonlinux" and re.fullmatch(r"\d+(\.[\d.]+)?", release):
        return "amazonlinux2023" if release.startswith("2023") else f"amazonlinux{release.split('.')[0]}"
    ubi = re.search(r"(?:^|/)ubi(\d+)(?:/|$)", path) or (re.fullmatch(r"ubi(\d+)(-.*)?", name))
    if ubi:
        return f"ubi{ubi.group(1)}"
    found = _UBUNTU_IN_TAG.search(tag) or _DEBIAN_CODENAME.search(tag)
    if found:
        return f"ubuntu{found.group(1)}" if found.re is _UBUNTU_IN_TAG else found.group(1)
    return None


def image_python(image: ImageRef | None) -> tuple[int, int] | None:
    """(3, 10) for `python:3.10-slim`, or a third-party tag naming its Python (`…:python3.11`, `…-py3.10-…`)."""
    if image is None or image.unresolved or not image.tag:
        return None
    tag = image.tag.lower()
    if image.name.lower().rsplit("/", 1)[-1] == "python" and image.registry in (None, "docker.io"):
        match = re.match(r"(3)\.(\d+)", tag)
    else:
        match = _PYTHON_IN_TAG.search(tag)
    return (int(match.group(1)), int(match.group(2))) if match else None


def python_of(package: Package) -> tuple[tuple[int, ...], str] | None:
    """The Python a package is installed for, and what says so: the interpreter the install runs
    (`python3.11 -m pip`, `uv pip install --python 3.12`), else the base image's (`python:3.10-slim`), else the
    `python3` a known distribution installs with apt. None when unknowable, or when the stage may bring another
    Python (conda, deadsnakes, pyenv, uv-managed, built from source)."""
    command = _install_command(package)
    if command is not None:
        named = re.fullmatch(r"(?:python|pip)(3)\.(\d+)", command.name)
        if named:
            return (3, int(named.group(2))), f"{command.name} runs the install"
        install = _pip(command)
        chosen = install.option_values("--python") if install is not None and install.tool == "uv" else []
        version = re.fullmatch(r"(?:python)?(3)\.(\d+)(?:\.\d+)?", chosen[-1].value) if chosen else None
        if version:
            return (3, int(version.group(2))), f"--python {chosen[-1].value}"
    stages = lineage(package.stage)
    if _other_python(stages):
        return None
    base = root_stage(package.stage).base
    python = image_python(base)
    if python:
        return python, f"the base image {base.value}"
    os_key = image_os(base)
    python = os_python(os_key)
    if python and _apt_installs(stages, re.compile(r"python3(-pip|-dev|-venv|-minimal)?$|python-is-python3$")):
        return python[:2], f"{os_key}'s python3, installed with apt"
    return None


def _pip(command):
    from dockerlint_ml.installs import pip_install

    return pip_install(command)


def _install_command(package: Package):
    """The pip / uv pip command of the RUN that installs the package."""
    installs = [c for c in package.instruction.commands if _pip(c) is not None]
    if package.source is None:
        return next((c for c in installs if c.start <= package.start < c.end), installs[0] if installs else None)
    return next((c for c in installs if _pip(c).requirement_files), installs[0] if installs else None)


_OTHER_PYTHON_TOOLS = frozenset({"conda", "mamba", "micromamba", "pyenv", "asdf"})
_PYTHON_DOWNLOAD = re.compile(r"miniconda|miniforge|mambaforge|micromamba|anaconda|python\.org/ftp|"
                              r"python-build-standalone|deadsnakes", re.IGNORECASE)
_VERSIONED_PYTHON = re.compile(r"python3\.\d+(-\w+)?$|pypy")


def _other_python(stages: list[Stage]) -> bool:
    """Whether these stages may install or select a Python other than the base's or the distribution's."""
    from dockerlint_ml.model import expand

    for stage in stages:
        if "conda" in stage.env.get("PATH", "") or "pyenv" in stage.env.get("PATH", ""):
            return True
        for instruction in stage.instructions:
            if _PYTHON_DOWNLOAD.search(instruction.original):
                return True
            for command in instruction.commands:
                values = [expand(w.value, instruction.vars)[0] for w in command.argv]
                if command.name in _OTHER_PYTHON_TOOLS or values[:2] in (["uv", "python"], ["uv", "venv"]):
                    return True
                if command.name in ("update-alternatives", "ln") and any(  # python3 -> python3.11
                        re.search(r"python3\.\d+", v) for v in values[1:]):
                    return True
                if command.name in ("apt-get", "apt", "yum", "dnf", "microdnf", "apk") and any(
                        _VERSIONED_PYTHON.match(v) for v in values[1:]):
                    return True
    return False


def _apt_installs(stages: list[Stage], pattern: re.Pattern) -> bool:
    from dockerlint_ml.installs import apt_command

    for stage in stages:
        for instruction in stage.instructions:
            for command in instruction.commands:
                apt = apt_command(command)
                if apt is not None and apt.action == "install" and any(pattern.match(w.value) for w in apt.packages):
                    return True
    return False


# ---- packages that bring or need CUDA ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Release:
    """The framework release an install resolves to."""

    minor: str  # '2.5'
    pinned: bool  # an exact `==` pin; False: the newest release the specifier allows (the latest if unpinned)
    allowed: tuple[str, ...]  # every minor the specifier allows, oldest first
    unpinned: bool = False  # no version constraint at all
    held_by: str | None = None  # why `minor` is below the newest allowed: 'for Python 3.9', 'on that index'


@dataclass(frozen=True)
class GpuPackage:
    """A package whose build targets a CUDA version: a framework, a CUDA library wheel or a conda CUDA pin."""

    package: Package
    family: str  # 'torch' (also torchvision/torchaudio), 'tensorflow', 'onnxruntime-gpu', 'jax', 'cupy',
    #              'nvidia' (nvidia-*-cuXX library wheels), 'conda' (pytorch-cuda / cudatoolkit pins)
    cuda: tuple[int, ...] | None  # (12, 4), or (12,) when only the major is known; None: unknown
    how: str  # where that CUDA comes from, for messages
    intent: bool  # the install asks for a CUDA build (name, local tag, index, extra); False: PyPI's torch default
    #               or a framework that uses CUDA only when the system has it (plain tensorflow)
    bundled: bool  # brings its own CUDA user-space libraries; False: loads those of the system
    release: Release | None = None
    cudnn: int | None = None

    @property
    def major(self) -> int | None:
        return self.cuda[0] if self.cuda else None

    @property
    def label(self) -> str:
        return ".".join(map(str, self.cuda)) if self.cuda else "unknown"

    @property
    def name(self) -> str:
        return self.package.name

    @property
    def version_text(self) -> str:
        """'torch 2.5.1', 'unpinned torch (2.15, the latest today)', 'torch>=2.0 (2.14, the newest for Python 3.10)'."""
        package, release = self.package, self.release
        if release is None or release.pinned:
            return f"{package.name} {package.version}" if package.version else package.name
        newest = (f"{release.minor}, the newest {release.held_by}" if release.held_by
                  else f"{release.minor}, the latest today" if release.unpinned else f"newest allowed: {release.minor}")
        if release.unpinned:
            return f"unpinned {package.name} ({newest})"
        return f"{package.name}{package.specifier} ({newest})"


def gpu_packages(packages: list[Package]) -> list[GpuPackage]:
    """gpu_package of each; torchvision/torchaudio installed next to torch follow torch's release."""
    torch = {id(p.instruction): p for p in packages if p.name == "torch"}
    found = []
    for package in packages:
        companion_of = torch.get(id(package.instruction)) if package.name != "torch" else None
        gpu = gpu_package(package, companion_of)
        if gpu is not None:
            found.append(gpu)
    return found


def gpu_package(package: Package, torch: Package | None = None) -> GpuPackage | None:
    """What CUDA an installed package targets; None for CPU/ROCm builds, other packages, or what cannot be known
    (an unresolved index URL, a specifier that cannot be read). `torch`: the torch installed with a companion."""
    if not _applies_on_linux(package):
        return None
    name = package.name
    frameworks = ("torch", "tensorflow", "tensorflow-gpu", "onnxruntime-gpu", "jax", *facts()["torch"]["companions"])
    python = python_of(package) if name in frameworks else None
    python = python[0] if python else None
    if name == "torch" or name in facts()["torch"]["companions"]:
        return _torch(package, torch, python) if package.manager != "conda" else None
    if name in ("tensorflow", "tensorflow-gpu"):
        return _tensorflow(package, python)
    if name == "onnxruntime-gpu":
        return _onnxruntime(package, python)
    if name in ("jax", "jaxlib") or name.startswith("jax-cuda"):
        return _jax(package, python)
    cupy = re.fullmatch(r"cupy-cuda(\d+)(x?)", name)
    if cupy:
        digits = cupy.group(1)
        major = int(digits) if cupy.group(2) else int(digits[:-1])  # cupy-cuda12x, cupy-cuda113, cupy-cuda92
        return GpuPackage(package, "cupy", (major,), name, True, "ctk" in _extras(package))
    wheel = re.fullmatch(facts()["nvidia_wheel_suffix"], name)
    if wheel:
        return GpuPackage(package, "nvidia", (int(wheel.group(1)),), name, True, True)
    if package.manager == "conda" and name in ("pytorch-cuda", "cudatoolkit"):
        version = version_tuple(re.sub(r"^[=<>!~\s]+", "", package.specifier))
        if version:
            return GpuPackage(package, "conda", version[:2], f"{name}={'.'.join(map(str, version[:2]))}", True, True)
    return None


def requested_release(package: Package, section: str, python: tuple[int, ...] | None = None,
                      published=None) -> Release | None:
    """The release of a framework ('torch', 'tensorflow', 'onnxruntime_gpu', 'jax' facts) an install resolves to:
    the exact pin, else the newest release the specifier allows that has wheels for `python` (when known) and
    that the index publishes (`published(minor)`, when given)."""
    from dockerlint_ml.facts import allowed_minors, python_floor

    candidates, latest = minors(section), facts()[section]["latest"]
    if package.manager == "conda" or "$" in package.specifier:
        return None
    if package.manager == "poetry" and not package.specifier and package.text.strip() != package.name:
        return None  # a Poetry constraint (^2.0, ~2.1) that packages.py keeps as text only
    if not package.version and getattr(package, "locked", False):
        return None  # uv.lock / poetry.lock decides the version, not the specifier
    if package.version:
        release = version_tuple(package.version) or ()
        minor = ".".join(map(str, release[:2]))
        return Release(minor, True, (minor,)) if minor in candidates else None
    allowed = allowed_minors(package.specifier, candidates)
    if not allowed:
        return None
    newest = latest if latest in allowed else allowed[-1]
    held = None
    if published is not None and any(published(m) for m in allowed):
        allowed = [m for m in allowed if published(m)]
        held = "on that index" if allowed[-1] != newest else None
        newest = allowed[-1]
    # pip skips releases without a wheel for the interpreter: an unpinned torch on Python 3.9 is torch 2.8
    runnable = [m for m in allowed if python is None or (python_floor(section, m) or ()) <= python]
    if runnable and runnable[-1] != newest:
        held, newest = "for Python " + ".".join(map(str, python)), runnable[-1]
    return Release(newest, False, tuple(allowed), not package.specifier.strip(), held)


def index_variant(url: str) -> str | None:
    """'cu118', 'cpu', 'rocm6.0' for a download.pytorch.org index (or a mirror of it); 'pypi' for PyPI or a
    mirror of it; None for anything else (a private index, an unresolved `$VAR`)."""
    lowered = url.lower()
    if "$" in lowered:
        return None
    match = re.search(r"torch[\w.-]*/(?:whl/)?(?:nightly/|test/)?(cpu|cu\d{2,3}|rocm[\d.]+)(?:/|\.html|$)", lowered)
    if match:
        return match.group(1)
    if re.search(r"pypi|/simple/?$", lowered) and "pytorch" not in lowered:
        return "pypi"
    return None


def _torch(package: Package, torch: Package | None, python) -> GpuPackage | None:
    data = facts()["torch"]
    if package.name == "torch":
        release = requested_release(package, "torch", python)
    elif torch is not None:  # torchvision next to torch: the build that matches that torch
        release = requested_release(torch, "torch", python)
    else:  # a companion's version is not torch's; unpinned, it pulls the latest torch
        release = Release(data["latest"], False, (data["latest"],), True) if not package.specifier else None
    variant, how = _torch_variant(package, release)
    if release and not release.pinned and variant and variant.startswith("cu") and how:
        # an index of one CUDA variant serves only the releases built for it (cu121: up to 2.5)
        release = requested_release(torch or package, "torch", python,
                                    lambda m: variant in data["releases"][m]["variants"]) or release
    row = data["releases"].get(release.minor) if release else None
    if variant == "pypi":  # intent: a CUDA index was asked for, though pip ends up with PyPI's build
        cuda = version_tuple(row["pypi_cuda"]) if row else None
        return GpuPackage(package, "torch", cuda, how or "PyPI's Linux x86_64 build", bool(how), True, release,
                          row["cudnn"] if row else None)
    cuda = cuda_of_local_tag(variant)
    if cuda is None:
        return None  # +cpu, ROCm, or an index that cannot be read
    return GpuPackage(package, "torch", cuda, how, True, True, release, row["cudnn"] if row else None)


def _torch_variant(package: Package, release: Release | None) -> tuple[str | None, str]:
    """('cu121' | 'cpu' | 'rocm6.0' | 'pypi' | None, how it was chosen) for a torch-family package."""
    if package.local_tag:
        return package.local_tag, f"+{package.local_tag}"
    if package.url:
        variant = index_variant(package.url)
        return (variant, "the wheel URL") if variant != "pypi" else (None, "")
    backend = _uv_torch_backend(package)
    if backend:
        return (backend, f"uv --torch-backend={backend}") if backend != "auto" else (None, "")
    if package.index_urls:  # replaces PyPI
        variants = {index_variant(u) for u in package.index_urls}
        if len(variants) != 1 or None in variants:
            return None, ""
        variant = variants.pop()
        return variant, ("" if variant == "pypi" else f"index {package.index_urls[-1]}")
    extras = [u for u in package.extra_index_urls + package.find_links if index_variant(u) not in (None, "pypi")]
    variants = {index_variant(u) for u in extras}
    if len(variants) > 1:
        return None, ""
    if not variants:
        return (None, "") if _index_configured(package.instruction) else ("pypi", "")
    variant, how = variants.pop(), f"extra index {extras[0]}"
    releases = facts()["torch"]["releases"]
    # uv prefers an extra index to PyPI; pip takes the highest version of all indexes, where `2.5.1+cu121`
    # sorts above PyPI's `2.5.1`, so the variant wins wherever it has a build of the release
    if package.manager == "uv" or not variant.startswith("cu") or release is None:
        return variant, how
    if variant in releases[release.minor]["variants"]:
        return variant, how
    last = torch_last_with_variant(variant)
    return "pypi", (f"{extras[0]} has no torch {release.minor} (its last is {last or 'older than 1.12'}), so pip "
                    f"takes PyPI's build")


_PIP_CONFIG = re.compile(r"\bpip\.conf\b|\bpip\.ini\b|\buv\.toml\b|\bpip3? config set\b", re.IGNORECASE)


def _index_configured(instruction) -> bool:
    """Whether pip/uv may read an index from a config file written or copied before this RUN (pip.conf,
    uv.toml, `pip config set`, PIP_CONFIG_FILE)."""
    if {"PIP_CONFIG_FILE", "UV_CONFIG_FILE"} & set(instruction.vars):
        return True
    for stage in lineage(instruction.stage):
        for earlier in stage.instructions:
            if earlier is instruction:
                break
            if earlier.keyword in ("COPY", "ADD", "RUN") and _PIP_CONFIG.search(earlier.original):
                return True
    return False


def _uv_torch_backend(package: Package) -> str | None:
    if package.manager != "uv":
        return None
    from dockerlint_ml.installs import pip_install

    for command in package.instruction.commands:
        install = pip_install(command)
        if install is not None and install.tool == "uv" and install.option_values("--torch-backend"):
            return install.option_values("--torch-backend")[-1].value.lower()
    return (package.instruction.vars.get("UV_TORCH_BACKEND") or "").lower() or None


def _tensorflow(package: Package, python) -> GpuPackage | None:
    data = facts()["tensorflow"]
    release = requested_release(package, "tensorflow", python)
    row = data["releases"].get(release.minor) if release else None
    cuda = version_tuple(row["cuda"]) if row else None
    cudnn = row["cudnn"] if row else None
    if "and-cuda" in _extras(package):
        how = f"tensorflow[and-cuda] {release.minor if release else ''} pins CUDA {row['cuda'] if row else '?'}"
        return GpuPackage(package, "tensorflow", cuda, how, True, True, release, cudnn)
    gpu = package.name == "tensorflow-gpu"
    how = f"TensorFlow {release.minor} is built for CUDA {row['cuda']}" if row else "TensorFlow"
    return GpuPackage(package, "tensorflow", cuda, how, gpu, False, release, cudnn)


def _onnxruntime(package: Package, python) -> GpuPackage:
    data = facts()["onnxruntime_gpu"]
    release = requested_release(package, "onnxruntime_gpu", python)
    row = onnxruntime_gpu_release(version_tuple(release.minor)) if release else None
    extras = _extras(package)
    bundled = bool(release) and "cuda" in extras and version_tuple(release.minor) >= version_tuple(
        data["extras_from"])
    how = f"onnxruntime-gpu {release.minor} is built for CUDA {row['cuda']}" if row else "onnxruntime-gpu"
    return GpuPackage(package, "onnxruntime-gpu", (row["cuda"],) if row else None, how, True, bundled, release,
                      row["cudnn"] if row else None)


def _jax(package: Package, python) -> GpuPackage | None:
    data = facts()["jax"]
    name, extras = package.name, _extras(package)
    release = requested_release(package, "jax", python) if name == "jax" else None
    if name == "jax":
        extra = next((e for e in extras if e in data["extras"]), None)
        if extra is None:
            return None
        return GpuPackage(package, "jax", (data["extras"][extra],), f"jax[{extra}]", True,
                          not extra.endswith("-local"), release)
    plugin = re.fullmatch(r"jax-cuda(\d+)-(?:plugin|pjrt)", name)
    if plugin:
        return GpuPackage(package, "jax", (int(plugin.group(1)),), name, True, "with-cuda" in extras)
    local = re.fullmatch(r"cuda(\d+)(?:\.cudnn(\d))?\d*", package.local_tag or "")
    if local:  # jaxlib==0.4.7+cuda11.cudnn86 from the jax_cuda_releases page: uses the system CUDA
        cudnn = int(local.group(2)) if local.group(2) else None
        return GpuPackage(package, "jax", (int(local.group(1)),), f"jaxlib +{package.local_tag}", True, False,
                          None, cudnn)
    return None


def _extras(package: Package) -> tuple[str, ...]:
    return tuple(e.lower().replace("_", "-") for e in package.extras)


def _applies_on_linux(package: Package) -> bool:
    """False for a requirement whose environment marker excludes Linux x86_64 on every CPython 3.8-3.15."""
    marker_text = package.requirement.marker if package.requirement else None
    if not marker_text:
        return True
    from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName

    try:
        marker = Marker(marker_text)
    except InvalidMarker:
        return True
    base = {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    try:
        return any(marker.evaluate({**base, "python_version": f"3.{m}", "python_full_version": f"3.{m}.0"})
                   for m in range(8, 16))
    except (UndefinedEnvironmentName, ValueError, TypeError):
        return True


# ---- what says an image is meant for NVIDIA GPUs ---------------------------------------------------------------

_GPU_NAME = re.compile(r"gpu|cuda|nvidia|nvcr\.io|(?<![a-z0-9])cu\d{2,3}(?![0-9])", re.IGNORECASE)
_GPU_ENV = re.compile(r"^(NVIDIA_|CUDA_HOME$|CUDA_PATH$|CUDA_VISIBLE_DEVICES$|TORCH_CUDA_ARCH_LIST$)")
_CUDA_APT = re.compile(r"^(cuda-|libcudnn|libnccl|libcublas|libnvinfer|nvidia-)")


def is_gpu_image_name(image: ImageRef) -> bool:
    """An image whose name or tag says GPU/CUDA (`tensorflow/tensorflow:latest-gpu`, `…:cuda12-…`), or a known
    CUDA image (nvidia/cuda, pytorch/pytorch, NGC)."""
    return bool(_GPU_NAME.search(image.value)) or image.name.lower() == "pytorch/pytorch" or (
        image_cuda(image) is not None)


def from_build_arg(image: ImageRef, global_args: dict[str, str]) -> bool:
    """`FROM ${BASE}` / `nvidia/cuda:${CUDA}-base…` with an ARG declared without a default (or still unknown):
    the image is chosen with --build-arg."""
    names = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", image.raw)
    return image.unresolved or any(not global_args.get(name) for name in names)


def gpu_intent(df, stages: list[Stage], gpu: list[GpuPackage]) -> str | None:
    """Why these stages are meant to run on NVIDIA GPUs, as a phrase for messages; None if nothing says so."""
    from dockerlint_ml.installs import apt_command

    for stage in stages:
        base = root_stage(stage).base
        if from_build_arg(base, df.global_args):
            return f"the base image {base.raw} is chosen at build time"
        if is_gpu_image_name(base):
            return f"the base image {base.value} is a GPU image"
        for name, value in stage.env.items():
            if _GPU_ENV.match(name) or "/usr/local/cuda" in value or "/usr/local/nvidia" in value:
                return f"ENV {name} is set"
        for instruction in stage.instructions:
            for command in instruction.commands:
                apt = apt_command(command)
                if apt and apt.action == "install" and any(_CUDA_APT.match(w.value) for w in apt.packages):
                    return "CUDA libraries are installed with apt"
    wanted = next((g for g in gpu if g.intent and g.package.stage in stages), None)
    if wanted is not None:
        return f"{wanted.package.text} is a GPU build"
    if _GPU_NAME.search(df.path.rsplit("/", 1)[-1]):
        return f"the file is named {df.path.rsplit('/', 1)[-1]}"
    return None


def nvidia_env(stages: list[Stage]) -> dict[str, str]:
    """The NVIDIA_* ENV the final image carries (the nearest stage's value wins)."""
    found: dict[str, str] = {}
    for stage in reversed(stages):
        found.update({k: v for k, v in stage.env.items() if k.startswith("NVIDIA_")})
    return found


def by_install(gpu: list[GpuPackage]) -> list[list[GpuPackage]]:
    """GPU packages grouped per install, so one RUN (or requirements file) gets one finding: torch with the
    torchvision/torchaudio of the same RUN and file (torch first); every other package on its own."""
    groups: dict[tuple, list[GpuPackage]] = {}
    for item in gpu:
        source = item.package.source.path if item.package.source else None
        key = (id(item.package.instruction), source, "torch") if item.family == "torch" else (id(item),)
        groups.setdefault(key, []).append(item)
    return [sorted(group, key=lambda g: g.name != "torch") for group in groups.values()]


def installed_by(package: Package) -> str:
    """' (installed by the RUN on Dockerfile line 12)' for a package written in another file, else ''."""
    if package.source is None:
        return ""
    return f" (installed by the RUN on Dockerfile line {package.instruction.start_line})"


def names_text(group: list[GpuPackage]) -> str:
    """'torch', 'torch and torchvision', 'torch, torchvision and torchaudio'."""
    names = [g.name for g in group]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def shipped_stages(df) -> list[Stage]:
    """The final lineage, plus the stages (and their lineages) whose Python environment it copies with
    `COPY --from` (a virtualenv, site-packages, a conda prefix): where what the image runs was installed."""
    found = list(df.final_lineage)
    for stage in found:  # grows while iterating: a copied stage may copy from another
        for instruction in stage.instructions:
            flag = instruction.flag("from") if instruction.keyword in ("COPY", "ADD") else None
            source = df.stage_by_ref(flag.value, stage.index) if flag and flag.value else None
            if source is None or not any(_PYTHON_ENV.search(path) for _, path in instruction.paths[:-1]):
                continue
            found.extend(s for s in lineage(source) if s not in found)
    return found


_PYTHON_ENV = re.compile(r"venv|site-packages|dist-packages|conda|mamba|/lib/python|\.local|^/usr(/local)?/?$|^/$")
