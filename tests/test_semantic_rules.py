"""The helpers behind ML712 (variables), ML713 (platforms), ML718 (.dockerignore), ML723, ML727 (labels),
ML728 (registries), ML729 (users), ML605 and ML003."""
import pytest

from dockerlint_ml.checks.ml712 import references, valid_reference, _distance, _suggest
from dockerlint_ml.checks.ml713 import parse_platform
from dockerlint_ml.checks.ml718 import excluded_path
from dockerlint_ml.checks.ml727 import key_problem, labels, valid_value
from dockerlint_ml.checks.ml728 import is_trusted
from dockerlint_ml.config import Config, from_mapping
from dockerlint_ml.context import BuildContext
from dockerlint_ml.engine import lint_source
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import parse
from dockerlint_ml.text import Mapped, SourceText


def lint(text, code, tmp_path, options=None, severity=None):
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    config = from_mapping({"options": {code: options}}) if options else Config()
    config.select = [code]
    if severity:
        config.severity = {code: severity}
    return lint_source(SourceText(str(path), text), config, tmp_path).findings


# --- ML712: variable references ---------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("$A ${B} ${C:-x} ${D-x} ${E:+y} ${F?err} ${G#pre} ${H/a/b}",
     [("A", False), ("B", False), ("C", True), ("D", True), ("E", True), ("F", True), ("G", False), ("H", False)]),
    ("'$SINGLE' \"$DOUBLE\" \\$ESCAPED $1 $@ $$ ${", [("DOUBLE", False)]),
    ("\"it's $X\"", [("X", False)]),  # a single quote inside double quotes is literal
    ("${OUTER:-${INNER}}/$AFTER", [("OUTER", True), ("AFTER", False)]),
    ("$A_1x-$B.c", [("A_1x", False), ("B", False)]),
])
def test_references(text, expected):
    assert [(r.name, r.guarded) for r in references(Mapped.plain(text))] == expected


def test_references_locate_the_whole_reference():
    text = "X=${FOO:-bar}/$BAZ"
    found = references(Mapped.plain(text, base=100))
    assert [text[r.start - 100:r.end - 100] for r in found] == ["${FOO:-bar}", "$BAZ"]


def test_references_use_the_escape_directive():
    assert [r.name for r in references(Mapped.plain("`$A $B"), escape="`")] == ["B"]


@pytest.mark.parametrize("value,valid", [
    ("python:3.11-slim", True), ("nvidia/cuda:12.4.1-runtime-ubuntu22.04", True),
    ("localhost:5000/ml/serve:1", True), ("nvcr.io/nvidia/pytorch:24.07-py3", True),
    ("ubuntu@sha256:" + "a" * 64, True), ("My.Registry.io/ml/serve", True),
    ("busybox:", False), ("", False), ("Python:3.11", False), ("acme/Serve", False), (":3.11", False),
    ("a" * 64, False), ("<jupyter>", False), ("python:3.11 slim", False),
])
def test_valid_reference(value, valid):
    assert valid_reference(value) is valid


def test_suggest_close_names_only():
    assert _distance("PAHT", "PATH") == 2
    assert _suggest("APP_DI", {"APP_DIR", "MODEL_DIR"}) == "APP_DIR"
    assert _suggest("app_dir", {"APP_DIR"}) == "APP_DIR"
    assert _suggest("E", {"A"}) is None  # one letter off is not a typo of a one-letter name
    assert _suggest("SRC", {"C", "DST"}) is None


def test_undefined_variable_severities(tmp_path):
    text = "FROM python:3.11-slim\nENV A=1 B=$A\nWORKDIR $NOPE\n"
    found = lint(text, "ML712", tmp_path)
    assert [(f.line, f.severity) for f in found] == [(2, Severity.ERROR), (3, Severity.WARNING)]
    # a configured severity wins over the per-finding one
    found = lint(text, "ML712", tmp_path, severity=Severity.INFO)
    assert {f.severity for f in found} == {Severity.INFO}


