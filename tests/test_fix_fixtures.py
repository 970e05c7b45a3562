"""`dlint fix` and `dlint fix --unsafe-fixes` on whole ML projects (fixtures/projects/, see its README): every file
written is compared with the snapshot in expected.fixed/ or expected.fixed-unsafe/, byte for byte."""
import io
import os
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import ROOT
from dockerlint_ml.cli import main

PROJECTS = sorted(p.parent for p in (ROOT / "fixtures" / "projects").glob("*/Dockerfile"))
MODES = {"expected.fixed": [], "expected.fixed-unsafe": ["--unsafe-fixes"]}


def project_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.relative_to(folder).parts[0].startswith("expected.")}


def fixed_files(folder: Path, flags: list[str], tmp_path: Path, monkeypatch) -> dict[str, bytes]:
    """The files `dlint fix` changes or creates in a copy of the project."""
    work = tmp_path / folder.name
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns("expected.*"))
    monkeypatch.chdir(work)
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        code = main(["fix", *flags, "Dockerfile"])
    assert code in (0, 1), err.getvalue()
    before, after = project_files(folder), project_files(work)
    return {name: data for name, data in after.items() if before.get(name) != data}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: p.name)
def test_fix_matches_snapshot(folder, mode, tmp_path, monkeypatch):
    changed = fixed_files(folder, MODES[mode], tmp_path, monkeypatch)
    snapshot = folder / mode
    if os.environ.get("DLINT_UPDATE_FIXTURES"):
        shutil.rmtree(snapshot, ignore_errors=True)
        snapshot.mkdir()
        for name, data in changed.items():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            (snapshot / name).write_bytes(data)
        (snapshot / ".keep").write_text("")  # the folder exists (and is committed) even when nothing changes
    expected = {p.relative_to(snapshot).as_posix(): p.read_bytes() for p in sorted(snapshot.rglob("*"))
                if p.is_file() and p.name != ".keep"}
    assert changed == expected


def test_the_projects_the_issue_asks_for():
    names = {p.name for p in PROJECTS}
    assert {"fastapi-torch", "cuda-training", "conda-image", "hf-inference", "good-multistage", "crlf"} <= names
    good = ROOT / "fixtures" / "projects" / "good-multistage"
    assert not [p for mode in MODES for p in (good / mode).rglob("*") if p.name != ".keep"]  # nothing to fix
    crlf = ROOT / "fixtures" / "projects" / "crlf"
    for mode in MODES:
        fixed = (crlf / mode / "Dockerfile").read_bytes()
        assert fixed.count(b"\n") == fixed.count(b"\r\n") > 0  # CRLF kept on every line


def test_fixing_a_fixed_project_changes_nothing(tmp_path, monkeypatch):
    for folder in PROJECTS:
        for mode, flags in MODES.items():
            snapshot = folder / mode
            work = tmp_path / f"{folder.name}-{mode}"
            shutil.copytree(folder, work, ignore=shutil.ignore_patterns("expected.*"))
            for path in snapshot.rglob("*"):
                if path.is_file() and path.name != ".keep":
                    shutil.copy2(path, work / path.relative_to(snapshot))
            again = fixed_files(work, flags, tmp_path / "again" / mode, monkeypatch)
            assert again == {}, (folder.name, mode)
