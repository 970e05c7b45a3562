"""dockerlint_ml.layers (paths a RUN creates and deletes, package caches) and the rules built on it:
ML207, ML208, ML210, ML304, ML305."""
import gzip
import io
import tarfile

import pytest

from dockerlint_ml.checks.ml305 import _archive_content
from dockerlint_ml.config import Config, from_mapping
from dockerlint_ml.engine import lint_source
from dockerlint_ml.layers import cache_kept, cache_use, creations, resolve, run_steps
from dockerlint_ml.paths import glob_relation as relation
from dockerlint_ml.model import parse
from dockerlint_ml.text import SourceText, read_source


def run_instruction(text: str, line: int = 2):
    """The instruction starting on `line` of a Dockerfile."""
    df = parse(SourceText("Dockerfile", text))
    return next(i for i in df.instructions if i.start_line == line)


def lint(tmp_path, dockerfile: str, code: str, files=None, options=None):
    for rel, body in (files or {}).items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body if isinstance(body, bytes) else body.encode())
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    config = from_mapping({"options": {code: options}}) if options else Config()
    config.select = [code]
    return lint_source(read_source(str(path)), config, tmp_path).findings


@pytest.mark.parametrize("pattern,path,expected", [
    ("/tmp/x.tgz", "/tmp/x.tgz", ""),
    ("/tmp", "/tmp/x.tgz", ""),
    ("/tmp/*", "/tmp/x.tgz", ""),
    ("/tmp/*.tgz", "/tmp/x.tgz", ""),
    ("/tmp/*", "/tmp/.hidden", None),  # a shell glob skips dotfiles
    ("/tmp/.*", "/tmp/.hidden", ""),
    ("/app/.git", "/app", ".git"),  # inside what was created
    ("/app/*", "/app", "*"),
    ("/opt/other", "/opt/model", None),
    ("/var/lib/apt/lists/*", "/var/lib/apt/lists", "*"),
])
def test_relation(pattern, path, expected):
    assert relation(pattern, path) == expected


def test_resolve_expands_home_variables_and_relative_paths():
    assert resolve("~/x.sh", {}, "/app") == "/root/x.sh"
    assert resolve("~/x.sh", {"HOME": "/home/ray"}, None) == "/home/ray/x.sh"
    assert resolve("$DIR/a/../b", {"DIR": "/opt"}, None) == "/opt/b"
    assert resolve("x.zip", {}, "/srv") == "/srv/x.zip"
    assert resolve("x.zip", {}, None) is None  # unknown working directory
    assert resolve("$UNSET/x", {}, "/") is None
    assert resolve("$EMPTY/x", {"EMPTY": ""}, "/") is None  # `ARG EMPTY`: given at build time
    assert resolve("$(pwd)/x", {}, "/") is None


def test_run_steps_follow_cd_and_shell_variables():
    run = run_instruction("FROM python:3.11\n"
                          "RUN F=a.zip && cd /tmp && rm -f $F && cd sub && rm -rf b c && cd - && rm d\n")
    deleted = [(d.pattern, d.shown) for step in run_steps(run, "/app") for d in step.deletions]
    assert deleted == [("/tmp/a.zip", "rm -f $F"), ("/tmp/sub/b", "rm -rf b"), ("/tmp/sub/c", "rm -rf c")]


def test_cache_purges_are_deletions_by_kind():
    run = run_instruction("FROM python:3.11\nRUN pip cache purge && python -m pip cache purge && uv cache clean "
                          "&& conda clean -afy && mamba clean -tpy && conda clean -iy && apt-get clean\n")
    kinds = [d.kind for step in run_steps(run) for d in step.deletions]
    assert kinds == ["pip", "pip", "uv", "conda", "conda", "apt-archives"]


