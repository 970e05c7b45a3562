"""Packaging and base-image rules (ML105, ML106, ML205, ML209, ML212-ML215): helpers and cross-rule behaviour."""
from pathlib import Path

import pytest

from dockerlint_ml.checks.ml105 import _remote, _split_revision
from dockerlint_ml.checks.ml106 import version_problem
from dockerlint_ml.checks.ml205 import runtime_variant
from dockerlint_ml.checks.ml212 import slim_tag
from dockerlint_ml.checks.ml213 import dev_tool
from dockerlint_ml.config import Config
from dockerlint_ml.engine import lint_source
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import parse_image
from dockerlint_ml.text import read_source


def lint(tmp_path: Path, dockerfile: str, select: list[str], files: dict[str, str] | None = None,
         severity: dict[str, Severity] | None = None):
    for name, body in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    config = Config(select=select, severity=severity or {})
    return lint_source(read_source(str(tmp_path / "Dockerfile")), config, tmp_path).findings


@pytest.mark.parametrize("url,repo,revision", [
    ("git+https://github.com/org/repo@main#egg=x", "git+https://github.com/org/repo", "main"),
    ("git+https://github.com/org/repo.git", "git+https://github.com/org/repo.git", None),
    ("git+ssh://git@github.com/org/repo.git", "git+ssh://git@github.com/org/repo.git", None),
    ("git+ssh://git@github.com/org/repo.git@v1.2", "git+ssh://git@github.com/org/repo.git", "v1.2"),
    ("hg+https://hg.example.com/repo@tip", "hg+https://hg.example.com/repo", "tip"),
])
def test_vcs_revision_is_split_after_the_host(url, repo, revision):
    assert _split_revision(url) == (repo, revision)


def test_vcs_remote_drops_the_vcs_prefix():
    assert _remote("git+https://github.com/org/repo") == "https://github.com/org/repo"
    assert _remote("https://example.com/x") == "https://example.com/x"


def test_a_vcs_or_url_requirement_is_reported_once_by_ml105_not_by_ml102_or_ml103(tmp_path):
    findings = lint(tmp_path, (
        "FROM python:3.11-slim\nCOPY requirements.txt .\n"
        "RUN pip install git+https://github.com/org/a@main https://example.com/b-1.0.tar.gz torch\n"
        "RUN pip install -r requirements.txt\n"),
        ["ML102", "ML103", "ML105"],
        {"requirements.txt": "git+https://github.com/org/c@v1#egg=c\nnumpy\n"})
    assert sorted((f.code, Path(f.path).name, f.line) for f in findings) == [
        ("ML102", "Dockerfile", 3),  # torch
        ("ML103", "requirements.txt", 2),  # numpy
        ("ML105", "Dockerfile", 3), ("ML105", "Dockerfile", 3),
        ("ML105", "requirements.txt", 1),
    ]


@pytest.mark.parametrize("spec,problem", [
    ("", "none"), ("*", "none"), ("=*=openblas", "none"), ("[build=cuda*]", "none"),
    ("=1.26", None), ("==1.26.4", None), ("=1.26.*", None), ("1.26.4", None), ("1.26.4 py311_0", None),
    ("=1.26.4=py311_0", None), ("[version='1.2.3']", None),
    (">=1.2", "range"), ("<2", "range"), (">=1.2,<2", "range"), ("1.2|1.3", "range"), ("~=1.2", "range"),
    ("[version='>=1.2']", "range"),
])
def test_conda_version_specs(spec, problem):
    assert version_problem(spec) == problem


def test_conda_update_and_templated_versions_are_not_reported(tmp_path):
    findings = lint(tmp_path, (
        "FROM continuumio/miniconda3:24.7.1-0\nARG PY\n"
        "RUN conda update -y -n base conda && conda install -y python=$PY numpy=${NUMPY_VERSION} scipy\n"),
        ["ML106"])
    assert [f.message.split(":")[0] for f in findings] == ["conda package scipy has no version"]


