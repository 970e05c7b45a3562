"""GPU, CUDA and wheel facts from data/gpu.yaml, loaded on first use (rules that need none never pay for it)."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "gpu.yaml"


@lru_cache(maxsize=None)
def facts() -> dict[str, Any]:
    import yaml

    return yaml.load(DATA.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """(2, 5, 1) from '2.5.1+cu121', '2.5', 'v2.5'; None if it does not start with a number."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", text or "")
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def _by_release(table: dict[str, Any], version: tuple[int, ...] | None, latest: str) -> dict[str, Any] | None:
    """The row of the last release range starting at or below `version` (unpinned: the latest release)."""
    wanted = version or version_tuple(latest)
    best = None
    for key in sorted(table, key=version_tuple):
        if version_tuple(key) <= wanted:
            best = table[key]
    return best


def torch_release(version: tuple[int, ...] | None) -> dict[str, Any] | None:
    """Facts of a torch minor release; None for a release outside the data. Unpinned: the latest."""
    data = facts()["torch"]
    key = ".".join(map(str, (version or version_tuple(data["latest"]))[:2]))
    return data["releases"].get(key)


def tensorflow_release(version: tuple[int, ...] | None) -> dict[str, Any] | None:
    data = facts()["tensorflow"]
    key = ".".join(map(str, (version or version_tuple(data["latest"]))[:2]))
    return data["releases"].get(key)


def onnxruntime_gpu_release(version: tuple[int, ...] | None) -> dict[str, Any] | None:
    data = facts()["onnxruntime_gpu"]
    if version is not None and version < version_tuple(min(data["releases"], key=version_tuple)):
        return None
    return _by_release(data["releases"], version, data["latest"])


def cuda_of_local_tag(tag: str | None) -> tuple[int, int] | None:
    """(12, 1) for 'cu121', (11, 8) for 'cu118', (13, 0) for 'cu130'; None for cpu/rocm/anything else."""
    match = re.fullmatch(r"cu(\d{2,3})", tag or "")
    if not match:
        return None
    digits = match.group(1)
    return (int(digits[:-1]), int(digits[-1])) if len(digits) == 3 else (int(digits[0]), int(digits[1]))


def nvidia_wheel_cuda_major(name: str) -> int | None:
    """12 for nvidia-cudnn-cu12; None for other names."""
    match = re.fullmatch(facts()["nvidia_wheel_suffix"], name)
    return int(match.group(1)) if match else None


def driver_minimum(cuda: tuple[int, ...]) -> str | None:
    """The lowest Linux driver of a CUDA toolkit minor (its own "corresponding" driver)."""
    return facts()["cuda_driver"]["toolkit_min"].get(".".join(map(str, cuda[:2])))


def driver_floor(major: int) -> str | None:
    """The lowest driver that runs any toolkit of this major through minor-version compatibility."""
    return facts()["cuda_driver"]["major_floor"].get(str(major))


def compare_versions(a: str, b: str) -> int:
    """-1, 0, 1 comparing dotted driver/CUDA versions numerically."""
    ta, tb = version_tuple(a) or (), version_tuple(b) or ()
    return (ta > tb) - (ta < tb)


# ---- releases a specifier admits, and per-release lookups (GPU rules) ----------------------------------------------

def minors(section: str) -> list[str]:
    """Every minor release the facts cover for 'torch', 'tensorflow', 'onnxruntime_gpu' or 'jax', oldest first.
    Tables keyed by the first minor of a range (onnxruntime_gpu, jax) are expanded up to the latest."""
    data = facts()[section]
    table = data.get("releases") or data.get("python")
    keys = sorted(table, key=version_tuple)
    if section in ("torch", "tensorflow"):
        return keys
    first, last = version_tuple(keys[0]), version_tuple(data["latest"])
    return [f"{first[0]}.{minor}" for minor in range(first[1], last[1] + 1)]