@pytest.mark.parametrize("command,paths", [
    ("curl -fsSL -o /tmp/m.tgz https://x/m.tgz", [("download", "/tmp/m.tgz")]),
    ("curl -fsSLO https://x/dl/m.tgz?sig=1", [("download", "/srv/m.tgz")]),
    ("curl -fsSL https://x/install.sh | sh", []),
    ("wget -q https://x/get-pip.py", [("download", "/srv/get-pip.py")]),
    ("wget -qO- https://x/a.tgz | tar xz", []),
    ("wget -P /tmp https://x/a.tgz", []),  # into a directory: not followed
    ("tar xzf /tmp/openmpi-4.1.6.tar.gz", [("extract", "/srv/openmpi-4.1.6")]),
    ("tar -C /opt/tool -xf tool.tar", [("extract", "/opt/tool"), ("extract", "/opt/tool/tool")]),
    ("tar -xzf node.tgz -C /usr/local --strip-components=1", [("extract", "/usr/local")]),
    ("unzip -q awscliv2.zip", [("extract", "/srv/awscliv2")]),
    ("unzip -o protoc.zip -d /usr/local bin/protoc", [("extract", "/usr/local"), ("extract", "/usr/local/protoc")]),
    ("git clone --depth 1 -b v1 https://github.com/org/repo.git", [("clone", "/srv/repo")]),
    ("git -C /tmp clone git@github.com:org/kernels.git /opt/k", [("clone", "/opt/k")]),
    ("apt-get update", [("apt-lists", "/var/lib/apt/lists")]),
    ("add-apt-repository -y ppa:deadsnakes/ppa", [("apt-lists", "/var/lib/apt/lists")]),
    ("pip install torch==2.4.1", [("pip", "/root/.cache/pip")]),
    ("pip install --no-cache-dir torch==2.4.1", []),
    ("pip install --no-index /wheels/*.whl", []),
    ("conda install -y numpy", [("conda", "/opt/conda/pkgs")]),
])
def test_creations(command, paths):
    run = run_instruction(f"FROM python:3.11\nWORKDIR /srv\nRUN {command}\n", line=3)
    found = [(c.kind, p) for step in run_steps(run, "/srv") for c in creations(run, step) for p in c.paths]
    assert found == paths


def test_nothing_under_a_mount_is_created():
    run = run_instruction("FROM python:3.11\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update "
                          "&& curl -o /tmp/dl/x.tgz https://x/x.tgz\n")
    run_mounted = run_instruction("FROM python:3.11\nRUN --mount=type=tmpfs,target=/tmp/dl curl -o /tmp/dl/x.tgz u\n")
    assert [c.kind for s in run_steps(run) for c in creations(run, s)] == ["download"]
    assert [c for s in run_steps(run_mounted) for c in creations(run_mounted, s)] == []


@pytest.mark.parametrize("dockerfile,directory", [
    ("RUN pip install x", "/root/.cache/pip"),
    ("ENV HOME=/home/app\nRUN pip install x", "/home/app/.cache/pip"),
    ("ENV XDG_CACHE_HOME=/cache\nRUN pip install x", "/cache/pip"),
    ("RUN PIP_CACHE_DIR=/pc pip install x", "/pc"),
    ("RUN pip install --cache-dir=/c x", "/c"),
    ("RUN uv pip install --system x", "/root/.cache/uv"),
    ("ENV UV_CACHE_DIR=/uv\nRUN uv sync", "/uv"),
    ("RUN /opt/miniforge/bin/mamba install -y x", "/opt/miniforge/pkgs"),
    ("ENV HOME=/home/ray\nRUN $HOME/anaconda3/bin/conda install -y x", "/home/ray/anaconda3/pkgs"),
    ("ENV CONDA_DIR=/conda\nRUN conda env create -f env.yml", "/conda/pkgs"),
    ("ENV CONDA_PKGS_DIRS=/pk,/other\nRUN conda create -n a x", "/pk"),
    ("RUN micromamba install -r /opt/mm -y x", "/opt/mm/pkgs"),
    ("ENV MAMBA_ROOT_PREFIX=/opt/conda\nRUN micromamba install -y x", "/opt/conda/pkgs"),
])
def test_cache_directory(dockerfile, directory):
    text = f"FROM python:3.11\n{dockerfile}\n"
    run = parse(SourceText("Dockerfile", text)).instructions[-1]
    assert cache_use(run, run.commands[0]).directory == directory


@pytest.mark.parametrize("run,kept", [
    ("pip install x", True),
    ("pip install x && pip cache purge", False),
    ("pip install x && rm -rf ~/.cache", False),
    ("pip cache purge && pip install x", True),  # purged before it was filled
    ("--mount=type=cache,target=/root/.cache/pip pip install x", False),
    ("--mount=type=cache,target=/var/cache/apt pip install x", True),
    ("PIP_NO_CACHE_DIR=0 pip install x", False),  # pip reads any boolean as "off"
    ("conda install -y x && conda clean -afy", False),
    ("conda install -y x && conda clean -ty", True),
    ("conda install -y x && rm -rf /opt/conda/pkgs/*", False),
    ("--mount=type=cache,target=/home/me/.mamba/pkgs micromamba install -y x", False),
])
def test_cache_kept(run, kept):
    instruction = run_instruction(f"FROM python:3.11\nRUN {run}\n")
    index = next(i for i, c in enumerate(instruction.commands) if cache_use(instruction, c))
    assert (cache_kept(instruction, index) is not None) == kept


