"""The structural fixes (ML204, ML205, ML206, ML209, ML211, ML301, ML507) and their helpers in restructure.py.

Fixes are applied with fixes.apply_edits on the findings of a lint (one rule selected), then the result is
linted again: the finding must be gone, and refusals must leave the finding without a fix.
"""
from pathlib import Path

import pytest

from dockerlint_ml.config import Config
from dockerlint_ml.context import BuildContext
from dockerlint_ml.engine import lint_source
from dockerlint_ml.finding import Applicability
from dockerlint_ml.fixes import apply_edits
from dockerlint_ml.model import parse
from dockerlint_ml.restructure import (block_removal, comment_lines_above, may_compile, prepend_command,
                                       reads_no_sources, word_removal, words_removal)
from dockerlint_ml.text import SourceText, read_source


def write(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    for relpath, body in (files or {}).items():
        target = tmp_path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body.encode())
    path = tmp_path / "Dockerfile"
    path.write_bytes(dockerfile.encode())
    return path


def lint(tmp_path: Path, code: str):
    return [f for f in lint_source(read_source(str(tmp_path / "Dockerfile")), Config(select=[code]), tmp_path).findings
            if f.code == code]


def fix(tmp_path: Path, dockerfile: str, code: str, files: dict[str, str] | None = None) -> dict[str, str]:
    """Apply the first finding's fix; returns the text of every file it edited (relative path -> text) and
    checks that the rule no longer fires there."""
    write(tmp_path, dockerfile, files)
    findings = lint(tmp_path, code)
    assert findings and findings[0].fix is not None, [f.message for f in findings]
    edited: dict[str, str] = {}
    by_path: dict[Path, list] = {}
    for edit in findings[0].fix.edits:
        by_path.setdefault(Path(edit.path) if edit.path else tmp_path / "Dockerfile", []).append(edit)
    for path, edits in by_path.items():
        old = path.read_bytes().decode() if path.exists() else ""
        path.write_bytes(apply_edits(old, edits).encode())
        edited[path.relative_to(tmp_path).as_posix()] = path.read_bytes().decode()
    assert parse(SourceText("Dockerfile", (tmp_path / "Dockerfile").read_text())).error is None
    assert len(lint(tmp_path, code)) < len(findings), "the fixed finding comes back"
    return edited


def no_fix(tmp_path: Path, dockerfile: str, code: str, files: dict[str, str] | None = None) -> None:
    write(tmp_path, dockerfile, files)
    findings = lint(tmp_path, code)
    assert findings, "the rule must fire"
    assert all(f.fix is None for f in findings), [f.fix for f in findings]


# --- restructure: words and commands ------------------------------------------------------------------------

def commands(text: str):
    df = parse(SourceText("Dockerfile", text))
    return df, [c for i in df.instructions for c in i.commands]


def removed(text: str, values: list[str]) -> str:
    df, cmds = commands(text)
    command = next(c for c in cmds if any(w.value == values[0] for w in c.words))
    words = [w for w in command.words if w.value in values]
    spans = words_removal(text, command, words)
    assert spans is not None
    out, cursor = [], 0
    for start, end in spans:
        out.append(text[cursor:start])
        cursor = end
    return "".join(out) + text[cursor:]


@pytest.mark.parametrize("text,values,expected", [
    ("FROM a\nRUN pip install torch fastapi\n", ["torch"], "FROM a\nRUN pip install fastapi\n"),
    ("FROM a\nRUN pip install fastapi torch\n", ["torch"], "FROM a\nRUN pip install fastapi\n"),
    ("FROM a\nRUN pip install fastapi torch torchvision numpy\n", ["torch", "torchvision"],
     "FROM a\nRUN pip install fastapi numpy\n"),
    ("FROM a\nRUN pip install \\\n    fastapi \\\n    torch\n", ["torch"], "FROM a\nRUN pip install \\\n    fastapi\n"),
    ("FROM a\nRUN pip install \\\n    torch \\\n    fastapi\n", ["torch"], "FROM a\nRUN pip install \\\n    fastapi\n"),
    # a comment line above the word: the word goes with what follows it, the comment stays
    ("FROM a\nRUN pip install \\\n    # gpu\n    torch \\\n    fastapi\n", ["torch"],
     "FROM a\nRUN pip install \\\n    # gpu\n    fastapi\n"),
    ("FROM a\nRUN <<EOF\npip install torch \\\n  fastapi\nEOF\n", ["torch"],
     "FROM a\nRUN <<EOF\npip install \\\n  fastapi\nEOF\n"),
    ("FROM a\nRUN PIP_USER=1 pip install x\n", ["PIP_USER=1"], "FROM a\nRUN pip install x\n"),
])
def test_words_removal(text, values, expected):
    assert removed(text, values) == expected


