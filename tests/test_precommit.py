"""The real `pre-commit try-repo` of this repository: the hook fails on a bad Dockerfile, passes once fixed."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None,
                                reason="needs this repository as a git checkout and git")


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def try_repo(repo, env):
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "dlint", "--files",
                           "Dockerfile", "--verbose"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def test_precommit_hook_fails_then_passes(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("config", "user.email", "ci@example.com", cwd=repo)
    git("config", "user.name", "ci", cwd=repo)
    (repo / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install --no-cache-dir torch\n")
    git("add", "Dockerfile", cwd=repo)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}

    failing = try_repo(repo, env)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "ML102" in failing.stdout and "torch has no exact version" in failing.stdout

    (repo / "Dockerfile").write_text(
        "FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/pip \\\n"
        "    pip install --index-url https://download.pytorch.org/whl/cpu torch==2.4.1+cpu\nUSER 1000\n")
    git("add", "Dockerfile", cwd=repo)
    passing = try_repo(repo, env)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
