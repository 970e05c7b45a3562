import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path | None:
    """The shared real-world corpus, from $DLINT_CORPUS (set by .ci/run); None when absent."""
    value = os.environ.get("DLINT_CORPUS")
    if not value or not Path(value).is_dir():
        return None
    return Path(value)


def corpus_dockerfiles() -> list[Path]:
    root = corpus_dir()
    if root is None:
        return []
    with open(root / "SOURCES.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    # SOURCES.tsv also lists the dependency files a case's Dockerfile installs.
    return [root / row["case"] / row["path"] for row in rows if not _is_dependency_file(row["path"])]


def _is_dependency_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("requirements") or name in ("pyproject.toml", "environment.yml", "environment.yaml")


def corpus_params():
    files = corpus_dockerfiles()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason="DLINT_CORPUS not set"))]
    return [pytest.param(path, id=path.parent.name if path.parent.parent.name == "realworld" else str(path.relative_to(corpus_dir()))) for path in files]


@pytest.fixture(autouse=True)
def _no_user_hadolint_config(tmp_path_factory, monkeypatch):
    """A ~/.hadolint.yaml on the machine running the tests must not change dlint's results: without a
    dlint config, dlint reads the user's hadolint config (tests of that set HOME themselves)."""
    home = tmp_path_factory.getbasetemp() / "empty-home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
