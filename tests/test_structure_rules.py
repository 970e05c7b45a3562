"""Instruction-structure rules ML701–ML732: their helpers, per-finding severities and hadolint/Docker aliases."""
import pytest

from dockerlint_ml.checks.ml701 import is_absolute, is_relative, workdirs
from dockerlint_ml.checks.ml711 import port_problem
from dockerlint_ml.checks.ml714 import majority_lower
from dockerlint_ml.config import Config
from dockerlint_ml.engine import lint_source
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import parse
from dockerlint_ml.registry import resolve
from dockerlint_ml.text import SourceText


def lint(text, code, tmp_path, severity=None):
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    config = Config(select=[code], severity={code: severity} if severity else {})
    return lint_source(SourceText(str(path), text), config, tmp_path).findings


# --- paths and WORKDIR ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,absolute", [
    ("/app", True), ("C:\\app", True), ("c:/app", True), ("app", False), ("./app", False), ("~/app", False),
    ("", False), ("$HOME", False),
])
def test_is_absolute(path, absolute):
    assert is_absolute(path) is absolute


@pytest.mark.parametrize("path,variables,relative", [
    ("app", {}, True),
    ("/app", {}, False),
    ("$HOME/app", {}, False),  # the base image's ENV: unknown, benefit of the doubt
    ("$APP", {"APP": ""}, False),  # an ARG without default is set by --build-arg
    ("$APP", {"APP": "app"}, True),
    ("$APP", {"APP": "/app"}, False),
    ("${APP:-/app}", {}, False),
    ("build/$SUB", {}, True),  # relative whatever SUB is
])
def test_is_relative(path, variables, relative):
    assert is_relative(path, variables) is relative


def test_workdirs_follow_from_stage_ancestors_only():
    df = parse(SourceText("Dockerfile", "FROM a:1 AS base\nWORKDIR /app\nWORKDIR src\nRUN one\n"
                                        "FROM base AS child\nRUN two\n"
                                        "FROM a:1\nRUN three\nWORKDIR $UNKNOWN\nRUN four\n"))
    before = {i.args[0]: w for i, w in workdirs(df) if i.keyword == "RUN"}
    assert before == {"one": "/app/src", "two": "/app/src", "three": None, "four": ""}


# --- EXPOSE -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,severity", [
    ("80", None), ("8000-8010/udp", None), ("0", None), ("65535", None), ("132/sctp", None),
    ("65536", Severity.ERROR), ("8000-70000", Severity.ERROR), ("http", Severity.ERROR), ("", Severity.ERROR),
    ("53/dns", Severity.ERROR), ("-1", Severity.ERROR),
    ("8080:80", Severity.WARNING), ("127.0.0.1:8080:80", Severity.WARNING), ("[::1]:8080:80/tcp", Severity.WARNING),
    ("80/TCP", Severity.WARNING), ("80/Udp", Severity.WARNING),
])
def test_port_problem(spec, severity):
    problem = port_problem(spec)
    assert (problem[0] if problem else None) is severity


# --- casing -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("keywords,lower", [
    (["FROM", "RUN", "run"], False),
    (["from", "run", "RUN"], True),
    (["from", "RUN"], False),  # a tie is upper case, as in BuildKit
    (["From", "Run", "run"], True),  # mixed-case keywords count for neither
])
def test_majority_lower(keywords, lower):
    assert majority_lower(keywords) is lower


# --- per-finding severities -------------------------------------------------------------------------------

def test_duplicate_cmd_is_a_warning_and_entrypoint_an_error(tmp_path):
    text = 'FROM a:1\nCMD ["a"]\nCMD ["b"]\nENTRYPOINT ["x"]\nENTRYPOINT ["y"]\nHEALTHCHECK NONE\nHEALTHCHECK NONE\n'
    assert [(f.line, f.severity) for f in lint(text, "ML703", tmp_path)] == [
        (3, Severity.WARNING), (5, Severity.ERROR), (7, Severity.ERROR)]
    assert {f.severity for f in lint(text, "ML703", tmp_path, Severity.INFO)} == {Severity.INFO}


def test_copy_from_severities(tmp_path):
    text = "FROM a:1 AS builder\nCOPY --from=builder /a /b\nFROM a:1\nCOPY --from=bulder /a /b\n"
    findings = lint(text, "ML704", tmp_path)
    assert [(f.line, f.severity) for f in findings] == [(2, Severity.ERROR), (4, Severity.WARNING)]
    assert "did you mean builder?" in findings[1].message


def test_stage_name_reports_its_worst_problem_once(tmp_path):
    text = "FROM a:1 AS scratch\nFROM a:1 AS Scratch\nFROM a:1 AS Runtime\n"
    assert [(f.line, f.severity) for f in lint(text, "ML705", tmp_path)] == [
        (1, Severity.WARNING), (2, Severity.ERROR), (3, Severity.INFO)]


def test_workdir_from_a_variable_is_a_warning(tmp_path):
    text = "FROM a:1\nARG DIR=app\nWORKDIR $DIR\nFROM a:1\nWORKDIR app\n"
    assert [(f.line, f.severity) for f in lint(text, "ML701", tmp_path)] == [
        (3, Severity.WARNING), (5, Severity.ERROR)]


def test_relative_workdir_names_the_absolute_path_it_means(tmp_path):
    [finding] = lint("FROM a:1\nWORKDIR /srv\nWORKDIR ../models\n", "ML701", tmp_path)
    assert "/models" in finding.message


def test_empty_continuation_that_swallows_the_next_instruction(tmp_path):
    [finding] = lint("FROM a:1\nRUN apt-get install -y curl \\\n\nRUN echo next\n", "ML726", tmp_path)
    assert finding.line == 3 and "line 4 (RUN echo next) is read as part of this RUN" in finding.message


# --- aliases and pragmas ----------------------------------------------------------------------------------

@pytest.mark.parametrize("alias,code", [
    ("DL3000", "ML701"), ("WorkdirRelativePath", "ML701"), ("DL3003", "ML702"), ("DL4003", "ML703"),
    ("DL4004", "ML703"), ("DL3012", "ML703"), ("MultipleInstructionsDisallowed", "ML703"), ("DL3022", "ML704"),
    ("DL3023", "ML704"), ("DL3024", "ML705"), ("DL3063", "ML705"), ("duplicatestagename", "ML705"),
    ("ReservedStageName", "ML705"), ("StageNameCasing", "ML705"), ("DL4000", "ML706"),
    ("MaintainerDeprecated", "ML706"), ("DL3021", "ML710"), ("DL3011", "ML711"), ("ExposeInvalidFormat", "ML711"),
    ("ExposeProtoCasing", "ML711"), ("ConsistentInstructionCasing", "ML714"), ("FromAsCasing", "ML714"),
    ("LegacyKeyValueFormat", "ML715"), ("DL3061", "ML716"), ("DL3043", "ML717"), ("NoEmptyContinuation", "ML726"),
    ("DL3045", "ML732"),
])
def test_aliases_resolve(alias, code):
    assert [r.code for r in resolve(alias)] == [code]


def test_hadolint_pragma_silences_cd_in_run(tmp_path):
    text = "FROM a:1\n# hadolint ignore=DL3003\nRUN cd /tmp && make\nRUN cd /src && make\n"
    assert [f.line for f in lint(text, "ML702", tmp_path)] == [4]
