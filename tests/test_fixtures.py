"""Each fixture project under fixtures/ gives exactly its recorded output (fixtures/README.md)."""
import io
import os
from contextlib import redirect_stdout

import pytest

from conftest import ROOT
from dockerlint_ml.cli import main

FIXTURES = sorted(p.parent for p in (ROOT / "fixtures").glob("*/Dockerfile"))


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: p.name)
def test_fixture_output(folder, monkeypatch):
    monkeypatch.chdir(folder)
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["check", "--no-color", "Dockerfile"])
    actual = f"{out.getvalue()}exit code: {code}\n"
    expected_file = folder / "expected.txt"
    if os.environ.get("DLINT_UPDATE_FIXTURES"):
        expected_file.write_text(actual, encoding="utf-8")
    assert actual == expected_file.read_text(encoding="utf-8")


def test_every_category_has_a_fixture_that_fires_in_it():
    """A fixture is about its category: at least two of its findings carry that hundreds digit."""
    digits = {"reproducibility": "1", "size": "2", "cache": "3", "gpu": "4", "security": "5", "serving": "6"}
    assert {p.name for p in FIXTURES} == set(digits)
    for folder in FIXTURES:
        text = (folder / "expected.txt").read_text(encoding="utf-8")
        assert text.count(f" ML{digits[folder.name]}") >= 2, folder.name
