"""dlint's .dockerignore matcher must agree with the docker SDK's own PatternMatcher."""
import subprocess
import sys

import pytest
from docker.utils.build import PatternMatcher

from dockerlint_ml.dockerignore import IgnoreMatcher, read_patterns
from dockerlint_ml.text import SourceText

PATTERN_SETS = [
    ["**/*.pyc"],
    ["*", "!keep.txt"],
    ["dir/"],
    ["*/temp*"],
    ["/abs"],
    [".git"],
    ["build", "!build/keep.txt"],
    ["build", "!**/keep.txt"],
    ["data/**", "!data/small/**", "data/small/big.bin"],
    ["**"],
    ["*.md", "!README.md"],
    ["./docs/../notes", "a/b/../c"],
    ["models/*.pt", "!models/tiny.pt"],
    ["[a-c]*.log", "?.tmp"],
]
PATHS = [
    "a.pyc", "x/y/z.pyc", "keep.txt", "other.txt", "dir", "dir/file", "dirx", "src/temp1", "src/x/temp1", "temp",
    "abs", "x/abs", ".git", ".git/HEAD", "sub/.git", "build", "build/keep.txt", "build/other", "build/sub/keep.txt",
    "data/x.bin", "data/small/a", "data/small/big.bin", "README.md", "docs.md", "sub/README.md", "notes",
    "notes/n.txt", "a/c", "a/b", "models/big.pt", "models/tiny.pt", "b.log", "d.log", "x.tmp", "xy.tmp",
    ".dockerignore",
]


@pytest.mark.parametrize("patterns", PATTERN_SETS, ids=lambda p: " ".join(p))
def test_matches_docker_sdk(patterns):
    sdk = PatternMatcher(patterns)
    ours = IgnoreMatcher(patterns)
    for path in PATHS:
        assert ours.ignored(path) == bool(sdk.matches(path)), path


def test_relpaths_are_normalized():
    matcher = IgnoreMatcher(["secret"])
    assert matcher.ignored("./secret") and matcher.ignored("/secret") and matcher.ignored("secret/")
    assert not matcher.ignored(".")


def test_read_patterns_like_docker():
    text = "# comment\n\n  node_modules  \n #not a comment\n/abs/./x/\n!  keep\r\n**/*.pyc\n"
    patterns = read_patterns(SourceText("x", text))
    assert [(p.line, p.text, p.pattern) for p in patterns] == [
        (3, "node_modules", "node_modules"),
        (4, "#not a comment", "#not a comment"),
        (5, "/abs/./x/", "abs/x"),
        (6, "!  keep", "!keep"),
        (7, "**/*.pyc", "**/*.pyc"),
    ]
    first = patterns[0]
    assert text[first.start:first.end] == "node_modules"
    assert patterns[3].exclusion and not first.exclusion


def test_may_reinclude_under():
    matcher = IgnoreMatcher(["build", "data", "!build/keep.txt", "!**/KEEP"])
    assert matcher.may_reinclude_under("build")
    assert matcher.may_reinclude_under("data")  # because of "**"
    assert not IgnoreMatcher(["build", "!other/x"]).may_reinclude_under("build")


def test_does_not_import_docker_package():
    code = ("import sys; from dockerlint_ml.dockerignore import IgnoreMatcher; "
            "IgnoreMatcher(['x']).ignored('x'); print('docker' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bad_pattern_is_set_aside_not_raised():
    matcher = IgnoreMatcher(["[z-a]", "*.log", "[[x]"])
    assert matcher.invalid == ["[z-a]"]
    assert matcher.ignored("a.log") and not matcher.ignored("z")
    matcher.ignored("[x]")  # "[[x]" compiles with a FutureWarning, which must stay quiet


def test_fallback_to_plain_import(monkeypatch):
    import dockerlint_ml.dockerignore as di

    def broken():
        raise ImportError("simulated")

    monkeypatch.setattr(di, "_sdk_build", None)
    monkeypatch.setattr(di, "_load_sdk_without_init", broken)
    assert di.sdk_build().__name__ == "docker.utils.build"
    assert IgnoreMatcher(["*.pyc"]).ignored("a/b.pyc") is False  # "*" does not cross "/"
    assert IgnoreMatcher(["**/*.pyc"]).ignored("a/b.pyc")
