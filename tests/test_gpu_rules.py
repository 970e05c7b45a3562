"""cuda.py and facts.py helpers behind the GPU rules (ML206, ML401-ML409): which CUDA an install targets, which
release it resolves to, what a base image's OS and Python are, and TORCH_CUDA_ARCH_LIST coverage."""
from pathlib import Path

import pytest

from dockerlint_ml.checks.ml404 import covers
from dockerlint_ml.context import BuildContext
from dockerlint_ml.cuda import (gpu_intent, gpu_packages, image_os, image_python, index_variant, python_of,
                                shipped_stages)
from dockerlint_ml.facts import allowed_minors, minors, python_floor, span_text, torch_build_for
from dockerlint_ml.model import parse, parse_image
from dockerlint_ml.packages import installed_packages
from dockerlint_ml.text import read_source


def inventory(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None):
    for name, body in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    df = parse(read_source(str(tmp_path / "Dockerfile")))
    return df, installed_packages(df, BuildContext(tmp_path, tmp_path / "Dockerfile"))


def gpu(tmp_path, run: str, base: str = "python:3.11-slim", files=None):
    """{package text: (cuda label, intent, bundled, resolved minor)} for one RUN on a base."""
    df, packages = inventory(tmp_path, f"FROM {base}\n{run}\n", files)
    return {g.package.text: (g.label, g.intent, g.bundled, g.release.minor if g.release else None)
            for g in gpu_packages(packages)}


@pytest.mark.parametrize("url,variant", [
    ("https://download.pytorch.org/whl/cu121", "cu121"),
    ("https://download.pytorch.org/whl/nightly/cu128/", "cu128"),
    ("https://download.pytorch.org/whl/cu111/torch_stable.html", "cu111"),
    ("https://download.pytorch.org/whl/cpu", "cpu"),
    ("https://download.pytorch.org/whl/rocm6.2", "rocm6.2"),
    ("https://mirrors.aliyun.com/pytorch-wheels/cu118", "cu118"),
    ("https://pypi.org/simple", "pypi"),
    ("https://pypi.tuna.tsinghua.edu.cn/simple/", "pypi"),
    ("https://download.pytorch.org/whl/torch_stable.html", None),
    ("$TORCH_INDEX", None),
    ("https://artifactory.example.com/api/python/ml", None),
])
def test_index_variant(url, variant):
    assert index_variant(url) == variant


def test_torch_builds_from_tags_indexes_and_pypi(tmp_path):
    found = gpu(tmp_path, (
        "RUN pip install torch==2.5.1+cu118 && pip install torch==2.1.0 \\\n"
        " && pip install --index-url https://download.pytorch.org/whl/cu124 torch==2.6.0 \\\n"
        " && pip install --extra-index-url https://download.pytorch.org/whl/cpu torch==2.4.1 \\\n"
        " && pip install --index-url https://download.pytorch.org/whl/cpu torch==2.3.1"))
    assert found == {"torch==2.5.1+cu118": ("11.8", True, True, "2.5"),
                     "torch==2.1.0": ("12.1", False, True, "2.1"),
                     "torch==2.6.0": ("12.4", True, True, "2.6")}


def test_an_extra_index_without_the_release_loses_to_pypi_with_pip_but_not_with_uv(tmp_path):
    pip = gpu(tmp_path, "RUN pip install torch --extra-index-url https://download.pytorch.org/whl/cu118")
    assert pip == {"torch": ("13.2", True, True, "2.15")}
    uv = gpu(tmp_path, "RUN uv pip install --system torch --extra-index-url https://download.pytorch.org/whl/cu118")
    assert uv == {"torch": ("11.8", True, True, "2.7")}  # the newest release that index has


def test_unpinned_resolves_to_the_newest_release_for_the_known_python(tmp_path):
    assert gpu(tmp_path, "RUN pip install torch", base="python:3.9-slim") == {"torch": ("12.8", False, True, "2.8")}
    assert gpu(tmp_path, "RUN pip install torch", base="python:3.12-slim") == {"torch": ("13.2", False, True, "2.15")}
    assert gpu(tmp_path, "RUN pip install 'torch>=2.8,<2.9'") == {"torch>=2.8,<2.9": ("12.8", False, True, "2.8")}


