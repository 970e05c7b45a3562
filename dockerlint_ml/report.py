"""Rendering findings: text for people, JSON / SARIF / GitHub / GitLab / Checkstyle / JUnit for machines.

docs/output-formats.md documents every format; keep the two in step. `rich` is imported only when a
text report needs color or code frames, so the machine formats and piped text start fast.
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections import Counter
from pathlib import PurePath
from typing import IO
from urllib.parse import quote

from dockerlint_ml import __version__
from dockerlint_ml.finding import Applicability, Finding, Severity
from dockerlint_ml.registry import Rule
from dockerlint_ml.text import SourceText

FORMATS = ("text", "json", "sarif", "github", "gitlab", "checkstyle", "junit")

# The one place that says where the project lives: SARIF's informationUri and the rules' helpUri.
PROJECT_URL = "https://github.com/dockerlint-ml/dlint"
RULE_DOC_URL = PROJECT_URL + "/blob/main/rules/{code}.md"
SHELLCHECK_URL = "https://www.shellcheck.net/wiki/{code}"  # --shellcheck findings (SC2086) have no rule page
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
GITLAB_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}
FIXABLE_MARK = "[*]"
FRAME_MAX_LINES = 5  # a code frame shows at most this many lines of a multi-line finding

Spans = list[tuple[str, str]]  # one output line as (text, rich style) pieces; style "" is plain


def render(findings: list[Finding], fmt: str, *, rules: dict[str, Rule], sources: dict[str, SourceText],
           color: bool, frames: bool, stream: IO[str]) -> None:
    """Write `findings` to `stream` in format `fmt` (one of FORMATS), sorted by path, line, column, code."""
    ordered = sorted(findings, key=Finding.sort_key)
    if fmt == "text":
        _render_text(ordered, sources, color, frames, stream)
    elif fmt == "json":
        stream.write(json.dumps([f.to_dict() for f in ordered], indent=2) + "\n")
    elif fmt == "sarif":
        stream.write(json.dumps(sarif_log(ordered, rules, sources), indent=2) + "\n")
    elif fmt == "github":
        for finding in ordered:
            stream.write(github_command(finding) + "\n")
    elif fmt == "gitlab":
        stream.write(json.dumps(gitlab_report(ordered, sources), indent=2) + "\n")
    elif fmt == "checkstyle":
        stream.write(checkstyle_report(ordered, sources))
    elif fmt == "junit":
        stream.write(junit_report(ordered, sources))
    else:
        raise ValueError(f"unknown output format {fmt!r} (expected one of {', '.join(FORMATS)})")


def use_color(stream: IO[str], no_color_flag: bool) -> bool:
    """Whether to color output on `stream`: opting out (--no-color, NO_COLOR) beats forcing (FORCE_COLOR)."""
    if no_color_flag or os.environ.get("NO_COLOR"):  # no-color.org: any non-empty value
        return False
    if os.environ.get("FORCE_COLOR"):  # force-color.org: any non-empty value
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# --- text ---------------------------------------------------------------------------------------


def _render_text(findings: list[Finding], sources: dict[str, SourceText], color: bool, frames: bool,
                 stream: IO[str]) -> None:
    lines: list[Spans] = []
    for finding in findings:
        lines.append(_finding_spans(finding))
        source = sources.get(finding.path)
        if frames and source is not None:
            lines.extend(_frame_spans(finding, source))
            lines.append([])  # a blank line keeps one finding's frame apart from the next finding
    lines.append(_summary_spans(findings))
    _emit(lines, stream, color, frames)


def _is_fixable(finding: Finding) -> bool:
    """Only safe fixes count: they are the ones `dlint fix` applies without being asked twice."""
    return finding.fix is not None and finding.fix.applicability == Applicability.SAFE


def _finding_spans(finding: Finding) -> Spans:
    # One finding, one line: a multi-line message is joined so grep and editors' error parsers work.
    message = " ".join(finding.message.splitlines())
    spans = [
        (f"{finding.path}:{finding.line}:{finding.column}:", "bold"),
        (" ", ""),
        (finding.code, "bold"),
        (" ", ""),
        (f"[{finding.severity}]", SEVERITY_STYLE[finding.severity]),
        (" " + message, ""),
    ]
    if _is_fixable(finding):
        spans.append((" " + FIXABLE_MARK, "bold green"))
    return spans


def _last_line(finding: Finding) -> int:
    """The last line the span really covers: an end at column 1 takes nothing from its line."""
    if finding.end_line > finding.line and finding.end_column == 1:
        return finding.end_line - 1
    return max(finding.end_line, finding.line)


def _frame_spans(finding: Finding, source: SourceText) -> list[Spans]:
    """The offending lines, numbered, each with a caret underline under the part the finding covers."""
    last = min(_last_line(finding), source.line_count)
    shown = list(range(finding.line, last + 1))
    hidden = max(0, len(shown) - FRAME_MAX_LINES)
    shown = shown[:FRAME_MAX_LINES]
    width = len(str(shown[-1])) if shown else 1
    gutter = " " * width + " | "
    style = SEVERITY_STYLE[finding.severity]
    frame: list[Spans] = []
    for number in shown:
        raw = source.line_text(number).rstrip("\r")
        start = finding.column - 1 if number == finding.line else 0
        end = finding.end_column - 1 if number == finding.end_line else len(raw)
        # Tabs are expanded in both the line and the caret offsets so the carets stay aligned.
        text = raw.expandtabs(4)
        lead = len(raw[:start].expandtabs(4))
        carets = max(1, len(raw[:max(end, start)].expandtabs(4)) - lead)
        frame.append([(f"{number:>{width}} | ", "blue"), (text, "")])
        frame.append([(gutter, "blue"), (" " * lead, ""), ("^" * carets, style)])
    if hidden:
        frame.append([(gutter, "blue"), (f"... {hidden} more line{'s' if hidden != 1 else ''}", "dim")])
    return frame


def _plural(count: int, word: str) -> str:
    # "info" is a mass noun: "2 info", not "2 infos".
    return f"{count} {word}" if count == 1 or word == "info" else f"{count} {word}s"


def _summary_spans(findings: list[Finding]) -> Spans:
    if not findings:
        return [("All checks passed.", "bold green")]
    by_severity = Counter(f.severity for f in findings)
    parts = [_plural(by_severity[s], str(s)) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
             if by_severity[s]]
    text = f"Found {_plural(len(findings), 'finding')} ({', '.join(parts)})"
    fixable = sum(_is_fixable(f) for f in findings)
    if fixable:
        text += f"; {fixable} fixable with `dlint fix`"
    return [(text + ".", "bold")]


def _emit(lines: list[Spans], stream: IO[str], color: bool, frames: bool) -> None:
    """Write span lines: plain text when neither color nor frames are wanted, else through rich."""
    if not (color or frames):
        for spans in lines:
            stream.write("".join(text for text, _ in spans) + "\n")
        return
    from rich.console import Console
    from rich.text import Text

    # color_system=None writes no escape codes at all; "standard" (16 colors) is forced when coloring
    # so a TERM=dumb CI log with FORCE_COLOR still gets color. markup/highlight off: messages are data.
    console = Console(file=stream, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, markup=False, highlight=False, emoji=False)
    for spans in lines:
        console.print(Text.assemble(*spans), soft_wrap=True)


def render_statistics(findings: list[Finding], stream: IO[str], color: bool) -> None:
    """--statistics: one row per code (count, code, name, fixable count), most frequent first."""
    counts = Counter(f.code for f in findings)
    names = {f.code: f.name for f in findings}
    fixable = Counter(f.code for f in findings if _is_fixable(f))
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    count_width = max((len(str(n)) for _, n in rows), default=1)
    code_width = max((len(code) for code, _ in rows), default=1)
    name_width = max((len(names[code]) for code, _ in rows), default=1)
    lines: list[Spans] = []
    for code, count in rows:
        spans = [(f"{count:>{count_width}}  ", ""), (f"{code:<{code_width}}", "bold"), ("  ", "")]
        if fixable[code]:  # pad the name only when a column follows it: no trailing blanks
            spans += [(names[code].ljust(name_width), ""), (f"  {FIXABLE_MARK} {fixable[code]} fixable", "green")]
        else:
            spans.append((names[code], ""))
        lines.append(spans)
    _emit(lines, stream, color, frames=False)


# --- fingerprints (GitLab, SARIF) ---------------------------------------------------------------


def fingerprints(findings: list[Finding], sources: dict[str, SourceText]) -> list[str]:
    """A stable sha256 per finding, from its code, path and offending text, so it survives line shifts.

    Identical keys (the same problem twice in the same text) are told apart by an occurrence counter
    in `findings` order, which callers keep sorted.
    """
    seen: Counter[str] = Counter()
    result = []
    for finding in findings:
        source = sources.get(finding.path)
        if source is not None:
            last = min(_last_line(finding), source.line_count)
            content = "\n".join(source.line_text(n).strip() for n in range(finding.line, last + 1))
        else:
            content = finding.message  # no text to hash: the message is the next most stable thing
        key = "\0".join((finding.code, finding.path, content))
        seen[key] += 1
        result.append(hashlib.sha256(f"{key}\0{seen[key]}".encode("utf-8")).hexdigest())
    return result


def _posix_path(path: str) -> str:
    """The path as a normalized forward-slash relative path (or absolute, if it was)."""
    return posixpath.normpath(PurePath(path).as_posix())


# --- SARIF --------------------------------------------------------------------------------------


def _artifact_location(path: str) -> dict:
    if PurePath(path).is_absolute():
        return {"uri": PurePath(path).as_uri()}
    # Relative to where dlint ran; %SRCROOT% lets consumers (GitHub code scanning) map it to the checkout.
    return {"uri": quote(_posix_path(path), safe="/"), "uriBaseId": "%SRCROOT%"}


def _rule_descriptor(code: str, rule: Rule | None, name: str) -> dict:
    descriptor = {"id": code, "name": rule.name if rule else name}
    if rule is not None:
        descriptor["shortDescription"] = {"text": rule.summary}
        descriptor["defaultConfiguration"] = {"level": SARIF_LEVEL[rule.severity]}
    descriptor["helpUri"] = help_url(code)
    return descriptor


def help_url(code: str) -> str:
    """Where a finding's code is explained: the rule's page, or ShellCheck's wiki for SC codes."""
    return (SHELLCHECK_URL if code.startswith("SC") else RULE_DOC_URL).format(code=code)


