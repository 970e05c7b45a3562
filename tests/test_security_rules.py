"""The helpers behind the security rules ML501–ML507 (dockerlint_ml/secrets.py and the rules' own logic)."""
import pytest

from dockerlint_ml.config import Config
from dockerlint_ml.engine import lint_source
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import parse
from dockerlint_ml.secrets import (base_runs_as_nonroot, commit_pinned, final_user, is_reference, is_secret_name,
                                   reads_program_from_stdin, settings)
from dockerlint_ml.shell import parse_script
from dockerlint_ml.text import SourceText


def dockerfile(text):
    return parse(SourceText("Dockerfile", text))


def lint(text, code, tmp_path, severity=None):
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    config = Config(select=[code], severity={code: severity} if severity else {})
    return lint_source(SourceText(str(path), text), config, tmp_path).findings


def cmd(text):
    return parse_script(text, 0)[0]


# --- users ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("image,nonroot", [
    ("gcr.io/distroless/python3-debian12:nonroot", True),
    ("gcr.io/distroless/static:debug-nonroot", True),
    ("gcr.io/distroless/python3-debian12", False),
    ("cgr.dev/chainguard/python:latest", True),
    ("cgr.dev/chainguard/python:latest-dev", False),
    ("quay.io/jupyter/pytorch-notebook:2024-10-07", True),
    ("jupyter/base-notebook", True),
    ("python:3.11-slim", False),
    ("nvidia/cuda:12.4.1-runtime-ubuntu22.04", False),
])
def test_base_runs_as_nonroot(image, nonroot):
    assert base_runs_as_nonroot(dockerfile(f"FROM {image}\n").final_stage.base) is nonroot


@pytest.mark.parametrize("text,root", [
    ("FROM python:3.11\n", True),
    ("FROM python:3.11\nUSER app\n", False),
    ("FROM python:3.11\nUSER app\nUSER root:root\n", True),
    ("FROM python:3.11\nUSER 0\n", True),
    ("FROM python:3.11\nUSER 1000:0\n", False),
    ("FROM python:3.11\nARG U=app\nUSER ${U}\n", False),
    ("FROM python:3.11\nARG U=root\nUSER $U\n", True),
    ("FROM python:3.11\nARG U\nUSER $U\n", None),  # set with --build-arg: unknown
    ("ARG BASE\nFROM $BASE\n", None),
    ("ARG BASE=<jupyter>\nFROM $BASE\n", None),
    ("FROM python:3.11 AS base\nUSER app\nFROM base\n", False),  # inherited through FROM <stage>
    ("FROM python:3.11 AS base\nUSER app\nFROM python:3.11\n", True),  # not the final lineage
    ("FROM python:3.11 AS base\nUSER app\nFROM base AS mid\nUSER root\nFROM mid\n", True),
])
def test_final_user(text, root):
    assert final_user(dockerfile(text)).is_root is root


# --- ARG / ENV --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "WANDB_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "NGC_API_KEY", "DB_PASSWORD", "JWT_SECRET",
    "DJANGO_SECRET_KEY", "SSH_PRIVATE_KEY", "hf_token", "PASSWORD", "KAGGLE_KEY",
])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "TOKENIZERS_PARALLELISM", "HF_TOKEN_PATH", "OAUTH_TOKEN_URL", "DB_PASSWORD_FILE", "MAX_TOKENS", "MAX_NEW_TOKEN",
    "NUM_TOKENS", "PAD_TOKEN", "EOS_TOKEN", "TOKENIZER_TOKEN", "AWS_ACCESS_KEY_ID", "HF_HOME", "SECRET_NAME",
])
def test_not_secret_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize("value,reference", [
    ("$HF_TOKEN", True), ("${HF_TOKEN}", True), ("${HF_TOKEN:-}", True), ("${HF_TOKEN-}", True),
    ("${HF_TOKEN:-hf_abc}", False), ("hf_$X", False), ("abc", False), ("$A$B", False),
])
def test_is_reference(value, reference):
    assert is_reference(value) is reference


