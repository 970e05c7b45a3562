"""Inline pragmas: `# dlint ignore=…`, `# dlint global ignore=…`, and hadolint's equivalents.

Codes in a pragma are resolved through the registry, so hadolint codes (DL3013) silence the dlint rules
that list them as aliases, and names work as well as codes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from dockerlint_ml.model import Dockerfile

_PRAGMA = re.compile(r"#\s*(?P<tool>dlint|hadolint)\s+(?P<scope>global\s+)?ignore\s*=\s*(?P<codes>[^\s#]*)")


@dataclass
class Pragma:
    tool: str  # "dlint" or "hadolint"
    is_global: bool
    line: int
    codes: list[tuple[str, int, int]]  # (code as written, start offset, end offset)
    instruction: int | None  # index of the instruction it silences (None for global pragmas)


def parse_pragmas(df: Dockerfile) -> list[Pragma]:
    """Pragmas on comment lines outside instructions; each non-global one binds to the next instruction."""
    source = df.source
    covered = set()
    for instruction in df.instructions:
        covered.update(range(instruction.start_line, instruction.end_line + 1))
    starts = sorted((i.start_line, i.index) for i in df.instructions)
    pragmas = []
    for line in range(1, source.line_count + 1):
        if line in covered:
            continue
        text = source.line_text(line)
        match = _PRAGMA.match(text.strip())
        if not match:
            continue
        base = source.line_start(line) + (len(text) - len(text.lstrip()))
        codes, cursor = [], match.start("codes")
        for code in match.group("codes").split(","):
            if code:
                codes.append((code, base + cursor, base + cursor + len(code)))
            cursor += len(code) + 1
        following = next((index for start, index in starts if start > line), None)
        is_global = bool(match.group("scope"))
        pragmas.append(Pragma(match.group("tool"), is_global, line, codes, None if is_global else following))
    return pragmas


def suppressions(df: Dockerfile) -> tuple[set[str], dict[int, set[str]]]:
    """(codes silenced file-wide, {instruction index: codes silenced there}) as rule codes."""
    from dockerlint_ml.registry import resolve

    file_wide: set[str] = set()
    per_instruction: dict[int, set[str]] = {}
    for pragma in parse_pragmas(df):
        codes = {rule.code for code, _, _ in pragma.codes for rule in resolve(code)}
        if pragma.is_global:
            file_wide |= codes
        elif pragma.instruction is not None:
            per_instruction.setdefault(pragma.instruction, set()).update(codes)
    return file_wide, per_instruction