def test_word_removal_refuses_between_comments():
    text = "FROM a\nRUN pip install \\\n  # one\n  torch \\\n  # two\n  fastapi\n"
    _, cmds = commands(text)
    torch = next(w for w in cmds[0].words if w.value == "torch")
    assert word_removal(text, cmds[0], torch) is None


@pytest.mark.parametrize("text,ok", [
    ("FROM a\nRUN apt-get update && pip install torch\n", True),
    ("FROM a\nRUN cd /x; pip install torch\n", True),
    ("FROM a\nRUN test -f x || pip install torch\n", False),
    ("FROM a\nRUN cat r.txt | pip install torch\n", False),
    ("FROM a\nRUN bash -c 'pip install torch'\n", False),
    ("FROM a\nRUN [\"pip\", \"install\", \"torch\"]\n", False),
    ("FROM a\nRUN if true; then pip install torch; fi\n", False),
])
def test_prepend_command(text, ok):
    df, cmds = commands(text)
    pip = next(c for c in cmds if c.name == "pip")
    instruction = next(i for i in df.instructions if pip in i.commands)
    assert (prepend_command(instruction, pip, "true") is not None) is ok


def test_comment_lines_and_block_removal():
    text = "# syntax=docker/dockerfile:1\n# the app\nFROM a\n\n# sources\n# all of them\nCOPY . .\n\nRUN x\n"
    source = SourceText("Dockerfile", text)
    assert comment_lines_above(source, 3) == 2  # the parser directive does not belong to FROM
    assert comment_lines_above(source, 7) == 5
    start, end = block_removal(source, 5, 7)
    assert text[:start] + text[end:] == "# syntax=docker/dockerfile:1\n# the app\nFROM a\n\nRUN x\n"


@pytest.mark.parametrize("command,expected", [
    ("apt-get install -y curl", True), ("pip install torch==2.4.1", True), ("pip install -r r.txt", False),
    ("pip install .", False), ("rm -rf /var/lib/apt/lists/*", True), ("rm -rf build", False),
    ("chown -R app:app /app", True), ("useradd -m app", True), ("python train.py", False), ("make", False),
    ("npm ci", False), ("conda install -y numpy", True),
])
def test_reads_no_sources(command, expected):
    _, cmds = commands(f"FROM a\nRUN {command}\n")
    assert reads_no_sources(cmds[0]) is expected


@pytest.mark.parametrize("body,compiles", [
    ("RUN pip install torch==2.5.1", False),
    ("RUN apt-get update && apt-get install -y python3-pip", False),
    ("RUN APT=\"apt-get install -y\" && $APT build-essential", True),
    ("RUN pip install flash-attn==2.6.3", True),
    ("RUN pip install git+https://github.com/x/y", True),
    ("ENV TORCH_CUDA_ARCH_LIST=8.0\nRUN pip install torch", True),
    ("RUN ./build.sh", True),
    ("RUN pip install -r missing.txt", True),
    ("RUN python setup.py install", True),
])
def test_may_compile(tmp_path, body, compiles):
    path = write(tmp_path, f"FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\n{body}\n")
    df = parse(read_source(str(path)))
    assert (may_compile(df, df.final_lineage, BuildContext(tmp_path)) is not None) is compiles


# --- ML209 --------------------------------------------------------------------------------------------------

def test_ml209_renames_in_a_requirements_file_and_environment_file(tmp_path):
    dockerfile = "FROM python:3.11-slim\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n"
    line = "OpenCV_Python[extra]>=4.8 ; python_version>'3.8'  # cv\r\n"
    edited = fix(tmp_path, dockerfile, "ML209", {"requirements.txt": "numpy==2.1.0\r\n" + line})
    assert edited["requirements.txt"] == "numpy==2.1.0\r\n" + line.replace("OpenCV_Python", "opencv-python-headless")


