"""packages.py: one inventory of what each stage installs, wherever it is written; cuda.py and facts.py."""
from pathlib import Path

from dockerlint_ml.context import BuildContext
from dockerlint_ml.cuda import stage_cuda
from dockerlint_ml.facts import cuda_of_local_tag, onnxruntime_gpu_release, torch_release
from dockerlint_ml.model import parse
from dockerlint_ml.packages import installed_packages
from dockerlint_ml.text import SourceText, read_source


def inventory(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None):
    for name, body in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    source = read_source(str(tmp_path / "Dockerfile"))
    df = parse(source)
    packages = installed_packages(df, BuildContext(tmp_path, tmp_path / "Dockerfile"))
    return df, packages, source


def where(package, dockerfile_source):
    source = package.source or dockerfile_source
    return Path(source.path).name, source.position(package.start)[0], source.text[package.start:package.end]


def test_run_arguments_with_indexes_and_templated_versions(tmp_path):
    df, packages, source = inventory(tmp_path, (
        "FROM python:3.11-slim\n"
        "ARG TV=2.5.1\n"
        "RUN PIP_EXTRA_INDEX_URL=https://x/simple python3 -m pip install \\\n"
        "      --index-url https://download.pytorch.org/whl/cu121 torch==${TV}+cu121 numpy\n"
        "RUN uv pip install 'jax[cuda12]>=0.4'\n"))
    torch, numpy, jax = packages
    assert (torch.name, torch.version, torch.local_tag, torch.release) == ("torch", "2.5.1+cu121", "cu121", (2, 5, 1))
    assert torch.index_urls == ("https://download.pytorch.org/whl/cu121",)
    assert torch.extra_index_urls == ("https://x/simple",)
    assert where(numpy, source) == ("Dockerfile", 4, "numpy")
    assert (jax.manager, jax.extras, jax.specifier, jax.version) == ("uv", ("cuda12",), ">=0.4", None)