@pytest.mark.parametrize("text,lines", [
    # ENV carries over FROM <stage>; ARG does not
    ("FROM python:3.11 AS a\nENV X=1\nARG Y=2\nFROM a\nWORKDIR $X$Y\n", [5]),
    # the base image probably sets these
    ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nENV LD_LIBRARY_PATH=/x:$LD_LIBRARY_PATH P=$CUDA_VERSION\n", []),
    # platform args need ARG in the stage, but FROM sees them
    ("FROM --platform=$BUILDPLATFORM python:3.11\nARG TARGETARCH\nCOPY bin/$TARGETARCH /bin\n", []),
    ("ARG FLAVOR=${TARGETARCH}\nFROM python:3.11 AS build-amd64\nFROM build-${FLAVOR}\n", []),
    ("FROM python:3.11\nONBUILD COPY $LATER /x\nCMD echo $X\n", []),
    # a base-image-looking name one typo away from a defined variable is a typo
    ("FROM python:3.11\nARG PYTHON_VERSION=3.11\nLABEL py=$PYTHON_VERISON sha=$PYTHON_SHA256\n", [3]),
])
def test_undefined_variable_scope(text, lines, tmp_path):
    assert [f.line for f in lint(text, "ML712", tmp_path)] == lines


# --- ML713: platforms -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,platform", [
    ("linux/amd64", ("linux", "amd64")), ("linux/arm64/v8", ("linux", "arm64")), ("linux", ("linux", "amd64")),
    ("arm64", ("linux", "arm64")), ("linux/x86_64", ("linux", "amd64")), ("windows/amd64", ("windows", "amd64")),
    ("linux//amd64", None), ("a/b/c/d", None), ("unknownos/arm64", None),
])
def test_parse_platform(value, platform):
    assert parse_platform(value) == platform


@pytest.mark.parametrize("line,fires", [
    ("FROM --platform=linux/amd64 python:3.11", True),
    ("FROM --platform=linux/amd64 python:3.11 AS build-amd64", False),
    ("FROM --platform=linux/arm64 python:3.11 AS linux-tools", False),  # the OS in the name counts too
    ("FROM --platform=$BUILDPLATFORM python:3.11", False),
    ("FROM --platform=${BUILDOS}/${BUILDARCH} python:3.11", False),
    ("FROM --platform=$TARGETPLATFORM python:3.11", True),
    ("FROM --platform=${TARGETPLATFORM:-linux/amd64} python:3.11", True),
    ("FROM --platform=linux/$TARGETARCH python:3.11", False),
    ("FROM --platform=not/a/real/platform python:3.11", False),
])
def test_from_platform_flag(line, fires, tmp_path):
    assert bool(lint(line + "\n", "ML713", tmp_path)) is fires


# --- ML718: .dockerignore ---------------------------------------------------------------------------------

def context(tmp_path, ignore, files):
    (tmp_path / ".dockerignore").write_text(ignore)
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return BuildContext(tmp_path)


@pytest.mark.parametrize("ignore,files,source,excluded", [
    ("models/\n", ["models/a.bin"], "models/a.bin", "models/a.bin"),
    ("models/\n", ["models/a.bin"], "./models", "models"),
    ("models/\n", [], "models/not-here-yet.bin", "models/not-here-yet.bin"),  # excluded even if absent
    ("models/\n!models/a.bin\n", ["models/a.bin", "models/b.bin"], "models", None),  # a.bin is sent again
    ("*.ckpt\n", ["a.ckpt", "b.ckpt"], "*.ckpt", "a.ckpt"),
    ("a.ckpt\n", ["a.ckpt", "b.ckpt"], "*.ckpt", None),  # b.ckpt is sent
    ("*.ckpt\n", [], "*.ckpt", "*.ckpt"),  # no match here: checked as written, as Docker does
    ("*\n", ["app.py"], ".", "."),
    ("*\n!app.py\n", ["app.py"], ".", None),
    ("*\n!app.py\n", ["app.py", "notes.md"], "notes.md", "notes.md"),
    ("data\n", ["database.py"], "database.py", None),
])
def test_excluded_path(ignore, files, source, excluded, tmp_path):
    assert excluded_path(context(tmp_path, ignore, files), source) == excluded


