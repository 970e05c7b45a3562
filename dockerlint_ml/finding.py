"""What a rule reports: findings, their positions and their fixes."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> "Severity":
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r} (expected error, warning or info)") from None


class Applicability(IntEnum):
    """How far a fix may be trusted: SAFE fixes apply by default, UNSAFE on request, DISPLAY never."""

    DISPLAY = 0
    UNSAFE = 1
    SAFE = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] of `path` (None: the Dockerfile itself) with `text`."""

    start: int
    end: int
    text: str
    path: str | None = None


@dataclass(frozen=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    applicability: Applicability = Applicability.SAFE


@dataclass(frozen=True)
class Span:
    """1-based, inclusive start and exclusive-end columns, in `path` (None: the Dockerfile)."""

    line: int
    column: int
    end_line: int
    end_column: int
    path: str | None = None


@dataclass
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: Fix | None = None
    # The Dockerfile whose lint produced this finding (differs from `path` for requirements files).
    dockerfile: str = field(default="", compare=False)

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.code)

    def to_dict(self) -> dict:
        """The stable JSON shape documented in docs/output-formats.md."""
        fix = None
        if self.fix is not None:
            fix = {
                "title": self.fix.title,
                "applicability": str(self.fix.applicability),
                "edits": [
                    {"path": e.path or self.dockerfile or self.path, "start": e.start, "end": e.end, "text": e.text}
                    for e in self.fix.edits
                ],
            }
        return {
            "code": self.code,
            "name": self.name,
            "severity": str(self.severity),
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "message": self.message,
            "fix": fix,
        }
