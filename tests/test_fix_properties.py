"""Properties of `dlint fix` with the real rules, on generated Dockerfiles (hypothesis) and on every corpus file.

For the Dockerfile x and F = fix at a level (SAFE, and UNSAFE as `--unsafe-fixes`), with every rule selected:
1. F stops at a fixpoint (not at a cycle or the pass limit; a file BuildKit rejects is left alone), and
   F(F(x)) == F(x): fixing again, with the context files as F left them, changes nothing.
2. Each pass keeps every instruction it did not edit: an instruction of the text before the pass that no edit
   overlaps (an insertion at its end counts as editing it; one at its start does not) is found in the text
   after, at its start shifted by the edits before it, with the same keyword, flags, arguments, exec form and
   heredoc bodies as BuildKit parses them; and every instruction after the pass is such a kept one or
   overlaps the text an edit inserted. The text after still parses and ML001 finds no more than before.
3. A fixed finding does not come back: after a pass, no finding of the same rule with the same message (line
   numbers in it aside) starts where a finding it fixed started, mapped through the pass's edits (shifted by
   the edits before it, or moved to the start of the text that replaced it). In other files (requirements),
   each rule has fewer findings per file after a pass than before by at least the number it fixed there.
4. No fix introduces a finding of a rule that was absent: every rule code with a finding in F(x) has one in x.
   A pass may expose a finding that a later pass fixes (a cache mount added to one of two RUNs makes their
   flags equal, and ML302 then merges them): only the end result counts. Within a rule, a fix may turn one
   finding into another (opencv-python unpinned becomes opencv-python-headless unpinned), so counts and
   messages of rules present in x are not compared.
5. Line endings and the final newline are kept: a CRLF file stays all CRLF, an LF file gets no CR, and a file
   without a final newline does not get one (generated files, which come in all four kinds).
"""
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerlint_ml.config import Config
from dockerlint_ml.finding import Applicability
from dockerlint_ml.fixer import FixPass, FixResult, Workspace, fix_source, syntax_problems
from dockerlint_ml.fixes import uses_crlf
from dockerlint_ml.model import parse
from dockerlint_ml.text import SourceText, read_source

from conftest import corpus_params

LINE = re.compile(r"\bline \d+")
LEVELS = [pytest.param(Applicability.SAFE, id="safe"), pytest.param(Applicability.UNSAFE, id="unsafe")]


def fix_text(text: str, path: str, context, level, workspace: Workspace, options=None) -> FixResult:
    config = Config(select=["ALL"], options=options or {})
    return fix_source(SourceText(path, text), config, context, level, workspace)


def signature(instruction) -> tuple:
    """An instruction as BuildKit parses it."""
    return (instruction.keyword, instruction.sub_keyword, tuple(f.text for f in instruction.flags),
            instruction.args, instruction.json, tuple(h.content for h in instruction.heredocs))


def edited(instruction, edit) -> bool:
    return edit.start < instruction.end and instruction.start < edit.end or edit.start == instruction.end


def check_pass_keeps_instructions(step: FixPass) -> None:
    old, new = parse(step.before), parse(step.after)
    assert new.error is None, f"a pass made the Dockerfile unparsable: {new.error}"
    assert syntax_problems(step.after) <= syntax_problems(step.before)
    edits = sorted(step.edits, key=lambda e: (e.start, e.end))
    # where each edit's new text lies in the text after the pass
    inserted, shift = [], 0
    for edit in edits:
        inserted.append((edit.start + shift, edit.start + shift + len(edit.text)))
        shift += len(edit.text) - (edit.end - edit.start)
    by_start = {i.start: i for i in new.instructions}
    kept = set()
    for instruction in old.instructions:
        if any(edited(instruction, e) for e in edits):
            continue
        offset = instruction.start + sum(len(e.text) - (e.end - e.start) for e in edits if e.end <= instruction.start)
        moved = by_start.get(offset)
        assert moved is not None and signature(moved) == signature(instruction), (
            f"line {instruction.start_line} ({instruction.keyword}) was not edited but changed:\n{step.after.text}")
        kept.add(moved.start)
    for instruction in new.instructions:
        if instruction.start not in kept:
            assert any(start <= instruction.end and instruction.start <= end for start, end in inserted), (
                f"line {instruction.start_line} ({instruction.keyword}) appeared outside every edit")


