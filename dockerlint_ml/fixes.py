"""Applying fixes: text edits over character offsets, never overlapping, everything outside them kept byte for byte.

A rule attaches a `Fix(title, edits, applicability)` to a finding (`ctx.report(..., fix=...)`); each `Edit`
replaces text[start:end] of the Dockerfile (path None) or of another file of the build context (path = its
path as the finding names it; start == end == 0 on an empty text creates the file). This module only applies
edits; choosing fixes and looping to a fixpoint is the fix engine's job.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from dockerlint_ml.finding import Applicability, Edit, Finding, Fix


class OverlappingEdits(ValueError):
    """Two edits of one file touch the same text: they cannot both be applied in one pass."""


def apply_edits(text: str, edits: list[Edit] | tuple[Edit, ...]) -> str:
    """`text` with every edit applied; edits must not overlap (an insertion at a point is fine once)."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end or (after.start == before.start and after.end == before.end == after.start):
            raise OverlappingEdits(f"edits {before} and {after} overlap")
    parts, cursor = [], 0
    for edit in ordered:
        if not 0 <= edit.start <= edit.end <= len(text):
            raise ValueError(f"edit {edit} outside the text (length {len(text)})")
        parts += [text[cursor:edit.start], edit.text]
        cursor = edit.end
    parts.append(text[cursor:])
    return "".join(parts)


def compatible(fixes: list[Fix], chosen: list[Fix]) -> bool:
    """Whether `fixes` can join `chosen` in one pass: no two edits of a file overlap."""
    taken = [(e.path, e.start, e.end) for fix in chosen for e in fix.edits]
    for fix in fixes:
        for edit in fix.edits:
            for path, start, end in taken:
                if path == edit.path and (edit.start < end and start < edit.end or edit.start == start):
                    return False
    return True


def choose(findings: list[Finding], level: Applicability,
           isolation: Callable[[Fix], set] | None = None) -> list[Finding]:
    """The findings whose fixes one pass applies: at least `level` applicable, in file order, first come
    first served among fixes whose edits overlap (the rest wait for the next pass, on the re-linted text).
    `isolation(fix)` names what a fix changes (e.g. the instructions it touches): two fixes that share a name
    never go in one pass either, even when their edits only touch end to end."""
    chosen: list[Finding] = []
    taken: set = set()
    for finding in sorted(findings, key=Finding.sort_key):
        fix = finding.fix
        if fix is None or fix.applicability < level or fix.applicability == Applicability.DISPLAY:
            continue
        names = isolation(fix) if isolation is not None else set()
        if compatible([fix], [f.fix for f in chosen]) and not names & taken:
            chosen.append(finding)
            taken |= names
    return chosen


def newline_of(text: str) -> str:
    """The line ending a file uses (its first one), so that inserted lines match: CRLF files stay CRLF."""
    index = text.find("\n")
    return "\r\n" if index > 0 and text[index - 1] == "\r" else "\n"


def uses_crlf(text: str) -> bool:
    """Every line of `text` ends with CRLF (and at least one does)."""
    return "\r\n" in text and text.count("\n") == text.count("\r\n")


def match_newlines(text: str, edits: list[Edit] | tuple[Edit, ...]) -> list[Edit]:
    """`edits` with their line breaks made the file's: in a file whose every line ends with CRLF, a lone "\\n"
    an edit inserts becomes "\\r\\n", so a fix that forgot `newline_of` cannot leave a file with mixed endings."""
    if not uses_crlf(text):
        return list(edits)
    return [replace(e, text=re.sub(r"(?<!\r)\n", "\r\n", e.text)) if "\n" in e.text else e for e in edits]