def test_copy_ignored_file_without_dockerignore_is_silent(tmp_path):
    (tmp_path / "a.bin").write_text("x")
    assert lint("FROM python:3.11\nCOPY a.bin /a\n", "ML718", tmp_path) == []


def test_copy_ignored_file_names_the_pattern(tmp_path):
    context(tmp_path, "# weights\n*.bin\nmodels/\n", ["models/a.bin"])
    [finding] = lint("FROM python:3.11\nCOPY models/a.bin /a\n", "ML718", tmp_path)
    assert "line 3: `models/`" in finding.message and finding.severity == Severity.ERROR


# --- ML723 ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line,fires", [
    ("COPY --from=build / /", True), ("COPY --from=build /. //", True), ("COPY --from=build . /", True),
    ('COPY --from=build ["/", "/"]', True), ("COPY --from=build /opt /opt /", False),
    ("COPY --from=build / /rootfs", False), ("COPY --from=build / .", False), ("COPY / /", False),
])
def test_copy_whole_stage(line, fires, tmp_path):
    assert bool(lint(f"FROM python:3.11 AS build\nFROM scratch\n{line}\n", "ML723", tmp_path)) is fires


# --- ML727: labels ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,valid", [
    ("maintainer", True), ("org.opencontainers.image.source", True), ("ai.acme/team_name", True), ("a1", True),
    ("Maintainer", False), ("1abc", False), ("-a", False), ("a-", False), ("a..b", False), ("a--b", False),
    ("com.docker.extension", False), ("io.docker.x", False), ("org.dockerproject.x", False), ("a:b", False),
    ("foo bar", False), ("a", True),
])
def test_key_problem(key, valid):
    assert (key_problem(key) is None) is valid


@pytest.mark.parametrize("kind,value,valid", [
    ("url", "https://github.com/acme/serve", True), ("url", "mailto:a@b.c", True), ("url", "github.com/acme", False),
    ("url", "https://x .io", False),
    ("semver", "1.2.3", True), ("semver", "1.2.3-rc.1+build.5", True), ("semver", "v1.2.3", False),
    ("semver", "1.2", False),
    ("hash", "abcdef0", True), ("hash", "a" * 40, True), ("hash", "ABCDEF0", False), ("hash", "abcdef01", False),
    ("rfc3339", "2024-05-01T12:00:00Z", True), ("rfc3339", "2024-05-01T12:00:00.5+02:00", True),
    ("rfc3339", "2024-05-01 12:00:00Z", False), ("rfc3339", "2024-13-01T12:00:00Z", False),
    ("rfc3339", "2024-05-01", False),
    ("email", "ml@example.com", True), ("email", "ml@localhost", True), ("email", "ML <ml@example.com>", False),
    ("email", "a.@example.com", False),
    ("text", "", True), ("no-such-type", "anything", True),
])
def test_valid_value(kind, value, valid):
    assert valid_value(kind, value) is valid


def test_valid_spdx():
    pytest.importorskip("packaging.licenses")
    assert valid_value("spdx", "Apache-2.0") and valid_value("spdx", "MIT")
    assert not valid_value("spdx", "apache-2.0") and not valid_value("spdx", "GPL-3.0")  # case; deprecated id
    assert not valid_value("spdx", "MIT OR Apache-2.0")


def test_labels_read_both_forms():
    df = parse(SourceText("Dockerfile", 'FROM a\nARG V=1.0.0\nLABEL "a b"=1 c="x y" v=$V\nLABEL legacy some value\n'))
    first, second = [i for i in df.instructions if i.keyword == "LABEL"]
    assert [(label.key, label.value) for label in labels(first)] == [("a b", "1"), ("c", "x y"), ("v", "1.0.0")]
    assert [(label.key, label.value) for label in labels(second)] == [("legacy", "some value")]


