"""bench/agreement.py: its divergence classes are documented, recognise what they claim to, and the existing
rules that cover hadolint codes agree with hadolint on the corpus (when hadolint and the corpus are here)."""
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, corpus_dir

# The hadolint codes of the rules that existed before the hadolint-parity work (ML101, ML102, ML104, ML201,
# ML202, ML203, ML302, ML305, ML501, ML502, ML506, ML601).
EXISTING_CODES = ("DL3002", "DL3004", "DL3006", "DL3007", "DL3008", "DL3009", "DL3013", "DL3015", "DL3020",
                  "DL3025", "DL3042", "DL3059", "DL3064")


def _load_agreement():
    spec = importlib.util.spec_from_file_location("agreement", ROOT / "bench" / "agreement.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["agreement"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


agreement = _load_agreement()


def test_every_divergence_class_has_a_section():
    doc = (ROOT / "docs" / "hadolint-differences.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## ([a-z0-9-]+)\s*$", doc, re.MULTILINE))
    assert set(agreement.DIVERGENCES) <= sections, set(agreement.DIVERGENCES) - sections


def test_required_sections():
    doc = (ROOT / "docs" / "hadolint-differences.md").read_text(encoding="utf-8")
    assert "## invalid-base-image-platform" in doc and "ML731" in doc
    assert "InvalidDefinitionDescription" in doc
    for code in ("DL3005", "DL3017", "DL3031", "DL3039", "DL4002"):
        assert code in doc


def _case(tmp_path: Path, text: str, dlint=()) -> "agreement.Case":
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    case = agreement.Case(path, tmp_path)
    agreement.instruction_line(case, 1)  # parses the Dockerfile
    case.dlint = set(dlint)
    return case


@pytest.mark.parametrize("text, code, line, expected", [
    # hadolint counts a RUN with && (or a $(…)) as several commands and stays silent after or before it
    ("FROM python:3.11\nRUN apt-get update && apt-get install -y git\nRUN ln -s a b\n", "ML302", 3,
     "consecutive-run-counting"),
    ('FROM python:3.11\nRUN a\nRUN pip install --prefix "$(python -c 1)" x==1\n', "ML302", 3,
     "consecutive-run-counting"),
    ("FROM python:3.11\nRUN a\nRUN b\n", "ML302", 3, None),
    # pip that hadolint does not recognise
    ("FROM python:3.11\nRUN /opt/conda/bin/pip install torchelastic\n", "ML102", 2, "pip-spellings"),
    ("FROM python:3.11\nRUN uv pip install --system torch==2.4.1\n", "ML201", 2, "pip-spellings"),
    ("FROM python:3.11\nRUN sudo pip install foo\n", "ML102", 2, "pip-spellings"),
    ("FROM python:3.11\nRUN X=1 pip install foo\n", "ML102", 2, None),
    ("FROM python:3.11\nRUN pip install -r r.txt foo\n", "ML102", 2, "requirements-with-packages"),
    ("FROM python:3.11\nRUN pip install 'foo>=1'\n", "ML102", 2, "exact-pins"),
    # variables hadolint takes for unpinned package names
    ("FROM python:3.11\nRUN pip install $PKGS\n", "DL3013", 2, "variables-in-package-lists"),
    ("FROM debian:12\nRUN apt-get install -y ${PKG}\n", "DL3008", 2, "variables-in-package-lists"),
    ("FROM debian:12\nRUN apt-get install -y curl\n", "DL3008", 2, None),
    ("FROM python:3.11\nRUN pip install '.[all]'\n", "DL3013", 2, "local-project-installs"),
    # apt front ends and cleanups
    ("FROM debian:12\nRUN apt install -y git\n", "ML104", 2, "apt-front-end"),
    ("FROM debian:12\nRUN apt-get install -y git\n", "ML104", 2, None),
    ("FROM debian:12\nRUN apt-get install -y git/bookworm\n", "ML104", 2, "apt-release-pins"),
    ("FROM debian:12\nRUN apt-get update && apt-get install -y git && rm -rf /tmp/x\n", "ML202", 2,
     "apt-lists-any-rm"),
    # pip caches kept out of the layer without --no-cache-dir
    ("FROM python:3.11\nRUN pip install foo==1 && pip cache purge\n", "DL3042", 2, "pip-cache-handled"),
    ("FROM python:3.11\nRUN pip install --no-cache foo==1\n", "DL3042", 2, "pip-cache-handled"),
    # builder stages
    ("FROM python:3.11 AS b\nRUN pip install foo==1\nFROM python:3.11\nCOPY --from=b /x /x\n", "DL3042", 2,
     "stage-aware-size-rules"),
    # base images and CMDs
    ("FROM python:3.11 AS base-amd64\nFROM base-${TARGETARCH}\n", "DL3006", 2, "arg-templated-base-images"),
    ("FROM python:3.11 AS builder\nFROM Builder\n", "DL3006", 2, "stage-names-case-insensitive"),
    ("FROM python:3.11\nHEALTHCHECK CMD curl -f http://x || exit 1\nCMD [\"app\"]\n", "DL3025", 2,
     "effective-cmd-only"),
    ("FROM python:3.11\nCMD exec gunicorn app:app\n", "DL3025", 2, "shell-form-that-execs"),
    ("FROM python:3.11\nCMD gunicorn app:app\n", "DL3025", 2, None),
    ("FROM python:3.11\nENV TIKTOKEN_CACHE_DIR=/c\n", "DL3064", 2, "secret-name-matching"),
    ("FROM python:3.11\nENV MY_TOKEN=x\n", "DL3064", 2, None),
    ("FROM python:3.11\nCMD [\"app\"]\n", "ML501", 1, "root-without-user"),
    ("FROM python:3.11\nUSER root\n", "ML501", 2, None),
])
def test_classify(tmp_path, text, code, line, expected):
    assert agreement.classify(_case(tmp_path, text), code, line) == expected


def test_apt_update_alone_needs_ml303(tmp_path):
    text = "FROM debian:12\nRUN apt-get update\n"
    assert agreement.classify(_case(tmp_path, text, {("ML303", 2)}), "DL3009", 2) == "apt-update-alone"
    assert agreement.classify(_case(tmp_path, text), "DL3009", 2) is None


@pytest.mark.skipif(shutil.which("hadolint") is None or corpus_dir() is None,
                    reason="needs hadolint and DLINT_CORPUS")
def test_dlint_agrees_with_hadolint_where_hadolint_fires():
    """The issue's target: at least 95% of hadolint's findings are dlint's too, or a documented divergence;
    every hadolint code maps to a dlint rule; most agree at the very same instruction."""
    cases = agreement.corpus_cases(corpus_dir())
    agreement.run_dlint(cases)
    agreement.run_hadolint(cases)
    result = agreement.study(cases)
    owned = {code: counts for code, counts in result["per_code"].items() if code in EXISTING_CODES}
    assert agreement.agreement(owned) >= 0.95, owned
    assert result["agreement"] >= 0.95, result["per_code"]
    assert not any(counts.get("unmapped") for counts in result["per_code"].values()), result["per_code"]
    assert result["same_instruction"] >= 0.7