def _sarif_fix(finding: Finding) -> dict:
    # An edit without a path belongs to the Dockerfile that was linted (see Edit).
    by_path: dict[str, list[dict]] = {}
    for edit in finding.fix.edits:
        path = edit.path or finding.dockerfile or finding.path
        by_path.setdefault(path, []).append({
            "deletedRegion": {"charOffset": edit.start, "charLength": edit.end - edit.start},
            "insertedContent": {"text": edit.text},
        })
    return {
        "description": {"text": finding.fix.title},
        "artifactChanges": [{"artifactLocation": _artifact_location(path), "replacements": replacements}
                            for path, replacements in by_path.items()],
        "properties": {"applicability": str(finding.fix.applicability)},
    }


def sarif_log(findings: list[Finding], rules: dict[str, Rule], sources: dict[str, SourceText]) -> dict:
    """A SARIF 2.1.0 log with one run; driver.rules lists only the rules that have findings."""
    codes = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(codes)}
    names = {f.code: f.name for f in findings}
    results = []
    for finding, fingerprint in zip(findings, fingerprints(findings, sources)):
        result = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": SARIF_LEVEL[finding.severity],
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": _artifact_location(finding.path),
                "region": {"startLine": finding.line, "startColumn": finding.column,
                           "endLine": finding.end_line, "endColumn": finding.end_column},
            }}],
            "partialFingerprints": {"dlintFingerprint/v1": fingerprint},
        }
        if finding.fix is not None and finding.fix.edits:
            result["fixes"] = [_sarif_fix(finding)]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dlint",
                "informationUri": PROJECT_URL,
                "version": __version__,
                "rules": [_rule_descriptor(code, rules.get(code), names[code]) for code in codes],
            }},
            # Our columns and offsets count code points, not SARIF's default UTF-16 code units.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