def test_companions_follow_the_torch_of_their_install(tmp_path):
    found = gpu(tmp_path, "RUN pip install torch==2.1.0 torchvision torchaudio==2.1.0")
    assert {text: value[0] for text, value in found.items()} == {
        "torch==2.1.0": "12.1", "torchvision": "12.1", "torchaudio==2.1.0": "12.1"}


def test_cpu_backends_markers_and_unknown_indexes_are_not_gpu_builds(tmp_path):
    assert gpu(tmp_path, (
        "RUN uv pip install --system --torch-backend=cpu torch"
        " && pip install 'torch==2.5.1; sys_platform == \"darwin\"'"
        " && pip install --index-url $TORCH_INDEX torch && conda install -y pytorch")) == {}


def test_other_frameworks_and_library_wheels(tmp_path):
    found = gpu(tmp_path, (
        "RUN pip install 'tensorflow[and-cuda]==2.17.1' tensorflow-gpu==2.15.0 onnxruntime-gpu==1.18.1 "
        "'onnxruntime-gpu[cuda,cudnn]==1.22.0' 'jax[cuda12-local]==0.4.35' 'jax[cuda13]' "
        "jaxlib==0.4.7+cuda11.cudnn86 cupy-cuda113 cupy-cuda12x nvidia-cudnn-cu12==9.1.0.70 nvidia-ml-py3"))
    assert found == {
        "tensorflow[and-cuda]==2.17.1": ("12.3", True, True, "2.17"),
        "tensorflow-gpu==2.15.0": ("12.2", True, False, "2.15"),
        "onnxruntime-gpu==1.18.1": ("11", True, False, "1.18"),
        "onnxruntime-gpu[cuda,cudnn]==1.22.0": ("12", True, True, "1.22"),
        "jax[cuda12-local]==0.4.35": ("12", True, False, "0.4"),
        "jax[cuda13]": ("13", True, True, "0.10"),  # jax 0.11+ needs Python 3.12
        "jaxlib==0.4.7+cuda11.cudnn86": ("11", True, False, None),
        "cupy-cuda113": ("11", True, False, None),
        "cupy-cuda12x": ("12", True, False, None),
        "nvidia-cudnn-cu12==9.1.0.70": ("12", True, True, None),
    }


def test_poetry_sources_choose_the_index(tmp_path):
    pyproject = ('[tool.poetry.dependencies]\npython = "^3.11"\n'
                 'torch = {version = "2.5.1", source = "pytorch-cpu"}\n'
                 'torchaudio = [{markers = "sys_platform == \'linux\'", source = "pytorch-cu"}, {source = "pypi"}]\n'
                 '[[tool.poetry.source]]\nname = "pytorch-cpu"\nurl = "https://download.pytorch.org/whl/cpu"\n'
                 '[[tool.poetry.source]]\nname = "pytorch-cu"\nurl = "https://download.pytorch.org/whl/cu124"\n')
    df, packages = inventory(tmp_path, "FROM python:3.11-slim\nCOPY . .\nRUN poetry install\n",
                             {"pyproject.toml": pyproject})
    by_name = {p.name: p for p in packages}
    assert by_name["torch"].index_urls == ("https://download.pytorch.org/whl/cpu",)
    assert set(by_name["torchaudio"].index_urls) == {"https://download.pytorch.org/whl/cu124",
                                                     "https://pypi.org/simple"}
    assert gpu_packages(packages) == []  # CPU, and ambiguous between two indexes


@pytest.mark.parametrize("image,os_key,python", [
    ("ubuntu:18.04", "ubuntu18.04", None),
    ("ubuntu:jammy-20240911", "ubuntu22.04", None),
    ("debian:12-slim", "bookworm", None),
    ("debian:stretch", "stretch", None),
    ("python:3.9-buster", "buster", (3, 9)),
    ("python:3.11-slim-bookworm", "bookworm", (3, 11)),
    ("python:3.11", None, (3, 11)),
    ("centos:7", "centos7", None),
    ("amazonlinux:2", "amazonlinux2", None),
    ("registry.access.redhat.com/ubi9/ubi-minimal", "ubi9", None),
    ("nvidia/cuda:11.8.0-cudnn8-devel-centos7", "centos7", None),
    ("tiangolo/uvicorn-gunicorn-fastapi:python3.11", None, (3, 11)),
    ("runpod/pytorch:2.1.0-py3.10-cuda11.8.0-devel-ubuntu22.04", "ubuntu22.04", (3, 10)),
    ("ubuntu:latest", None, None),
])
def test_image_os_and_python(image, os_key, python):
    ref = parse_image(image, {})
    assert (image_os(ref), image_python(ref)) == (os_key, python)


