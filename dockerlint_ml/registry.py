"""The rule registry: every rule module in dockerlint_ml/checks registers itself with @rule."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from dockerlint_ml.finding import Applicability, Finding, Fix, Severity
from dockerlint_ml.text import SourceText


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    check: Callable[..., Iterable[Finding]]
    default_enabled: bool = True
    fix: Applicability | None = None  # the best applicability this rule's fixes can have, None: no fix
    aliases: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # option name -> default value

    @property
    def category(self) -> str:
        return CATEGORIES.get(self.code[2], "other")

    @property
    def fix_label(self) -> str:
        return "none" if self.fix is None else str(self.fix)


RULES: dict[str, Rule] = {}

# The hundreds digit of a code is its category (ML2xx: image size); `dlint rules` and the README group by it.
CATEGORIES = {
    "0": "syntax and pragmas",
    "1": "reproducibility",
    "2": "image size",
    "3": "build cache",
    "4": "GPU and CUDA",
    "5": "security and supply chain",
    "6": "serving and runtime",
    "7": "Dockerfile correctness",
}


def rule(code: str, name: str, severity: Severity, summary: str, *, default_enabled: bool = True,
         fix: Applicability | None = None, aliases: Iterable[str] = (), options: dict[str, Any] | None = None):
    """Register `check(df, ctx)` as rule `code`."""

    def register(check: Callable[..., Iterable[Finding]]):
        if code in RULES:
            raise RuntimeError(f"rule code {code} registered twice")
        RULES[code] = Rule(code, name, severity, summary, check, default_enabled, fix, tuple(aliases),
                           dict(options or {}))
        return check

    return register


_loaded = False


def all_rules() -> dict[str, Rule]:
    """Import every checks/mlNNN.py once and return the registry sorted by code."""
    global _loaded
    if not _loaded:
        from dockerlint_ml import checks

        for module in pkgutil.iter_modules(checks.__path__):
            importlib.import_module(f"{checks.__name__}.{module.name}")
        _loaded = True
    return dict(sorted(RULES.items()))


def resolve(selector: str) -> list[Rule]:
    """Rules matched by a code, a name, a hadolint alias, a code prefix (ML2) or ALL; [] if none."""
    rules = all_rules()
    key = selector.strip()
    if key.upper() == "ALL":
        return list(rules.values())
    upper = key.upper()
    if upper in rules:
        return [rules[upper]]
    by_name = [r for r in rules.values() if r.name == key.lower()]
    if by_name:
        return by_name
    by_alias = [r for r in rules.values() if upper in (a.upper() for a in r.aliases)]  # DL3000, WorkdirRelativePath
    if by_alias:
        return by_alias
    if upper.startswith("ML") and upper[2:].isdigit():
        return [r for r in rules.values() if r.code.startswith(upper)]
    return []


@dataclass
class RuleContext:
    """What a check sees besides the Dockerfile: its rule, options, the build context; and how to report."""

    rule: Rule
    source: SourceText
    options: dict[str, Any]
    build: Any = None  # context.BuildContext
    severity: Severity | None = None  # configured override

    def report(self, start: int, end: int, message: str, fix: Fix | None = None,
               source: SourceText | None = None, severity: Severity | None = None) -> Finding:
        """A finding over character offsets [start, end) of `source` (default: the Dockerfile). `severity`:
        this finding's own, where a rule's findings differ; a severity the user configured wins over both."""
        text = source or self.source
        line, column = text.position(start)
        end_line, end_column = text.position(max(end, start))
        return Finding(self.rule.code, self.rule.name, self.severity or severity or self.rule.severity, message, text.path,
                       line, column, end_line, end_column, fix, dockerfile=self.source.path)

    def report_line(self, line: int, message: str, source: SourceText | None = None, fix: Fix | None = None,
                    severity: Severity | None = None) -> Finding:
        """A finding covering the whole of 1-based `line`."""
        text = source or self.source
        return self.report(text.line_start(line), text.line_end(line), message, fix, text, severity)


def iter_codes(values: Iterable[str]) -> Iterator[str]:
    """Split comma/space separated code lists as given on the command line or in pragmas."""
    for value in values:
        for part in value.replace(",", " ").split():
            yield part