# --- GitHub Actions -----------------------------------------------------------------------------


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github_command(finding: Finding) -> str:
    """One workflow command (`::error file=...::message`) that GitHub turns into an annotation."""
    last = _last_line(finding)
    props = [("file", finding.path), ("line", finding.line), ("endLine", last)]
    if last == finding.line:
        # The runner drops columns on multi-line annotations; its endColumn is inclusive, ours exclusive.
        props += [("col", finding.column), ("endColumn", max(finding.end_column - 1, finding.column))]
    props.append(("title", f"{finding.code} ({finding.name})"))
    rendered = ",".join(f"{key}={_escape_property(str(value))}" for key, value in props)
    return f"::{GITHUB_COMMAND[finding.severity]} {rendered}::{_escape_data(finding.message)}"


# --- GitLab Code Quality ------------------------------------------------------------------------


def gitlab_report(findings: list[Finding], sources: dict[str, SourceText]) -> list[dict]:
    """GitLab Code Quality (a Code Climate subset): one issue per finding."""
    return [
        {
            "type": "issue",
            "check_name": finding.code,
            "description": f"{finding.code} ({finding.name}): {finding.message}",
            "categories": ["Bug Risk" if finding.severity == Severity.ERROR else "Style"],
            "severity": GITLAB_SEVERITY[finding.severity],
            "fingerprint": fingerprint,
            "location": {"path": _posix_path(finding.path),
                         "lines": {"begin": finding.line, "end": _last_line(finding)}},
        }
        for finding, fingerprint in zip(findings, fingerprints(findings, sources))
    ]