def test_requirements_file_lines_and_its_index_options(tmp_path):
    df, packages, source = inventory(tmp_path, (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements/ ./req/\nRUN pip install -r req/base.txt\n"),
        {"requirements/base.txt": "--index-url https://download.pytorch.org/whl/cpu\n-r extra.txt\ntorch==2.5.1+cpu\n",
         "requirements/extra.txt": "opencv-python\n"})
    assert [(p.name, where(p, source)[:2]) for p in packages] == [
        ("torch", ("base.txt", 3)), ("opencv-python", ("extra.txt", 1))]
    assert all(p.index_urls == ("https://download.pytorch.org/whl/cpu",) for p in packages)


def test_environment_yml_conda_and_pip_entries(tmp_path):
    df, packages, source = inventory(tmp_path, (
        "FROM continuumio/miniconda3\nCOPY environment.yml .\nRUN conda env create && mamba install -y cudatoolkit\n"),
        {"environment.yml": "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - \"numpy>=1\"\n"
                            "  - pip:\n    - torchvision==0.20.0\n"})
    found = [(p.manager, p.name, p.specifier, where(p, source)) for p in packages]
    assert found == [
        ("conda", "python", "=3.11", ("environment.yml", 3, "python=3.11")),
        ("conda", "numpy", ">=1", ("environment.yml", 4, "numpy>=1")),
        ("pip", "torchvision", "==0.20.0", ("environment.yml", 6, "torchvision==0.20.0")),
        ("conda", "cudatoolkit", "", ("Dockerfile", 3, "cudatoolkit")),
    ]
    assert packages[0].channels == ("conda-forge",) and packages[0].version == "3.11"


def test_pyproject_dependencies_extras_and_dev_group(tmp_path):
    pyproject = ('[project]\nname = "svc"\ndependencies = ["fastapi", "onnxruntime-gpu==1.20.0"]\n'
                 '[project.optional-dependencies]\ngpu = ["cupy-cuda12x"]\n[dependency-groups]\ndev = ["pytest"]\n')
    df, packages, source = inventory(tmp_path, (
        "FROM python:3.11-slim AS a\nCOPY . /src\nWORKDIR /src\nRUN pip install '.[gpu]'\n"
        "FROM a\nRUN uv sync --no-dev\n"), {"pyproject.toml": pyproject})
    first = [(p.stage.index, p.name, where(p, source)[1]) for p in packages if p.manager == "pip"]
    assert first == [(0, "fastapi", 3), (0, "onnxruntime-gpu", 3), (0, "cupy-cuda12x", 5)]
    assert [p.name for p in packages if p.manager == "uv"] == ["fastapi", "onnxruntime-gpu"]


def test_inventory_is_computed_once_per_dockerfile(tmp_path):
    df, packages, _ = inventory(tmp_path, "FROM python:3.11\nRUN pip install torch\n")
    assert installed_packages(df, None) is packages


def test_files_outside_the_context_or_ignored_are_not_read(tmp_path):
    df, packages, _ = inventory(tmp_path, "FROM python:3.11\nCOPY r.txt .\nRUN pip install -r r.txt\n",
                                {"r.txt": "torch\n", ".dockerignore": "r.txt\n"})
    assert packages == []


def test_stage_cuda_from_tags_stage_chains_and_env():
    df = parse(SourceText("Dockerfile", (
        "ARG CUDA=12.1.1\n"
        "FROM nvidia/cuda:${CUDA}-cudnn8-devel-ubuntu22.04 AS build\n"
        "FROM build\n"
        "FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\n"
        "FROM ubuntu:22.04\nENV CUDA_VERSION=11.8.0\n"
        "FROM python:3.11-slim\n")))
    cudas = [stage_cuda(s) for s in df.stages]
    assert (cudas[0].version, cudas[0].flavor, cudas[0].os, cudas[0].cudnn) == ((12, 1, 1), "cudnn8-devel",
                                                                               "ubuntu22.04", 8)
    assert cudas[1].version == (12, 1, 1)
    assert (cudas[2].kind, cudas[2].version, cudas[2].cudnn) == ("pytorch/pytorch", (12, 4), 9)
    assert (cudas[3].kind, cudas[3].major) == ("env", 11)
    assert cudas[4] is None


def test_facts_lookups():
    assert torch_release((2, 5, 1))["pypi_cuda"] == "12.4"
    assert torch_release((9, 9)) is None
    assert torch_release(None)["python"] == "3.11"  # unpinned: the latest release
    assert cuda_of_local_tag("cu118") == (11, 8) and cuda_of_local_tag("cu130") == (13, 0)
    assert cuda_of_local_tag("cpu") is None
    assert onnxruntime_gpu_release((1, 18, 1))["cuda"] == 11
    assert onnxruntime_gpu_release((1, 20, 0))["cuda"] == 12
    assert onnxruntime_gpu_release((1, 10)) is None


def test_explicit_conda_lock_urls_name_the_package_from_the_file_name(tmp_path):
    df, packages, source = inventory(tmp_path, (
        "FROM mambaorg/micromamba:1.5.8\nCOPY conda-linux-64.lock /app/\n"
        "RUN micromamba create -qy -n base -f /app/conda-linux-64.lock\n"),
        {"conda-linux-64.lock": "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/linux-64/"
                                "numpy-1.26.4-py311h64a7726_0.conda#a502d7aad449a1206efb366d6a12c52d\nscipy=1.11\n"})
    assert [(p.name, p.specifier, p.version, bool(p.url)) for p in packages] == [
        ("numpy", "==1.26.4", "1.26.4", True), ("scipy", "=1.11", "1.11", False)]


def test_poetry_constraint_lists_and_sources(tmp_path):
    # a list of per-marker constraints used to crash the inventory; `source = ...` picks the index
    pyproject = ('[tool.poetry.dependencies]\npython = "^3.11"\nnumpy = "1.26.4"\n'
                 'torch = [{markers = "sys_platform == \'linux\'", source = "cpu"}, {version = "2.5.1"}]\n'
                 '[[tool.poetry.source]]\nname = "cpu"\nurl = "https://download.pytorch.org/whl/cpu"\n')
    df, packages, source = inventory(tmp_path, "FROM python:3.11-slim\nCOPY . .\nRUN poetry install\n",
                                     {"pyproject.toml": pyproject})
    found = {p.name: (p.specifier, p.index_urls) for p in packages}
    assert found == {"numpy": ("==1.26.4", ()), "torch": ("", ("https://download.pytorch.org/whl/cpu",))}


def test_uv_sources_choose_the_index_for_uv_sync(tmp_path):
    pyproject = ('[project]\nname = "svc"\ndependencies = ["torch==2.5.1", "numpy"]\n'
                 '[tool.uv.sources]\ntorch = [{ index = "pytorch-cpu", marker = "sys_platform == \'linux\'" }]\n'
                 '[[tool.uv.index]]\nname = "pytorch-cpu"\nurl = "https://download.pytorch.org/whl/cpu"\n'
                 'explicit = true\n')
    df, packages, source = inventory(tmp_path, "FROM python:3.11-slim\nCOPY . .\nRUN uv sync --no-dev\n",
                                     {"pyproject.toml": pyproject})
    assert [(p.name, p.index_urls) for p in packages] == [
        ("torch", ("https://download.pytorch.org/whl/cpu",)), ("numpy", ())]
