"""Rule documentation: rules/MLNNN.md, shipped inside the wheel, read from the source tree when editable."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "rules"
_SOURCE_TREE = Path(__file__).resolve().parent.parent / "rules"


def rules_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _SOURCE_TREE


def rule_doc(code: str) -> str:
    return (rules_dir() / f"{code}.md").read_text(encoding="utf-8")


_FENCE = re.compile(r"^```(?P<lang>\w+)(?:[ \t]+(?P<tags>[^\n]*))?\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>ML\d{3}(?:[ ,]+ML\d{3})*)")


@dataclass
class Example:
    """A tagged example of a rule doc: `dockerfile bad|good|fixed`, with the files and config before it."""

    kind: str  # "bad", "good", "fixed", "fixed unsafe"
    dockerfile: str
    line: int  # where the block starts in the doc, for test ids
    files: dict[str, str] = field(default_factory=dict)  # `text file=PATH` blocks before it
    config: str | None = None  # a `yaml config` block before it


def examples(doc: str) -> list[Example]:
    """Tagged blocks in order; `text file=` and `yaml config` blocks attach to the next dockerfile block."""
    found, files, config = [], {}, None
    for match in _FENCE.finditer(doc):
        lang, tags, body = match.group("lang"), (match.group("tags") or "").strip(), match.group("body")
        line = doc.count("\n", 0, match.start()) + 1
        if lang == "text" and tags.startswith("file="):
            files[tags[len("file="):].strip()] = body
        elif lang == "yaml" and tags == "config":
            config = body
        elif lang == "dockerfile" and tags in ("bad", "good", "fixed", "fixed unsafe"):
            found.append(Example(tags, body, line, files, config))
            files, config = {}, None
    return found


def expected_marks(text: str) -> set[tuple[int, str]]:
    """(line, code) for each `# expect: MLNNN` comment. A comment alone on its line marks the next line
    that is neither blank nor another expect comment; a trailing one (requirements files) marks its own."""
    marks, pending = set(), []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        match = _EXPECT.search(line)
        codes = re.findall(r"ML\d{3}", match.group("codes")) if match else []
        if stripped.startswith("#") and match:
            pending.extend(codes)
            continue
        if not stripped:
            continue
        marks.update((number, code) for code in pending + codes)
        pending = []
    return marks