def test_python_of_an_install(tmp_path):
    def python(dockerfile):
        df, packages = inventory(tmp_path, dockerfile)
        found = python_of(packages[-1])
        return found[0] if found else None

    apt = "RUN apt-get update && apt-get install -y python3-pip\n"
    assert python("FROM ubuntu:22.04\n" + apt + "RUN pip install torch\n") == (3, 10)
    assert python("FROM ubuntu:22.04\n" + apt + "RUN python3.12 -m pip install torch\n") == (3, 12)
    assert python("FROM ubuntu:22.04\n" + apt + "RUN uv pip install --python 3.11 torch\n") == (3, 11)
    assert python("FROM ubuntu:22.04\nRUN pip install torch\n") is None  # no python3 from apt: unknown
    assert python("FROM ubuntu:22.04\n" + apt + "RUN apt-get install -y python3.11\nRUN pip install torch\n") is None
    assert python("FROM python:3.10-slim\nRUN curl -LO https://repo.anaconda.com/miniconda/Miniconda3-latest-Linux"
                  "-x86_64.sh && bash Miniconda3-latest-Linux-x86_64.sh -b\nRUN pip install torch\n") is None
    assert python("FROM ubuntu:22.04\n" + apt + "RUN ln -s /usr/bin/python3 /usr/bin/python\n"
                  "RUN pip install torch\n") == (3, 10)


def test_gpu_intent_and_shipped_stages(tmp_path):
    df, packages = inventory(tmp_path, (
        "FROM python:3.11-slim AS build\nRUN python -m venv /venv && /venv/bin/pip install torch==2.5.1\n"
        "FROM python:3.11-slim AS other\nRUN pip install onnx==1.17.0\n"
        "FROM python:3.11-slim\nCOPY --from=build /venv /venv\nCOPY --from=other /model.onnx /model.onnx\n"))
    assert [s.index for s in shipped_stages(df)] == [2, 0]
    assert gpu_intent(df, df.final_lineage, gpu_packages(packages)) is None
    df, packages = inventory(tmp_path, "FROM python:3.11-slim\nENV CUDA_HOME=/usr/local/cuda\n")
    assert gpu_intent(df, df.final_lineage, []) == "ENV CUDA_HOME is set"
    df, packages = inventory(tmp_path, "ARG BASE\nFROM ${BASE}\n")
    assert "chosen at build time" in gpu_intent(df, df.final_lineage, [])


@pytest.mark.parametrize("archs,target,covered", [
    ("8.0;8.6;9.0+PTX", "8.9", True),  # same-major SASS of a lower minor
    ("8.0;8.6", "9.0", False),
    ("8.0+PTX", "9.0", True),  # PTX is JIT-compiled for newer GPUs
    ("9.0a", "9.0", True),
    ("9.0a", "10.0", False),  # arch-specific code runs on that exact GPU only
    ("Ampere;Hopper", "8.9", True),
    ("7.0 7.5", "sm_80", False),
    ("7.5+PTX", "75", True),
    ("All", "8.0", None),  # not a list torch.utils.cpp_extension reads
])
def test_arch_list_coverage(archs, target, covered):
    assert covers(archs, target) is covered


def test_release_facts():
    torch = minors("torch")
    assert allowed_minors("~=2.1.0", torch) == ["2.1"]
    assert allowed_minors(">2.8.0,<2.9", torch) == ["2.8"]
    assert allowed_minors("^2.0", torch) is None
    assert python_floor("torch", "2.15") == (3, 11) and python_floor("jax", "0.11") == (3, 12)
    assert python_floor("onnxruntime_gpu", "1.22") == (3, 10)
    assert torch_build_for(12, "2.15") == ("2.14", "cu126") and torch_build_for(12, "2.5") == ("2.5", "cu124")
    assert span_text(["1.12", "1.13", "2.0"], torch) == "≤ 2.0" and span_text(["2.15"], torch) == "≥ 2.15"