def test_label_schema_severities(tmp_path):
    text = "FROM python:3.11\nLABEL Maintainer=x version=v1 extra=1\n"
    options = {"label_schema": {"version": "semver", "owner": "email"}, "strict_labels": True}
    found = lint(text, "ML727", tmp_path, options)
    assert {f.severity for f in found} == {Severity.INFO, Severity.WARNING}
    messages = [f.message for f in found]
    assert any("no label owner" in m for m in messages)  # missing
    assert any("version='v1'" in m for m in messages)  # not semver
    assert sum("not in the label schema" in m for m in messages) == 2  # Maintainer and extra


# --- ML728: registries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("registry,patterns,trusted", [
    ("eu.gcr.io", ["*.gcr.io"], True), ("gcr.io", ["*.gcr.io"], False), ("docker.io", ["hub.docker.com"], True),
    ("docker.io", ["docker.io"], True), ("index.docker.io", ["docker.io"], True), ("quay.io", ["docker.io"], False),
    ("localhost:5000", ["localhost:*"], True), ("nvcr.io", ["nvcr.io"], True),
])
def test_is_trusted(registry, patterns, trusted):
    assert is_trusted(registry, patterns) is trusted


def test_untrusted_registry_inactive_until_configured(tmp_path):
    text = "FROM quay.io/acme/x:1\n"
    assert lint(text, "ML728", tmp_path) == []
    assert [f.line for f in lint(text, "ML728", tmp_path, {"trusted_registries": ["docker.io"]})] == [1]


def test_untrusted_registry_translated_from_hadolint(tmp_path):
    from dockerlint_ml.config import from_hadolint

    config = from_hadolint({"trustedRegistries": ["docker.io"]})
    path = tmp_path / "Dockerfile"
    path.write_text("FROM quay.io/acme/x:1\n")
    found = lint_source(SourceText(str(path), path.read_text()), config, tmp_path).findings
    assert [f.code for f in found if f.code == "ML728"] == ["ML728"]


# --- ML729, ML605, ML003 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,fires", [
    ("FROM python:3.11\nUSER app\n", True),
    ("FROM python:3.11\nUSER app:1000\n", True),
    ("FROM python:3.11\nUSER 1000:app\n", False),
    ("FROM python:3.11\nUSER app\nUSER 1000\n", False),  # only the user the image runs as
    ("FROM python:3.11\nARG U=1000\nUSER ${U}\n", False),
    ("FROM python:3.11\nARG U=app\nUSER ${U}\n", True),
    ("FROM python:3.11\nARG U\nUSER $U\n", False),  # from --build-arg
    ("FROM python:3.11\n", False),
    ("FROM python:3.11 AS a\nUSER app\nFROM a\n", True),  # USER carries over FROM <stage>
    ("FROM python:3.11 AS a\nUSER app\nFROM python:3.11\n", False),
])
def test_non_numeric_user(text, fires, tmp_path):
    assert bool(lint(text, "ML729", tmp_path)) is fires


@pytest.mark.parametrize("text,fires", [
    ("FROM python:3.11\n", True),
    ("FROM python:3.11\nHEALTHCHECK NONE\n", False),
    ("FROM python:3.11 AS a\nHEALTHCHECK CMD true\nFROM a\n", False),
    ("FROM python:3.11 AS a\nHEALTHCHECK CMD true\nFROM python:3.11\n", True),
])
def test_healthcheck_missing(text, fires, tmp_path):
    assert bool(lint(text, "ML605", tmp_path)) is fires


def test_off_by_default_rules():
    enabled = {rule.code for rule in Config().enabled_rules()}
    assert "ML605" not in enabled and "ML003" not in enabled
    assert {"ML712", "ML713", "ML718", "ML723", "ML727", "ML728", "ML729"} <= enabled


def test_inline_pragma_points_at_the_comment(tmp_path):
    text = "FROM python:3.11\n  # hadolint ignore=DL3013\nRUN pip install torch\n# dlint global ignore=ML102\n"
    [finding] = lint(text, "ML003", tmp_path)
    assert (finding.line, finding.column) == (2, 3)
