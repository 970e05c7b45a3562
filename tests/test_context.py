"""BuildContext on real temporary directories."""
import os

import pytest

from dockerlint_ml.context import BuildContext
from dockerlint_ml.text import InputError


def make(root, files):
    """Create {relpath: text or bytes}; a relpath ending in "/" makes an empty directory."""
    for rel, content in files.items():
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def test_no_ignore_file(tmp_path):
    make(tmp_path, {"Dockerfile": "FROM x\n", "app.py": "x"})
    ctx = BuildContext(tmp_path, tmp_path / "Dockerfile")
    assert ctx.ignore_file is None and not ctx.has_ignore_file and ctx.ignore_source is None
    assert not ctx.ignored("app.py")
    assert ctx.files() == [("Dockerfile", 7), ("app.py", 1)]


def test_dockerfile_specific_ignore_file_wins(tmp_path):
    make(tmp_path, {".dockerignore": "a.txt\n", "docker/Dockerfile": "FROM x\n",
                    "docker/Dockerfile.dockerignore": "b.txt\n", "a.txt": "a", "b.txt": "b"})
    ctx = BuildContext(tmp_path, tmp_path / "docker/Dockerfile")
    assert ctx.ignore_file == tmp_path / "docker/Dockerfile.dockerignore"
    assert ctx.ignored("b.txt") and not ctx.ignored("a.txt")
    plain = BuildContext(tmp_path, tmp_path / "Dockerfile")  # no Dockerfile.dockerignore beside it
    assert plain.ignore_file == tmp_path / ".dockerignore"
    assert plain.ignored("a.txt") and not plain.ignored("b.txt")
    assert BuildContext(tmp_path).ignore_file == tmp_path / ".dockerignore"


def test_files_with_exceptions(tmp_path):
    make(tmp_path, {".dockerignore": "# c\nbuild\n!**/keep.txt\n*.log\ndata/\n",
                    "build/keep.txt": "k", "build/deep/keep.txt": "kk", "build/out.o": "ooo",
                    "x.log": "l", "src/main.py": "py", "data/big.bin": "0123456789"})
    ctx = BuildContext(tmp_path)
    assert [path for path, _ in ctx.files()] == [".dockerignore", "build/deep/keep.txt", "build/keep.txt",
                                                 "src/main.py"]
    assert ctx.size_of("build") == 3 and ctx.size_of(".") == sum(size for _, size in ctx.files())
    assert ctx.size_of("data") == 0 and ctx.exists("data/big.bin")


def test_ignored_dir_not_walked_without_exceptions(tmp_path, monkeypatch):
    make(tmp_path, {".dockerignore": "data\n", "data/a/b": "x", "ok": "y"})
    ctx = BuildContext(tmp_path)
    scanned = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: scanned.append(path) or real(path))
    assert [p for p, _ in ctx.files()] == [".dockerignore", "ok"]
    assert not any("data" in str(p) for p in scanned)


def test_symlinks_not_followed(tmp_path):
    make(tmp_path, {"real/f.txt": "abc"})
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "flink").symlink_to(tmp_path / "real/f.txt")
    ctx = BuildContext(tmp_path)
    assert ctx.files() == [("real/f.txt", 3)]
    assert ctx.exists("link") and not ctx.is_dir("link") and ctx.is_dir("real")


def test_exists_and_is_dir(tmp_path):
    make(tmp_path, {".dockerignore": "secret\n", "secret": "s", "d/": None})
    ctx = BuildContext(tmp_path)
    assert ctx.exists("secret") and ctx.exists("./secret") and ctx.exists("/secret") and ctx.ignored("secret")
    assert ctx.is_dir("d") and not ctx.is_dir("secret") and not ctx.exists("missing")
    assert not ctx.exists("../" + tmp_path.name + "/secret/x")


def test_match(tmp_path):
    make(tmp_path, {"requirements.txt": "", "requirements-dev.txt": "", "src/a.py": "", "src/b.py": "",
                    "src/sub/c.py": "", ".hidden": "", "x[1].txt": ""})
    ctx = BuildContext(tmp_path)
    assert ctx.match("requirements*.txt") == ["requirements-dev.txt", "requirements.txt"]
    assert ctx.match("./src/*.py") == ["src/a.py", "src/b.py"]
    assert ctx.match("/src/*/*.py") == ["src/sub/c.py"]
    assert ctx.match("src") == ["src"] and ctx.match("nope*") == [] and ctx.match("nope") == []
    assert ctx.match(".") == ["."] and ctx.match("*hidden") == [".hidden"]
    assert ctx.match("src/[ab].py") == ["src/a.py", "src/b.py"] and ctx.match("src/[^a].py") == ["src/b.py"]
    assert ctx.match("x\\[1\\].txt") == ["x[1].txt"] and ctx.match("[") == []