def test_ml207_measures_copied_context_files(tmp_path):
    dockerfile = "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN rm -rf .git data/raw build\n"
    files = {".git/objects/pack.pack": b"x" * 3000, "data/raw/a.csv": b"y" * 500, "app.py": "print(1)\n"}
    found = lint(tmp_path, dockerfile, "ML207", files, {"min_size_mb": 0.001})
    assert [f.message.split(":")[0] for f in found] == ["`rm -rf .git` deletes /app/.git, which COPY on line 3 "
                                                         "brought in (3.0 KB)"]
    assert lint(tmp_path, dockerfile, "ML207") == []  # 3 KB is under the default 1 MB


def test_ml207_apt_lists_removed_in_the_same_run_or_later(tmp_path):
    same_run = ("FROM debian:13\nRUN apt-get update && apt-get install -y curl && apt-get dist-clean\n"
                "RUN rm -rf /var/lib/apt/lists/*\n")
    later = ("FROM debian:13\nRUN apt-get update && apt-get install -y curl\n"
             "RUN find /var/lib/apt/lists -type f -delete\n")
    assert lint(tmp_path, same_run, "ML207") == []
    assert [(f.line, f.message.split(":")[0]) for f in lint(tmp_path, later, "ML207")] == [
        (3, "`find /var/lib/apt/lists -type f -delete` deletes the apt package lists that `apt-get update` on line 2 "
            "wrote")]


def test_ml207_builder_stage_is_not_the_image(tmp_path):
    dockerfile = ("FROM python:3.11 AS builder\nRUN curl -o /tmp/a.tgz https://x/a.tgz\nRUN rm /tmp/a.tgz\n"
                  "FROM python:3.11\nCOPY --from=builder /usr/local /usr/local\n")
    assert lint(tmp_path, dockerfile, "ML207") == []
    final = dockerfile.replace("FROM python:3.11\n", "FROM builder\n")
    assert [f.line for f in lint(tmp_path, final, "ML207")] == [3]


def test_archive_content_sniffing(tmp_path):
    gz = tmp_path / "layer"
    gz.write_bytes(gzip.compress(b"data"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("a.txt")
        tar.addfile(info, io.BytesIO(b""))
    plain_tar = tmp_path / "rootfs"
    plain_tar.write_bytes(buffer.getvalue())
    text = tmp_path / "notes"
    text.write_text("hello")
    assert _archive_content(gz) and _archive_content(plain_tar) and not _archive_content(text)
    assert not _archive_content(tmp_path / "missing")


def test_ml305_sniffs_context_archives(tmp_path):
    files = {"rootfs": gzip.compress(b"data"), "notes": "hello"}
    found = lint(tmp_path, "FROM scratch\nADD rootfs /\nADD notes /\n", "ML305", files)
    assert [f.line for f in found] == [3]


def test_ml210_counts_only_files_under_the_copied_folder(tmp_path):
    files = {"models/a.pt": b"1" * 2000, "models-old/b.pt": b"2" * 9000, "models.pt": b"3" * 7000,
             "models/sub/c.safetensors": b"4" * 1000, "models/readme.md": b"5" * 5000}
    found = lint(tmp_path, "FROM python:3.11\nCOPY models /m\n", "ML210", files, {"threshold_mb": 0.001})
    assert len(found) == 1
    assert "3.0 KB" in found[0].message and "models/a.pt 2.0 KB, models/sub/c.safetensors 1.0 KB" in found[0].message
    assert lint(tmp_path, "FROM python:3.11\nCOPY models /m\n", "ML210", options={"threshold_mb": 0.003}) == []


def test_ml304_one_finding_per_run_and_cache(tmp_path):
    dockerfile = "FROM python:3.11\nRUN pip install a && pip install b && uv pip install --system c\n"
    found = lint(tmp_path, dockerfile, "ML304")
    assert [f.message.split(" runs")[0] for f in found] == ["pip install", "uv pip install"]