def test_ml209_refuses_hashes_and_urls(tmp_path):
    no_fix(tmp_path, "FROM python:3.11-slim\nCOPY r.txt .\nRUN pip install --require-hashes -r r.txt\n", "ML209",
           {"r.txt": "opencv-python==4.10.0.84 --hash=sha256:" + "0" * 64 + "\n"})
    no_fix(tmp_path, "FROM python:3.11-slim\nRUN pip install https://example.com/opencv_python-4.10.0.84-cp37-abi3-"
                     "manylinux2014_x86_64.whl\n", "ML209")


# --- ML205 --------------------------------------------------------------------------------------------------

def test_ml205_keeps_digest_pinned_and_shared_bases(tmp_path):
    no_fix(tmp_path, "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04@sha256:" + "a" * 64 + "\n", "ML205")
    no_fix(tmp_path, "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04 AS base\nFROM base AS build\nRUN echo\n"
                     "FROM base\nCOPY --from=build /etc/hostname /x\n", "ML205")


def test_ml205_edits_the_tag_only(tmp_path):
    edited = fix(tmp_path, "FROM --platform=linux/amd64 nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04 AS app\n", "ML205")
    assert edited["Dockerfile"] == "FROM --platform=linux/amd64 nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 AS app\n"


# --- ML206 --------------------------------------------------------------------------------------------------

def test_ml206_moves_torch_out_of_a_mixed_call(tmp_path):
    dockerfile = ("FROM python:3.11-slim\nRUN pip install --no-cache-dir -q \"fastapi==0.115.0\" torch==2.5.1 "
                  "'torchvision>=0.20' uvicorn\n")
    edited = fix(tmp_path, dockerfile, "ML206")
    assert edited["Dockerfile"] == (
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir -q --index-url https://download.pytorch.org/whl/cpu "
        "torch==2.5.1+cpu 'torchvision>=0.20' && pip install --no-cache-dir -q \"fastapi==0.115.0\" uvicorn\n")


def test_ml206_requirements_file_keeps_the_file(tmp_path):
    files = {"requirements.txt": "torch==2.5.1 ; sys_platform == 'linux'\nfastapi==0.115.0\n"}
    edited = fix(tmp_path, "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN uv pip install --system -r "
                           "requirements.txt\n", "ML206", files)
    assert list(edited) == ["Dockerfile"]
    quoted = "'torch==2.5.1+cpu ; sys_platform == '\"'\"'linux'\"'\"''"  # shlex.quote of the line
    assert (f"uv pip install --system --index-url https://download.pytorch.org/whl/cpu {quoted} && "
            "uv pip install --system -r") in edited["Dockerfile"]


@pytest.mark.parametrize("run", [
    "pip install --upgrade -r requirements.txt",  # would replace the CPU build
    "pip install -c constraints.txt -r requirements.txt",  # unpinned torch, constrained elsewhere
    "test -f x || pip install -r requirements.txt",
])
def test_ml206_refusals(tmp_path, run):
    files = {"requirements.txt": "torch\n", "constraints.txt": "torch==2.4.1\n"}
    no_fix(tmp_path, f"FROM python:3.11-slim\nCOPY . .\nRUN {run}\n", "ML206", files)


def test_ml206_custom_index_option(tmp_path):
    write(tmp_path, "FROM python:3.11-slim\nRUN pip install torch\n")
    config = Config(select=["ML206"], options={"ML206": {"cpu_index": "https://mirror.example.com/cpu"}})
    finding = lint_source(read_source(str(tmp_path / "Dockerfile")), config, tmp_path).findings[0]
    assert finding.fix.edits[0].text == " --index-url https://mirror.example.com/cpu"


# --- ML507 --------------------------------------------------------------------------------------------------

def test_ml507_refuses_absolute_pip_and_other_uses(tmp_path):
    no_fix(tmp_path, "FROM python:3.11-slim AS b\nRUN /usr/local/bin/pip install --user x==1\n"
                     "FROM python:3.11-slim\nCOPY --from=b /root/.local /root/.local\nUSER nobody\n", "ML507")
    no_fix(tmp_path, "FROM python:3.11-slim AS b\nRUN pip install --user x==1\nRUN /root/.local/bin/x --init\n"
                     "FROM python:3.11-slim\nCOPY --from=b /root/.local /root/.local\nUSER nobody\n", "ML507")