def mapped(offset: int, edits: list) -> int:
    """Where `offset` of the text before the edits is in the text after them."""
    shift = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start <= offset < edit.end:
            return edit.start + shift
        if edit.end <= offset:
            shift += len(edit.text) - (edit.end - edit.start)
    return offset + shift


def check_fixed_findings_stay_fixed(step: FixPass, after: list) -> None:
    path = step.before.path
    found = {(f.code, LINE.sub("line N", f.message), step.after.offset(f.line, f.column))
             for f in after if f.path == path}
    for finding in (f for f in step.applied if f.path == path):
        where = mapped(step.before.offset(finding.line, finding.column), step.edits)
        assert (finding.code, LINE.sub("line N", finding.message), where) not in found, (
            f"{finding.code} comes back after its fix", f"{finding.line}: {finding.message}", step.after.text)
    other_files = Counter((f.code, f.path) for f in step.applied if f.path != path)
    counts_before = Counter((f.code, f.path) for f in step.findings)
    counts_after = Counter((f.code, f.path) for f in after)
    for key, fixed in other_files.items():
        assert counts_after[key] <= counts_before[key] - fixed, f"{key} comes back after its fix"


def check_no_finding_introduced(before: list, after: list) -> None:
    present = {f.code for f in before}
    new = [f for f in after if f.code not in present]
    assert not new, (f"the fixes introduce {new[0].code}", [f"{f.path}:{f.line}: {f.message}" for f in new])


def check_properties(text: str, path: str, context, level, options=None) -> FixResult:
    workspace = Workspace()  # edits of context files (a new .dockerignore, pinned requirements) stay in memory
    result = fix_text(text, path, context, level, workspace, options)
    assert result.stop in ("fixpoint", "unparsable"), f"stopped at a {result.stop}: {[f.code for f in result.fixed]}"
    lints = [step.findings for step in result.passes] + [result.remaining]
    for index, step in enumerate(result.passes):
        check_pass_keeps_instructions(step)
        check_fixed_findings_stay_fixed(step, lints[index + 1])
    check_no_finding_introduced(lints[0], lints[-1])
    if result.passes:  # fixing again, with the context files as the first run left them, changes nothing
        edited = {source.path: source.text for _, source in workspace.changes()}
        again = fix_text(result.source.text, path, context, level, workspace, options)
        assert again.source.text == result.source.text and not again.passes, "fixing the fixed text changed it"
        assert {source.path: source.text for _, source in workspace.changes()} == edited
    return result


# --- generated Dockerfiles -----------------------------------------------------------------------------

APT_PACKAGES = st.lists(st.sampled_from(["curl", "git", "build-essential", "libgl1", "ffmpeg", "ca-certificates"]),
                        min_size=1, max_size=3, unique=True)
PIP_PACKAGES = st.lists(st.sampled_from(["torch", "numpy==2.1.0", "'transformers>=4.40'", "fastapi",
                                         "uvicorn[standard]", "opencv-python", "-r requirements.txt"]),
                        min_size=1, max_size=3, unique=True)
PIP = st.sampled_from(["pip install", "pip3 install", "python -m pip install", "python3 -m pip install",
                       "uv pip install --system", "pip install --no-cache-dir", "pip install --user"])


LOCK = {"torch": "2.5.1", "numpy": "2.1.0", "transformers": "4.44.0", "fastapi": "0.115.0", "uvicorn": "0.30.6",
        "opencv-python": "4.10.0.84", "opencv-python-headless": "4.10.0.84"}


@st.composite
def apt_run(draw):
    packages = " ".join(draw(APT_PACKAGES))
    flags = draw(st.sampled_from(["-y", "-y --no-install-recommends", "-yq"]))
    install = f"apt-get install {flags} {packages}"
    cleanup = draw(st.sampled_from(["", " && rm -rf /var/lib/apt/lists/*"]))
    layout = draw(st.sampled_from(["one line", "continued", "commented"]))
    if layout == "one line":
        return f"RUN apt-get update && {install}{cleanup}"
    comment = "    # system libraries for opencv\n" if layout == "commented" else ""
    tail = " \\\n    && rm -rf /var/lib/apt/lists/*" if cleanup else ""
    return f"RUN apt-get update \\\n{comment}    && {install}{tail}"