def allowed_minors(specifier: str, candidates: list[str]) -> list[str] | None:
    """The minors (of `candidates`) with a release the specifier admits: the bare minor or one of its first
    ten patches satisfies it. '' admits all; None when the specifier cannot be read (`==${V}`, Poetry's ^)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = re.sub(r"\+[\w.]+", "", specifier or "").strip()  # `==2.5.1+cu121`: the local tag is not a release
    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier:
        return None
    return [m for m in candidates if any(spec.contains(v) for v in [m] + [f"{m}.{p}" for p in range(10)])]


def tensorflow_glibc(minor: str) -> str:
    """The glibc a tensorflow release's manylinux wheel needs."""
    data = facts()["tensorflow"]
    best = "2.17"
    for key, value in data["glibc"].items():
        if version_tuple(key) <= version_tuple(minor):
            best = value
    return best


def torch_last_with_variant(variant: str) -> str | None:
    """The newest torch minor published on download.pytorch.org/whl/<variant> (e.g. 'cu118' -> '2.7')."""
    found = [m for m, row in facts()["torch"]["releases"].items() if variant in row["variants"]]
    return max(found, key=version_tuple) if found else None


def os_python(os_key: str | None) -> tuple[int, ...] | None:
    """The Python 3 an OS release installs with apt (`python3`): (3, 10) for ubuntu22.04."""
    return version_tuple(facts()["distro"]["python3"].get(os_key or ""))


def os_glibc(os_key: str | None) -> str | None:
    return facts()["glibc"]["os"].get(os_key or "")


def torch_build_for(major: int, minor: str | None = None) -> tuple[str, str] | None:
    """(torch minor, 'cu126') of a download.pytorch.org build for this CUDA major: the newest variant of `minor`
    if it has one, else of the newest release that does; None when no release in the facts has one."""
    releases = facts()["torch"]["releases"]
    order = ([minor] if minor in releases else []) + sorted(releases, key=version_tuple, reverse=True)
    for candidate in order:
        variants = [v for v in releases[candidate]["variants"] if (cuda_of_local_tag(v) or (0,))[0] == major]
        if variants:
            return candidate, max(variants, key=cuda_of_local_tag)
    return None


def variant_index(variant: str) -> str:
    """https://download.pytorch.org/whl/cu126 for 'cu126' (next to the CPU index of the facts)."""
    return facts()["torch"]["cpu_index"].rsplit("/", 1)[0] + "/" + variant


def minors_where(section: str, key: str, value) -> list[str]:
    """The minors of a framework whose facts row has `key` == value (e.g. torch releases with cudnn 8)."""
    data = facts()[section]
    if section == "onnxruntime_gpu":
        rows = {m: onnxruntime_gpu_release(version_tuple(m)) for m in minors(section)}
    else:
        rows = data["releases"]
    return [m for m in minors(section) if rows.get(m) and rows[m].get(key) == value]


def span_text(found: list[str], candidates: list[str]) -> str:
    """'≤ 2.3', '≥ 2.4', '2.1–2.3' for a contiguous run of minors within the candidates."""
    if not found:
        return "none"
    first, last = found[0], found[-1]
    if first == candidates[0] and last == candidates[-1]:
        return "any"
    if first == candidates[0]:
        return f"≤ {last}"
    if last == candidates[-1]:
        return f"≥ {first}"
    return first if first == last else f"{first}–{last}"


def python_floor(section: str, minor: str) -> tuple[int, ...] | None:
    """The lowest Python a framework minor has wheels for (torch, tensorflow, onnxruntime_gpu, jax)."""
    data = facts()[section]
    if section in ("torch", "tensorflow"):
        row = data["releases"].get(minor)
        return version_tuple(row["python"]) if row else None
    if section == "onnxruntime_gpu":
        row = onnxruntime_gpu_release(version_tuple(minor))
        return version_tuple(row["python"]) if row else None
    floor = _by_release(data["python"], version_tuple(minor), data["latest"])
    return version_tuple(floor) if floor else None


def framework_cuda_major(section: str, minor: str) -> int | None:
    """The CUDA major a tensorflow or onnxruntime_gpu minor is built for."""
    if section == "onnxruntime_gpu":
        row = onnxruntime_gpu_release(version_tuple(minor))
        return row["cuda"] if row else None
    row = facts()[section]["releases"].get(minor)
    return (version_tuple(str(row["cuda"])) or (None,))[0] if row else None
