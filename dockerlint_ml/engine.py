"""Lint one Dockerfile: run the enabled rules, then drop what pragmas silence."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from dockerlint_ml.config import Config
from dockerlint_ml.finding import Finding
from dockerlint_ml.model import Dockerfile, parse
from dockerlint_ml.pragmas import suppressions
from dockerlint_ml.registry import RuleContext
from dockerlint_ml.text import InputError, SourceText


class RuleCrash(Exception):
    """A rule raised: a bug in dlint, reported as one line (exit 2) rather than a traceback."""


class ToolError(Exception):
    """An external program dlint was asked to run (shellcheck) is missing or broken: exit 2, one line."""


@dataclass
class LintResult:
    dockerfile: Dockerfile
    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, SourceText] = field(default_factory=dict)  # every file a finding points into


def lint_source(source: SourceText, config: Config, context_dir: str | Path | None = None,
                overlay: Mapping[str, SourceText] | None = None) -> LintResult:
    """Lint one Dockerfile. `overlay` (absolute path -> text) replaces files of the context on disk: the fix
    engine re-lints the requirements files and .dockerignore it edited before writing them."""
    from dockerlint_ml.context import BuildContext

    df = parse(source)
    root = Path(context_dir) if context_dir is not None else Path(source.path).parent
    dockerfile = Path(source.path) if os.path.isfile(source.path) else None
    build = BuildContext(root, dockerfile, overlay)
    result = LintResult(df, sources={source.path: source})
    for rule in config.enabled_rules():
        ctx = RuleContext(rule, source, config.rule_options(rule), build, config.severity.get(rule.code))
        try:
            found = list(rule.check(df, ctx))
        except InputError:
            raise  # a file of the context that cannot be read (.dockerignore, requirements): the user's error
        except Exception as exc:  # noqa: BLE001 - any rule bug must surface as one line, not a traceback
            raise RuleCrash(f"{source.path}: internal error in rule {rule.code} ({rule.name}): "
                            f"{type(exc).__name__}: {exc}") from exc
        for finding in found:
            if finding.path != source.path:
                finding.path = _display_path(finding.path)
            result.findings.append(finding)
    if config.shellcheck:
        from dockerlint_ml import shellcheck

        result.findings.extend(shellcheck.lint(df, config))
    result.findings = _unsuppressed(df, result.findings)
    result.findings.sort(key=Finding.sort_key)
    for finding in result.findings:
        if finding.path not in result.sources:
            result.sources[finding.path] = _source_of(finding.path, build)
    return result


def _unsuppressed(df: Dockerfile, findings: list[Finding]) -> list[Finding]:
    file_wide, per_instruction = suppressions(df)
    if not file_wide and not per_instruction:
        return findings
    line_to_instruction = {}
    for instruction in df.instructions:
        for line in range(instruction.start_line, instruction.end_line + 1):
            line_to_instruction[line] = instruction.index
    kept = []
    for finding in findings:
        if finding.code in file_wide:
            continue
        if finding.path == df.path and finding.code in per_instruction.get(line_to_instruction.get(finding.line), ()):
            continue
        kept.append(finding)
    return kept


def _display_path(path: str) -> str:
    """Paths under the working directory are shown relative to it, as the user typed the Dockerfile's."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _source_of(path: str, build) -> SourceText | None:
    """The text of a file a finding points into, for code frames; a finding stands without it."""
    try:
        return build.read_file(path)
    except InputError:
        return None