@st.composite
def pip_run(draw):
    packages = " ".join(draw(PIP_PACKAGES))
    command = f"{draw(PIP)} {packages}"
    form = draw(st.sampled_from(["plain", "continued", "heredoc", "mount", "chained"]))
    if form == "continued":
        return "RUN " + command.replace(" install ", " install \\\n        ")
    if form == "heredoc":
        return f"RUN <<EOF\nset -e\n{command}\nEOF"
    if form == "mount":
        return f"RUN --mount=type=cache,target=/root/.cache/pip {command}"
    if form == "chained":
        return f"RUN {command} && python -c 'import sys'"
    return f"RUN {command}"


SIMPLE = st.sampled_from([
    "RUN apt-get update", "RUN apt-get install -y curl", "RUN echo hello", "RUN mkdir -p /app", "RUN useradd -m app",
    "ADD app.py /app/", "ADD https://example.com/model.bin /models/", "ADD model.tar.gz /opt/",
    "COPY . /app", "COPY requirements.txt .", "COPY --chown=app:app src/ /app/src/",
    "CMD python app.py", "CMD uvicorn app:app --host 0.0.0.0", "CMD python serve.py && echo done",
    "CMD [\"python\", \"app.py\"]", "ENTRYPOINT python main.py", "ENV PYTHONUNBUFFERED 1", "ENV A=1 B=2",
    "ENV MODEL_DIR /models", "MAINTAINER someone <someone@example.com>", "# a comment", "",
    "WORKDIR /app", "WORKDIR app", "USER app", "EXPOSE 8000", "LABEL maintainer=me", "ARG VERSION=1.0",
    "SHELL [\"/bin/bash\", \"-c\"]", "HEALTHCHECK CMD curl -f http://localhost:8000/ || exit 1",
    "RUN cd /app && make", "RUN pip install torch \\\n    # pinned later\n    numpy",
])
BASES = st.sampled_from(["python:3.11", "python:3.12-slim", "nvidia/cuda:12.1.1-devel-ubuntu22.04",
                         "ubuntu:22.04", "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-devel", "${BASE}", "python"])


@st.composite
def dockerfiles(draw):
    lines = []
    base = draw(BASES)
    if base == "${BASE}":
        lines.append("ARG BASE=python:3.11-slim")
    if draw(st.booleans()):  # a builder stage: only the final lineage ships
        lines += [f"FROM {base} AS builder", draw(pip_run())]
    lines.append(f"FROM {base}")
    lines += draw(st.lists(st.one_of(apt_run(), pip_run(), SIMPLE), min_size=1, max_size=9))
    if "FROM" in lines[0] and "AS builder" in lines[0] and draw(st.booleans()):
        lines.append("COPY --from=builder /usr/local /usr/local")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = "\n".join(lines) + ("\n" if draw(st.booleans()) else "")
    return text.replace("\n", newline)


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=dockerfiles())
def test_fix_properties_on_generated_dockerfiles(text, level, tmp_path):
    (tmp_path / "requirements.txt").write_text("torch\nnumpy==2.1.0\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "__pycache__").mkdir(exist_ok=True)  # junk, so that ML211 creates a .dockerignore
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0" * 2048)
    # a lock source, so that pinning fixes edit the Dockerfile and requirements.txt too
    (tmp_path / "lock.txt").write_text("".join(f"{name}=={version}\n" for name, version in LOCK.items()))
    pins = {"pin_from": str(tmp_path / "lock.txt")}
    options = {"ML102": pins, "ML103": pins, "ML105": pins}
    result = check_properties(text, str(tmp_path / "Dockerfile"), tmp_path, level, options)
    fixed = result.source.text
    assert uses_crlf(fixed) if "\r\n" in text else "\r" not in fixed
    assert fixed.endswith("\n") == text.endswith("\n")


# --- the corpus ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("path", corpus_params())
def test_fix_properties_on_the_corpus(path, level):
    source = read_source(str(path))
    check_properties(source.text, str(path), path.parent, level)