def test_settings_locate_each_variable():
    df = dockerfile('FROM x\nENV A=1 B="two words"\nENV C three words\nARG D E=5\n')
    text = df.source.text
    found = [(s.name, s.value, text[s.start:s.end]) for i in df.instructions for s in settings(i)]
    assert found == [("A", "1", "A=1"), ("B", "two words", 'B="two words"'), ("C", "three words", "C three words"),
                     ("D", None, "D"), ("E", "5", "E=5")]


def test_ml502_severity_per_finding_and_configured_override(tmp_path):
    text = "FROM x\nARG HF_TOKEN\nENV WANDB_API_KEY=abc\n"
    assert [f.severity for f in lint(text, "ML502", tmp_path)] == [Severity.WARNING, Severity.ERROR]
    overridden = lint(text, "ML502", tmp_path, severity=Severity.INFO)
    assert [f.severity for f in overridden] == [Severity.INFO, Severity.INFO]


# --- interpreters and downloads ---------------------------------------------------------------------------

@pytest.mark.parametrize("text,stdin", [
    ("sh", True), ("bash -", True), ("bash -s -- -y", True), ("sudo -E bash", True), ("python3", True),
    ("python3.11 -u -", True), ("perl", True), ("/bin/zsh -e", True),
    ("sh install.sh", False), ("bash -c 'echo'", False), ("python3 -c 'print(1)'", False), ("python -m pip", False),
    ("python3 script.py", False), ("perl -e 1", False), ("tar xz", False), ("gunzip", False),
])
def test_reads_program_from_stdin(text, stdin):
    assert reads_program_from_stdin(cmd(text)) is stdin


@pytest.mark.parametrize("url,pinned", [
    ("https://raw.githubusercontent.com/o/r/0123456789abcdef0123456789abcdef01234567/install.sh", True),
    ("https://huggingface.co/o/r/resolve/0123456789abcdef0123456789abcdef01234567/model.bin", True),
    ("https://huggingface.co/o/r/resolve/main/model.bin", False),
    ("https://0123456789abcdef0123456789abcdef01234567.example.com/x", False),  # a host, not a path segment
    ("https://example.com/x?rev=0123456789abcdef0123456789abcdef01234567", False),
])
def test_commit_pinned(url, pinned):
    assert commit_pinned(url) is pinned


def test_ml503_loopback_exempt_and_other_hosts_flagged(tmp_path):
    text = ("FROM x\nRUN pip install -i http://127.0.0.1:3141/simple --trusted-host 127.0.0.1 a==1\n"
            "RUN pip install -i http://[::1]:3141/simple --trusted-host [::1]:3141 b==1\n"
            "RUN pip install -i http://mirror/simple --trusted-host mirror:8080 c==1\n")
    assert [f.line for f in lint(text, "ML503", tmp_path)] == [4, 4]


def test_ml503_uv_reads_only_uv_variables(tmp_path):
    text = ("FROM x\nRUN PIP_EXTRA_INDEX_URL=https://a uv pip install --system a==1\n"
            "RUN UV_INDEX_STRATEGY=unsafe-best-match uv pip install --system --extra-index-url https://b b==1\n")
    assert [f.line for f in lint(text, "ML503", tmp_path)] == [3]


def test_ml505_python_call_position_with_non_ascii_code(tmp_path):
    text = 'FROM x\nRUN python3 -c "print(\'é\'); snapshot_download(\'org/m\')"\n'
    (finding,) = lint(text, "ML505", tmp_path)
    line = text.splitlines()[1]
    assert line[finding.column - 1:finding.end_column - 1] == "snapshot_download('org/m')"


def test_ml505_tab_stripped_heredoc(tmp_path):
    text = "FROM x\nRUN python3 <<-EOF\n\tif True:\n\t    hf_hub_download('org/m', 'f.bin')\n\tEOF\n"
    (finding,) = lint(text, "ML505", tmp_path)
    assert finding.line == 4 and text.splitlines()[3][finding.column - 1:].startswith("hf_hub_download(")


def test_ml504_reports_pipeline_span(tmp_path):
    text = "FROM x\nRUN apt-get update && curl -fsSL https://x/i.sh | sudo bash && echo done\n"
    (finding,) = lint(text, "ML504", tmp_path)
    line = text.splitlines()[1]
    assert line[finding.column - 1:finding.end_column - 1] == "curl -fsSL https://x/i.sh | sudo bash"