@pytest.mark.parametrize("image,runtime", [
    ("nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04", "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04"),
    ("nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04", "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"),
    ("pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel", "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"),
    ("nvcr.io/nvidia/cuda:12.6.3-devel-ubuntu24.04", "nvcr.io/nvidia/cuda:12.6.3-runtime-ubuntu24.04"),
    ("nvcr.io/nvidia/cuda-dl-base:24.10-cuda12.6-devel-ubuntu22.04", None),
])
def test_runtime_variant_of_a_devel_tag(image, runtime):
    assert runtime_variant(parse_image(image, {})) == runtime


def test_ml204_leaves_the_devel_base_to_ml205(tmp_path):
    findings = lint(tmp_path, "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get install -y gcc\n",
                    ["ML204", "ML205"])
    assert sorted((f.code, f.line) for f in findings) == [("ML204", 2), ("ML205", 1)]


@pytest.mark.parametrize("tag,slim", [
    ("3.12", "3.12-slim"), ("3.9-buster", "3.9-slim-buster"), ("3.8.16-bullseye", "3.8.16-slim-bullseye"),
    ("latest", "slim"), (None, "slim"), ("bookworm", "slim-bookworm"), ("3.13-rc-bookworm", "3.13-rc-slim-bookworm"),
])
def test_slim_tag_keeps_python_and_debian_release(tag, slim):
    assert slim_tag(tag) == slim


def test_heavy_base_severity_per_finding_and_configured_override(tmp_path):
    full = lint(tmp_path, "FROM python:3.12\n", ["ML212"])
    alpine = "FROM python:3.12-alpine\nRUN pip install torch==2.4.1\n"
    assert [f.severity for f in full] == [Severity.INFO]
    assert [f.severity for f in lint(tmp_path, alpine, ["ML212"])] == [Severity.WARNING]
    assert [f.severity for f in lint(tmp_path, alpine, ["ML212"], severity={"ML212": Severity.ERROR})] == [
        Severity.ERROR]
    assert lint(tmp_path, "FROM docker.io/library/python:3.12-slim\n", ["ML212"]) == []
    assert len(lint(tmp_path, "FROM docker.io/library/python:3.12\n", ["ML212"])) == 1


def test_dev_tool_names():
    assert dev_tool("pytest") == dev_tool("pytest-cov") == "a test tool"
    assert dev_tool("jupyterlab") == "a notebook server"
    assert dev_tool("flake8-bugbear") == "a linter or formatter"
    assert dev_tool("mypy-extensions") is None and dev_tool("fastapi") is None


def test_dev_tools_are_not_reported_when_the_entrypoint_script_runs_jupyter(tmp_path):
    findings = lint(tmp_path, (
        "FROM python:3.11-slim\nRUN pip install jupyterlab==4.2.5 uvicorn==0.30.6\n"
        "COPY start.sh /start.sh\nCMD [\"/start.sh\"]\n"),
        ["ML213"], {"start.sh": "#!/bin/sh\nuvicorn api:app &\nexec jupyter lab --ip=0.0.0.0\n"})
    assert findings == []


def test_uv_link_mode_from_a_config_file_and_symlink_severity(tmp_path):
    dockerfile = ("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
                  "RUN --mount=type=cache,target=/root/.cache/uv uv sync\n")
    assert lint(tmp_path, dockerfile, ["ML215"], {"uv.toml": 'link-mode = "copy"\n'}) == []
    (tmp_path / "uv.toml").write_text('link-mode = "symlink"\n', encoding="utf-8")
    assert [f.severity for f in lint(tmp_path, dockerfile, ["ML215"])] == [Severity.WARNING]
    (tmp_path / "uv.toml").unlink()
    assert [f.severity for f in lint(tmp_path, dockerfile, ["ML215"])] == [Severity.INFO]
