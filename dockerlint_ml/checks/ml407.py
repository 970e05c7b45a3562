"""ML407 wheel-glibc-too-new: a framework whose Linux wheels need a newer glibc than the base image has."""
from dockerlint_ml.cuda import image_os, installed_by, python_of, requested_release, root_stage
from dockerlint_ml.facts import (facts, minors, onnxruntime_gpu_release, os_glibc, python_floor, tensorflow_glibc,
                                 version_tuple)
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import installed_packages, report
from dockerlint_ml.registry import rule

_SECTIONS = {"torch": "torch", "onnxruntime-gpu": "onnxruntime_gpu", "tensorflow": "tensorflow",
             "tensorflow-gpu": "tensorflow"}
_NEWER_BASES = "ubuntu:22.04, debian:bookworm or a ubi9 image"


@rule("ML407", "wheel-glibc-too-new", Severity.ERROR,
      "A framework's Linux wheels need a newer glibc (manylinux tag) than the base image's distribution has.")
def check(df, ctx):
    for package in installed_packages(df, ctx.build):
        section = _SECTIONS.get(package.name)
        if section is None or package.manager == "conda":
            continue
        os_key = image_os(root_stage(package.stage).base)
        have = os_glibc(os_key)
        if have is None:
            continue
        python = python_of(package)
        python = python[0] if python else None
        release = requested_release(package, section, python)
        if release is None:
            continue
        need = _glibc(section, release.minor)
        if version_tuple(need) <= version_tuple(have):
            continue
        runnable = [m for m in minors(section) if python is None or (python_floor(section, m) or ()) <= python]
        if not release.pinned and not set(runnable) & set(release.allowed):
            continue  # no release the facts know runs on this Python: ML408's business, not glibc's
        fits = [m for m in runnable if version_tuple(_glibc(section, m)) <= version_tuple(have)]
        if not release.pinned:
            fits = [m for m in fits if m in release.allowed]
        image = root_stage(package.stage).base.value
        yield report(ctx, package, _message(package, release, need, have, image, os_key, fits)
                     + installed_by(package))


def _glibc(section: str, minor: str) -> str:
    if section == "torch":
        return facts()["torch"]["releases"][minor]["glibc"]
    if section == "tensorflow":
        return tensorflow_glibc(minor)
    row = onnxruntime_gpu_release(version_tuple(minor))
    return row["glibc"] if row else "2.17"


def _message(package, release, need, have, image, os_key, fits) -> str:
    name = package.name
    if os_key.replace(".", "") not in image.replace(".", "").replace(":", ""):
        image = f"{image} ({os_key})"
    tag = f"manylinux_{need.replace('.', '_')}"
    if fits and not release.pinned:
        wanted = package.text if not release.unpinned else f"unpinned {name}"
        return (f"{wanted} resolves to {name} {release.minor} today, whose Linux wheels are {tag} (glibc ≥ {need}), "
                f"but {image} has glibc {have}: pip silently installs {name} {fits[-1]}, the newest "
                f"release that runs there, instead; move to a newer base ({_NEWER_BASES}) or pin "
                f"{name}=={fits[-1]}.* on purpose")
    older = f", or pin {name} {fits[-1]}" if fits else ""
    return (f"{package.text}: its Linux wheels are {tag} (glibc ≥ {need}), but {image} has glibc "
            f"{have}, so pip finds no installable wheel ('No matching distribution found for {package.text}'); "
            f"move to a newer base ({_NEWER_BASES}){older}")