# --- Checkstyle and JUnit XML -------------------------------------------------------------------

# Characters XML 1.0 cannot hold at all, even escaped: they are shown as U+FFFD.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _XML_INVALID.sub("\ufffd", value)


def _xml_document(root) -> str:
    import xml.etree.ElementTree as ET

    for element in root.iter():  # ElementTree escapes markup characters but not what XML cannot hold
        element.attrib = {key: _xml_text(str(value)) for key, value in element.attrib.items()}
        if element.text:
            element.text = _xml_text(element.text)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _files(findings: list[Finding], sources: dict[str, SourceText]) -> list[tuple[str, list[Finding]]]:
    """Every file checked or pointed into (the Dockerfiles in `sources` too, clean ones included), sorted,
    with its findings."""
    by_path: dict[str, list[Finding]] = {path: [] for path in sources}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    return sorted(by_path.items())


def checkstyle_report(findings: list[Finding], sources: dict[str, SourceText]) -> str:
    """Checkstyle 4.3 XML, as hadolint writes it: <file name> per file, <error line column severity message
    source="CODE"> per finding. Jenkins (Warnings NG), SonarQube, reviewdog and GitLab converters read it."""
    import xml.etree.ElementTree as ET

    root = ET.Element("checkstyle", version="4.3")
    for path, found in _files(findings, sources):
        element = ET.SubElement(root, "file", name=path)
        for finding in found:
            ET.SubElement(element, "error", line=str(finding.line), column=str(finding.column),
                          severity=str(finding.severity), message=finding.message, source=finding.code)
    return _xml_document(root)


def junit_report(findings: list[Finding], sources: dict[str, SourceText]) -> str:
    """JUnit XML for GitLab's `artifacts:reports:junit`, Jenkins' junit step and other test-report viewers:
    one <testsuite> per file, one failing <testcase> per finding, a passing one for a clean file."""
    import xml.etree.ElementTree as ET

    files = _files(findings, sources)
    tests = sum(max(1, len(found)) for _, found in files)
    root = ET.Element("testsuites", name="dlint", tests=str(tests), failures=str(len(findings)), errors="0",
                      time="0")
    for path, found in files:
        suite = ET.SubElement(root, "testsuite", name=path, tests=str(max(1, len(found))),
                              failures=str(len(found)), errors="0", skipped="0", time="0")
        if not found:
            ET.SubElement(suite, "testcase", name="dlint", classname=path, file=path, time="0")
        for finding in found:
            name = f"{finding.code} {finding.name} at {finding.line}:{finding.column}"
            case = ET.SubElement(suite, "testcase", name=name, classname=path, file=path, line=str(finding.line),
                                 time="0")
            failure = ET.SubElement(case, "failure", message=finding.message, type=str(finding.severity))
            failure.text = (f"{finding.path}:{finding.line}:{finding.column}: {finding.code} [{finding.severity}] "
                            f"{finding.message}\n{help_url(finding.code)}")
    return _xml_document(root)
