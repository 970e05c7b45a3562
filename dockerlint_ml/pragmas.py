"""Inline pragmas: `# dlint ignore=…`, `# dlint global ignore=…`, `# dlint stage ignore=…`, hadolint's
equivalents, and Docker's build-check directive `# check=skip=…`.

Codes in a pragma are resolved through the registry, so hadolint codes (DL3013) and Docker build-check names
(JSONArgsRecommended) silence the dlint rules that list them as aliases, and names work as well as codes.
ShellCheck codes (SC2086) are kept as they are, for the --shellcheck findings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from dockerlint_ml.model import Dockerfile

_PRAGMA = re.compile(
    r"#\s*(?P<tool>dlint|hadolint)\s+(?:(?P<scope>global|stage)\s+)?ignore\s*=\s*(?P<codes>[^\s#]*)")
# Docker's `# check=skip=A,B;error=true`: file-wide in the parser-directive header, else (newer BuildKit)
# for the next instruction only.
_CHECK = re.compile(r"#\s*check\s*=\s*(?:[^;]*;)*?\s*skip\s*=\s*(?P<codes>[^;\s]*)", re.IGNORECASE)
_SHELLCHECK_CODE = re.compile(r"SC\d{4}", re.IGNORECASE)
_LINTER_CODE = re.compile(r"[A-Za-z]{2}\d+")


@dataclass
class Pragma:
    tool: str  # "dlint", "hadolint", or "check" (Docker's build-check directive)
    is_global: bool
    line: int
    codes: list[tuple[str, int, int]]  # (code as written, start offset, end offset)
    instruction: int | None  # index of the instruction it silences (None for global pragmas)
    stage: bool = False  # `stage ignore=` (hadolint 2.15): silences the whole stage of that instruction


def parse_pragmas(df: Dockerfile) -> list[Pragma]:
    """Pragmas on comment lines outside instructions; each non-global one binds to the next instruction."""
    source = df.source
    covered = set()
    for instruction in df.instructions:
        covered.update(range(instruction.start_line, instruction.end_line + 1))
    starts = sorted((i.start_line, i.index) for i in df.instructions)
    header = len(df.directives)  # parser directives are the file's first lines
    pragmas = []
    for line in range(1, source.line_count + 1):
        if line in covered:
            continue
        text = source.line_text(line)
        match = _PRAGMA.match(text.strip())
        check = None if match else _CHECK.match(text.strip())
        if not (match or check):
            continue
        found = match or check
        base = source.line_start(line) + (len(text) - len(text.lstrip()))
        codes, cursor = [], found.start("codes")
        for code in found.group("codes").split(","):
            if code:
                codes.append((code, base + cursor, base + cursor + len(code)))
            cursor += len(code) + 1
        following = next((index for start, index in starts if start > line), None)
        is_global = match.group("scope") == "global" if match else line <= header
        tool = match.group("tool") if match else "check"
        stage = bool(match) and match.group("scope") == "stage"
        pragmas.append(Pragma(tool, is_global, line, codes, None if is_global else following, stage))
    return pragmas


def _silenced(pragma: Pragma, code: str) -> set[str]:
    """What one code of a pragma silences: rule codes, or a ShellCheck code as written (upper case)."""
    from dockerlint_ml.registry import all_rules, resolve

    if _SHELLCHECK_CODE.fullmatch(code):
        return {code.upper()}
    if pragma.tool == "check" and code.lower() == "all":
        # skip=all means every Docker build check: the rules that have a build-check name among their aliases.
        return {r.code for r in all_rules().values()
                if any(not _LINTER_CODE.fullmatch(alias) for alias in r.aliases)}
    return {rule.code for rule in resolve(code)}


def suppressions(df: Dockerfile) -> tuple[set[str], dict[int, set[str]]]:
    """(codes silenced file-wide, {instruction index: codes silenced there}) as rule codes and SC codes."""
    file_wide: set[str] = set()
    per_instruction: dict[int, set[str]] = {}
    for pragma in parse_pragmas(df):
        codes = {silenced for code, _, _ in pragma.codes for silenced in _silenced(pragma, code)}
        if pragma.is_global:
            file_wide |= codes
        elif pragma.instruction is not None:
            silenced = [pragma.instruction]
            stage = df.instructions[pragma.instruction].stage
            if pragma.stage and stage is not None:
                silenced = [instruction.index for instruction in stage.instructions]
            for index in silenced:
                per_instruction.setdefault(index, set()).update(codes)
    return file_wide, per_instruction