def test_junk(tmp_path):
    make(tmp_path, {".dockerignore": "node_modules\n", ".git/HEAD": "ref", ".git/objects/ab": "12345",
                    "myenv/pyvenv.cfg": "home=/usr", "myenv/lib/x.py": "xx", "myenv/lib/__pycache__/x.pyc": "c",
                    ".venv/bin/activate": "a", "env/": None, "src/__pycache__/m.pyc": "pyc",
                    "nb/.ipynb_checkpoints/a.ipynb": "{}", "node_modules/x/i.js": "js", ".tox/py/x": "t",
                    ".mypy_cache/c": "m", ".pytest_cache/v": "p", ".env": "SECRET=1"})
    found = {(j.kind, j.relpath, j.bytes) for j in BuildContext(tmp_path).junk()}
    assert found == {
        ("git", ".git", 8),
        ("venv", "myenv", len("home=/usr") + 2 + 1),  # nested __pycache__ is part of the venv, not reported
        ("venv", ".venv", 1),
        ("pycache", "src/__pycache__", 3),
        ("ipynb-checkpoints", "nb/.ipynb_checkpoints", 2),
        ("tox", ".tox", 1),
        ("mypy-cache", ".mypy_cache", 1),
        ("pytest-cache", ".pytest_cache", 1),
    }


def test_junk_size_excludes_ignored_paths(tmp_path):
    make(tmp_path, {".dockerignore": ".git/objects\n", ".git/HEAD": "ref", ".git/objects/ab": "12345"})
    assert [(j.kind, j.bytes) for j in BuildContext(tmp_path).junk()] == [("git", 3)]


def test_walk_is_bounded(tmp_path, monkeypatch):
    make(tmp_path, {f"f{i}": "x" for i in range(20)})
    monkeypatch.setattr("dockerlint_ml.context.MAX_ENTRIES", 5)
    ctx = BuildContext(tmp_path)
    assert len(ctx.files()) == 5 and ctx.truncated


def test_unreadable_dir_is_skipped(tmp_path, monkeypatch):
    make(tmp_path, {"locked/f": "x", "ok": "y"})
    real = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert [p for p, _ in BuildContext(tmp_path).files()] == ["ok"]


def test_requirements_and_closure(tmp_path):
    make(tmp_path, {"requirements.txt": "-r reqs/base.txt\n-c constraints.txt\nnumpy==1.0\n",
                    "reqs/base.txt": "-r ../requirements.txt\n-r extra.txt\n-r missing.txt\n-r https://x/r.txt\n"
                                     "torch>=2\n",
                    "reqs/extra.txt": "-r base.txt\nsix\n", "constraints.txt": "torch==2.1.0\n",
                    ".dockerignore": "ignored.txt\n", "ignored.txt": "x\n"})
    ctx = BuildContext(tmp_path)
    req = ctx.requirements("./requirements.txt")
    assert req is ctx.requirements("requirements.txt")  # cached
    assert [r.name for r in req.requirements] == ["numpy"]
    closure = ctx.requirements_closure("requirements.txt")
    assert [os.path.relpath(f.path, tmp_path) for f in closure] == [
        "requirements.txt", "reqs/base.txt", "constraints.txt", "reqs/extra.txt"]
    assert ctx.requirements("missing.txt") is None and ctx.requirements("reqs") is None
    assert ctx.requirements("ignored.txt") is None and ctx.requirements_closure("nope.txt") == []


def test_binary_requirements_raise_input_error(tmp_path):
    make(tmp_path, {"requirements.txt": b"\x00\x01"})
    with pytest.raises(InputError):
        BuildContext(tmp_path).requirements("requirements.txt")


def test_ignore_source_then_matcher(tmp_path):
    make(tmp_path, {".dockerignore": "\ufeffsecret\n", "secret": "s"})
    ctx = BuildContext(tmp_path)
    assert ctx.ignore_source.text == "secret\n"
    assert ctx.ignored("secret")