def test_ml507_venv_on_another_base_sees_its_packages(tmp_path):
    edited = fix(tmp_path, "FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime AS b\nRUN pip install --user x==1\n"
                           "FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\n"
                           "COPY --from=b /root/.local /root/.local\nUSER nobody\n", "ML507")
    assert "python3 -m venv --system-site-packages /opt/venv && pip install x==1" in edited["Dockerfile"]


# --- ML211 --------------------------------------------------------------------------------------------------

def test_ml211_creates_with_the_dockerfiles_line_endings(tmp_path):
    edited = fix(tmp_path, "FROM python:3.11-slim\r\nCOPY . /app\r\n", "ML211", {"venv/pyvenv.cfg": "home\n"})
    assert edited[".dockerignore"] == ".git\r\n**/__pycache__\r\n**/.ipynb_checkpoints\r\n**/.pytest_cache\r\n" \
                                      "**/.mypy_cache\r\nvenv\r\n"


def test_ml211_extends_a_file_without_final_newline(tmp_path):
    files = {".dockerignore": "*.md", "src/__pycache__/a.pyc": "x", "node_modules/x/index.js": "x"}
    edited = fix(tmp_path, "FROM node:20\nCOPY . /app\nRUN npm ci\n", "ML211", files)
    assert edited[".dockerignore"] == "*.md\nnode_modules\n**/__pycache__\n"


def test_ml211_extends_the_dockerfiles_own_ignore_file(tmp_path):
    files = {"Dockerfile.dockerignore": "*.md\n", "src/__pycache__/a.pyc": "x"}
    edited = fix(tmp_path, "FROM python:3.11-slim\nCOPY . /app\n", "ML211", files)
    assert edited == {"Dockerfile.dockerignore": "*.md\n**/__pycache__\n"}


@pytest.mark.parametrize("dockerfile,files", [
    # a COPY names the virtualenv: it is not junk, and the rest is already ignored
    ("FROM python:3.11-slim\nCOPY . /app\nCOPY .venv /venv\n", {".dockerignore": "*.md\n", ".venv/pyvenv.cfg": "x"}),
    # node_modules that no RUN reinstalls is part of the app
    ("FROM node:20\nCOPY . /app\n", {".dockerignore": "*.md\n", "node_modules/x/index.js": "x"}),
    # the version plugin reads .git
    ("FROM python:3.11-slim\nCOPY . /app\n", {".dockerignore": "*.md\n", ".git/HEAD": "ref",
                                              "pyproject.toml": "[tool.setuptools_scm]\n"}),
])
def test_ml211_needed_junk_is_neither_reported_nor_ignored(tmp_path, dockerfile, files):
    write(tmp_path, dockerfile, files)
    assert lint(tmp_path, "ML211") == []


def test_ml211_refuses_with_exceptions(tmp_path):
    no_fix(tmp_path, "FROM python:3.11-slim\nCOPY . /app\n",
           "ML211", {".dockerignore": "data\n!data/keep\n", ".venv/pyvenv.cfg": "x"})


def test_ml211_never_excludes_a_named_path(tmp_path):
    files = {"app/__pycache__/cached.pyc": "x", ".git/HEAD": "ref"}
    edited = fix(tmp_path, "FROM python:3.11-slim\nCOPY app/__pycache__/cached.pyc /c/\nCOPY . /app\n", "ML211", files)
    assert "**/__pycache__" not in edited[".dockerignore"] and ".git" in edited[".dockerignore"]


# --- ML301 --------------------------------------------------------------------------------------------------

REQUIREMENTS = {"requirements.txt": "torch==2.4.1\n", "app.py": "print()\n"}


def test_ml301_crlf_and_no_final_newline(tmp_path):
    dockerfile = "FROM python:3.11-slim\r\nWORKDIR /app\r\nCOPY . .\r\nRUN pip install -r requirements.txt"
    edited = fix(tmp_path, dockerfile, "ML301", REQUIREMENTS)
    assert edited["Dockerfile"] == ("FROM python:3.11-slim\r\nWORKDIR /app\r\nCOPY requirements.txt ./\r\n"
                                    "RUN pip install -r requirements.txt\r\nCOPY . .")


