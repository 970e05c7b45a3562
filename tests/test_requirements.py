"""pip requirements parsing: what pip accepts, with positions that point back into the file."""
import pytest

from dockerlint_ml.requirements import Requirement, include_path, parse_requirements
from dockerlint_ml.text import SourceText


def parse(text):
    return parse_requirements(SourceText("requirements.txt", text))


def only(text) -> Requirement:
    (req,) = parse(text).requirements
    return req


def test_name_with_specifier_extras_marker_and_comment():
    text = 'Foo_Bar[b,a] >=1.0,<2 ; python_version < "3.12"  # why\n'
    req = only(text)
    assert (req.kind, req.name, req.extras, req.marker) == ("name", "foo-bar", ("a", "b"), 'python_version < "3.12"')
    assert req.specifier == "<2,>=1.0" and not req.pinned and req.exact_version is None
    assert text[req.start:req.end] == 'Foo_Bar[b,a] >=1.0,<2 ; python_version < "3.12"'
    assert req.line == 1


@pytest.mark.parametrize("text, pinned, version", [
    ("numpy==1.26.4", True, "1.26.4"),
    ("numpy===1.26.4", True, "1.26.4"),
    ("numpy == 1.26.4", True, "1.26.4"),
    ("numpy==1.*", False, None),
    ("numpy>=1", False, None),
    ("numpy==1.0,<2", False, None),
    ("numpy", False, None),
    ("numpy~=1.26", False, None),
    ("torch==${TORCH_VERSION}", True, "${TORCH_VERSION}"),
])
def test_pinning(text, pinned, version):
    req = only(text)
    assert (req.pinned, req.exact_version) == (pinned, version)


def test_continuations_and_hashes():
    text = "# header\nrequests==2.31.0 \\\n    --hash=sha256:aaaa \\\n    --hash sha256:bbbb\nsix\n"
    first, second = parse(text).requirements
    assert first.hashes == ("sha256:aaaa", "sha256:bbbb") and first.line == 2
    assert text[first.start:first.end] == "requests==2.31.0"
    assert (second.name, second.line) == ("six", 5)


def test_comment_line_ends_a_continuation():
    first, second = parse("a==1 \\\n# note\nb==2\n").requirements
    assert (first.name, second.name, second.line) == ("a", "b", 3)


def test_requirement_split_over_lines_keeps_offsets():
    text = "numpy\\\n==1.0\n"
    req = only(text)
    assert (req.name, req.specifier, req.line) == ("numpy", "==1.0", 1)
    assert (req.start, req.end) == (0, len(text) - 1)


def test_url_fragment_is_not_a_comment():
    req = only("https://example.com/pkg-1.0.tar.gz#sha256=abcdef # a comment")
    assert req.kind == "url" and req.url == "https://example.com/pkg-1.0.tar.gz#sha256=abcdef" and req.pinned


def test_option_lines_and_includes():
    text = ("--index-url https://pypi.org/simple\n--extra-index-url=https://download.pytorch.org/whl/cu121\n"
            "-i https://mirror/simple\n-f ./wheels\n--trusted-host host --pre\n--prefer-binary\n"
            "--no-binary :all:\n--only-binary=numpy\n--require-hashes\n-r base.txt\n--constraint=c.txt\n-rdev.txt\n")
    parsed = parse(text)
    assert [(o.line, o.option, o.value) for o in parsed.options] == [
        (1, "--index-url", "https://pypi.org/simple"),
        (2, "--extra-index-url", "https://download.pytorch.org/whl/cu121"),
        (3, "--index-url", "https://mirror/simple"),
        (4, "--find-links", "./wheels"),
        (5, "--trusted-host", "host"),
        (5, "--pre", None),
        (6, "--prefer-binary", None),
        (7, "--no-binary", ":all:"),
        (8, "--only-binary", "numpy"),
        (9, "--require-hashes", None),
    ]
    assert text[parsed.options[0].start:parsed.options[0].end] == "--index-url https://pypi.org/simple"
    assert [(i.kind, i.target) for i in parsed.includes] == [
        ("requirement", "base.txt"), ("constraint", "c.txt"), ("requirement", "dev.txt")]
    assert parsed.requirements == []


@pytest.mark.parametrize("text, kind, name, pinned", [
    ("-e git+https://github.com/o/r.git@0123456789abcdef0123456789abcdef01234567#egg=r", "vcs", "r", True),
    ("git+https://github.com/o/lib@main#egg=lib", "vcs", "lib", False),
    ("lib @ git+https://github.com/o/lib@v1.0", "vcs", "lib", False),
    ("torch @ https://download.pytorch.org/whl/cu121/torch-2.1.0%2Bcu121-cp311-cp311-linux_x86_64.whl",
     "url", "torch", True),
    ("https://example.com/pkg.tar.gz", "url", None, False),
    ("https://example.com/pkg.tar.gz --hash=sha256:abcd", "url", None, True),
    ("./pkg", "path", None, False),
    (".", "path", None, False),
    ("-e .", "path", None, False),
    ("./wheels/foo-1.0-py3-none-any.whl", "path", "foo", True),
    ("file:///w/x-1.0-py3-none-any.whl", "path", "x", True),
])
def test_urls_and_paths(text, kind, name, pinned):
    req = only(text)
    assert (req.kind, req.name, req.pinned) == (kind, name, pinned)
    assert req.editable == text.startswith("-e")


def test_editable_span_and_extras():
    text = "-e ./pkg[dev,test]\n"
    req = only(text)
    assert text[req.start:req.end] == "./pkg[dev,test]"
    assert (req.url, req.extras, req.editable) == ("./pkg", ("dev", "test"), True)


def test_url_marker_needs_semicolon_space():
    req = only('https://x/p-1.0-py3-none-any.whl ; sys_platform == "linux"')
    assert req.marker == 'sys_platform == "linux"' and req.exact_version == "1.0"


@pytest.mark.parametrize("text, error", [
    ("===nope", "Expected package name"),
    ("--bogus-option", "no such option"),
    ("numpy==1.0 --nope", "no such option"),
    ("-r", "requires an argument"),
    ("-e numpy", "not a valid editable"),
    ('numpy ; python_version <<< "3"', ""),
    ("foo==1.0 'unbalanced", ""),
])
def test_invalid_lines_never_raise(text, error):
    req = only(text)
    assert req.kind == "invalid" and error in req.error and not req.pinned


def test_per_requirement_options_ignored_but_not_invalid():
    req = only("bar==1.0 --config-settings key=val --index-url https://x\n")
    assert (req.kind, req.name, req.pinned) == ("name", "bar", True)


def test_blank_comment_and_crlf_lines():
    parsed = parse("\r\n# c\r\n   \r\nnumpy==1.0\r\n")
    assert [(r.name, r.line) for r in parsed.requirements] == [("numpy", 4)]


def test_include_path():
    assert include_path("reqs/prod.txt", "base.txt") == "reqs/base.txt"
    assert include_path("reqs/prod.txt", "../common.txt") == "common.txt"
    assert include_path("prod.txt", "https://x/r.txt") is None
    assert include_path("prod.txt", "/abs/r.txt") is None