@pytest.mark.parametrize("between", [
    "WORKDIR /srv",  # COPY . . would land elsewhere below it
    "RUN rm -rf /app/tmp",  # works on the copied folder
    "RUN python generate.py",  # may read the sources
    "ENV APP=/x",  # the COPY does not use it: the only one the COPY can move below
])
def test_ml301_intermediate_instructions(tmp_path, between):
    dockerfile = f"FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n{between}\nRUN pip install -r requirements.txt\n"
    write(tmp_path, dockerfile, REQUIREMENTS)
    findings = lint(tmp_path, "ML301")
    assert len(findings) == 1
    assert (findings[0].fix is not None) is (between == "ENV APP=/x")


def test_ml301_poetry_two_step(tmp_path):
    files = {"pyproject.toml": "[tool.poetry]\nname = 'svc'\n", "poetry.lock": "", "svc/__init__.py": ""}
    dockerfile = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN poetry install --only main\n"
    edited = fix(tmp_path, dockerfile, "ML301", files)
    assert edited["Dockerfile"] == ("FROM python:3.11-slim\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\n"
                                    "RUN poetry install --no-root --only main\nCOPY . .\n"
                                    "RUN poetry install --only main\n")


def test_ml301_refuses_path_dependencies(tmp_path):
    files = {"pyproject.toml": "[project]\nname='a'\n[tool.uv.sources]\nlib = { path = 'libs/lib' }\n",
             "uv.lock": "", "libs/lib/pyproject.toml": ""}
    no_fix(tmp_path, "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen\n", "ML301", files)


def test_ml301_safe_and_unsafe(tmp_path):
    write(tmp_path, "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt "
                    "&& python -c 'import torch'\n", REQUIREMENTS)
    assert lint(tmp_path, "ML301")[0].fix.applicability == Applicability.UNSAFE
    write(tmp_path, "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN apt-get update && pip install -r "
                    "requirements.txt\n", REQUIREMENTS)
    assert lint(tmp_path, "ML301")[0].fix.applicability == Applicability.SAFE


# --- ML204 --------------------------------------------------------------------------------------------------

def test_ml204_crlf_without_final_newline(tmp_path):
    edited = fix(tmp_path, "FROM python:3.11-slim\r\nRUN apt-get update && apt-get install -y gcc libpq5\r\n"
                           "RUN pip install psycopg2==2.9.10", "ML204")
    assert edited["Dockerfile"] == (
        "FROM python:3.11-slim AS builder\r\nRUN apt-get update && apt-get install -y gcc libpq5\r\n"
        "ENV VIRTUAL_ENV=/opt/venv PATH=\"/opt/venv/bin:$PATH\"\r\n"
        "RUN python3 -m venv /opt/venv && pip install psycopg2==2.9.10\r\n\r\n"
        "FROM python:3.11-slim\r\nRUN apt-get update && apt-get install -y libpq5\r\n"
        "COPY --from=builder /opt/venv /opt/venv\r\nENV VIRTUAL_ENV=/opt/venv PATH=\"/opt/venv/bin:$PATH\"")


@pytest.mark.parametrize("extra", [
    "RUN wget https://example.com/model.bin -O /models/model.bin",  # the runtime stage would miss the file
    "USER app\nRUN pip install x==1",  # pip as a user cannot write the venv
    "RUN pip install --user x==1",
    "RUN pip install x==1\nENV PATH=/usr/bin:/bin",  # the venv would leave PATH
    "COPY . /",
])
def test_ml204_refusals(tmp_path, extra):
    no_fix(tmp_path, f"FROM python:3.11-slim\nRUN apt-get update && apt-get install -y gcc\n{extra}\n", "ML204")


def test_ml204_needs_a_venv_module(tmp_path):
    dockerfile = "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y python3-pip gcc\nRUN pip install x==1\n"
    no_fix(tmp_path, dockerfile, "ML204")
    edited = fix(tmp_path, dockerfile.replace("python3-pip", "python3-pip python3-venv"), "ML204")
    assert "RUN python3 -m venv --system-site-packages /opt/venv && pip install x==1\n" in edited["Dockerfile"]
    assert edited["Dockerfile"].endswith("FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y python3-pip "
                                         "python3-venv\nCOPY --from=builder /opt/venv /opt/venv\n"
                                         "ENV VIRTUAL_ENV=/opt/venv PATH=\"/opt/venv/bin:$PATH\"\n")
