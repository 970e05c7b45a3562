"""The fix engine behind `dlint fix` and `dlint check --fix`: lint, apply fixes, re-lint, until nothing applies.

One pass lints the Dockerfile (its build context read through the workspace's overlay), chooses the fixes at
the requested applicability that do not overlap (fixes.choose: first come, first served, in file order),
applies them to every file they edit and re-parses the Dockerfile. A pass that makes the Dockerfile less
valid (BuildKit rejects it, or ML001 finds more than before) is taken back; its fixes are then tried one at a
time and the ones that break the file are dropped for the rest of the run. The loop stops at a fixpoint (no
applicable fix left), at a cycle (the files are in a state seen before) or after MAX_PASSES passes.

Nothing here writes to disk: edited files live in a `Workspace` until the command line writes them all.
docs/fixing.md describes the guarantees; tests/test_fix_properties.py checks them.
"""
from __future__ import annotations

import difflib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dockerlint_ml.config import Config
from dockerlint_ml.engine import LintResult, lint_source
from dockerlint_ml.finding import Applicability, Edit, Finding
from dockerlint_ml.fixes import OverlappingEdits, apply_edits, choose, match_newlines
from dockerlint_ml.model import parse
from dockerlint_ml.text import SourceText, check_writable, decode, read_bytes, write_atomic

MAX_PASSES = 10


def with_text(source: SourceText, text: str) -> SourceText:
    """`source` holding `text`: same path, BOM and encoding, so writing it back changes only the text."""
    return SourceText(source.path, text, source.bom, source.encoding)


class Workspace:
    """The files one fix run reads and edits, by absolute path: the bytes first read (a file that changed on
    disk since is not overwritten), the current text, and the overlay the build context is linted through."""

    def __init__(self) -> None:
        self._current: dict[str, SourceText] = {}
        self._original: dict[str, bytes | None] = {}  # None: the file did not exist (a fix creates it)

    @staticmethod
    def key(path: str) -> str:
        return os.path.abspath(path)

    def read(self, path: str, missing_ok: bool = False) -> SourceText:
        """The file's current text, read from disk the first time; a missing file reads as empty when
        `missing_ok` (a fix that creates .dockerignore). Raises InputError for unreadable files."""
        key = self.key(path)
        if key not in self._current:
            if missing_ok and not os.path.lexists(path):
                self._original[key], self._current[key] = None, SourceText(path, "")
            else:
                data = read_bytes(path)
                self._original[key], self._current[key] = data, decode(path, data)
        return self._current[key]

    def holds(self, path: str) -> bool:
        return self.key(path) in self._current

    def update(self, source: SourceText) -> None:
        key = self.key(source.path)
        if key not in self._current:
            raise KeyError(f"{source.path} was not read through the workspace")
        self._current[key] = source

    @property
    def overlay(self) -> dict[str, SourceText]:
        """Absolute path -> current text of every file edited so far (what BuildContext reads instead)."""
        return {key: text for key, text in self._current.items() if self._changed(key)}

    def _changed(self, key: str) -> bool:
        original = self._original[key]
        return original is None and self._current[key].text != "" or (
            original is not None and self._current[key].encode() != original)

    def changes(self) -> list[tuple[SourceText | None, SourceText]]:
        """(text as read or None for a new file, text now) of every file whose bytes would change."""
        found = []
        for key in sorted(self._current):
            if self._changed(key):
                current, original = self._current[key], self._original[key]
                found.append((None if original is None else decode(current.path, original), current))
        return found

    def write(self) -> list[str]:
        """Write every changed file atomically; the paths written. Every file is checked against the disk
        first, so a file changed meanwhile stops the run before anything is written (ChangedOnDisk); each is
        checked again just before its rename."""
        changed = [key for key in sorted(self._current) if self._changed(key)]
        for key in changed:
            check_writable(self._current[key].path, self._original[key])
        for key in changed:
            write_atomic(self._current[key].path, self._current[key].encode(), self._original[key])
        return [self._current[key].path for key in changed]


@dataclass
class FixPass:
    """One pass: the lint it started from, the findings whose fixes it applied, the Dockerfile before and after
    and the edits of the Dockerfile as applied (offsets into `before`, line breaks matched to the file's)."""

    findings: list[Finding]
    applied: list[Finding]
    before: SourceText
    after: SourceText
    edits: list[Edit]


@dataclass
class FixResult:
    source: SourceText  # the Dockerfile as fixed
    lint: LintResult  # the lint of `source`: what remains
    passes: list[FixPass] = field(default_factory=list)
    rejected: list[Finding] = field(default_factory=list)  # fixes taken back: they broke the Dockerfile
    stop: str = "fixpoint"  # 'fixpoint' | 'cycle' | 'limit' | 'unparsable' (a Dockerfile BuildKit rejects)

    @property
    def fixed(self) -> list[Finding]:
        return [finding for step in self.passes for finding in step.applied]

    @property
    def remaining(self) -> list[Finding]:
        return self.lint.findings


class _Run:
    """The state of one Dockerfile's fix loop."""

    def __init__(self, source: SourceText, config: Config, context_dir, level: Applicability,
                 workspace: Workspace, context_edits: bool):
        self.source = source
        self.config, self.context_dir, self.level = config, context_dir, level
        self.workspace, self.context_edits = workspace, context_edits
        self.dockerfile_key = Workspace.key(source.path)
        self.rejected: dict[tuple, Finding] = {}
        self.touched: set[str] = set()  # context files this run edited
        self.df = None  # the parsed current Dockerfile, from the last lint

    def lint(self) -> LintResult:
        result = lint_source(self.source, self.config, self.context_dir, self.workspace.overlay)
        self.df = result.dockerfile
        return result

    def file_of(self, edit: Edit) -> str | None:
        """None for the Dockerfile, else the edited file's absolute path."""
        if edit.path is None:
            return None
        key = Workspace.key(edit.path)
        return None if key == self.dockerfile_key else key

    def text_of(self, key: str | None) -> SourceText:
        return self.source if key is None else self.workspace.read(key, missing_ok=True)

    def identity(self, finding: Finding) -> tuple:
        """What a fix does, independent of where the text around it moved: rejected fixes stay rejected."""
        edits = []
        for edit in finding.fix.edits:
            text = self.text_of(self.file_of(edit)).text
            edits.append((self.file_of(edit), text[edit.start:edit.end], edit.text))
        return finding.code, finding.fix.title, tuple(edits)

    def candidates(self, findings: list[Finding]) -> list[Finding]:
        usable = []
        for finding in findings:
            if finding.fix is None or finding.fix.applicability < self.level:
                continue
            if not self.context_edits and any(self.file_of(e) is not None for e in finding.fix.edits):
                continue  # reading standard input: only the Dockerfile itself can change
            if self.identity(finding) not in self.rejected:
                usable.append(finding)
        return usable

    def apply(self, chosen: list[Finding]) -> dict[str | None, SourceText] | None:
        """The new text of every file `chosen` edits, or None if their edits do not apply."""
        by_file: dict[str | None, list[Edit]] = defaultdict(list)
        for finding in chosen:
            for edit in finding.fix.edits:
                by_file[self.file_of(edit)].append(edit)
        texts = {}
        for key, edits in by_file.items():
            current = self.text_of(key)
            try:
                texts[key] = with_text(current, apply_edits(current.text, match_newlines(current.text, edits)))
            except (OverlappingEdits, ValueError):  # a fix whose own edits overlap or fall outside the file
                return None
        return texts

    def isolation(self, fix) -> set:
        """What a fix changes: the Dockerfile instructions its edits touch (an edit ending where an instruction
        starts, or starting where one ends, touches it), and the lines of other files. Two fixes of one
        instruction go in different passes, each on the text the other left: a cache mount inserted after
        `RUN ` and a merge that replaces the `RUN ` before it would otherwise land in the middle of a script."""
        names = set()
        for edit in fix.edits:
            key = self.file_of(edit)
            if key is not None:
                source = self.text_of(key)
                first, last = source.position(edit.start)[0], source.position(edit.end)[0]
                names.update((key, line) for line in range(first, last + 1))
                continue
            touched = {i.index for i in self.df.instructions if edit.start <= i.end and i.start <= edit.end}
            if not touched:  # between instructions (a comment line, the end of the file): by line
                first, last = self.source.position(edit.start)[0], self.source.position(edit.end)[0]
                touched = {("line", line) for line in range(first, last + 1)}
            names.update((None, name) for name in touched)
        return names

    def valid(self, texts: dict[str | None, SourceText] | None, baseline: float) -> bool:
        return texts is not None and (None not in texts or syntax_problems(texts[None]) <= baseline)

    def pass_texts(self, chosen: list[Finding]) -> tuple[list[Finding], dict[str | None, SourceText]]:
        """The fixes of `chosen` that keep the Dockerfile valid, and the texts they give; the others rejected."""
        baseline = syntax_problems(self.source)
        texts = self.apply(chosen)
        if self.valid(texts, baseline):
            return chosen, texts
        kept: list[Finding] = []
        texts = {}
        for finding in chosen:  # one at a time, so that one broken fix does not cost the others
            trial = self.apply(kept + [finding])
            if self.valid(trial, baseline):
                kept, texts = kept + [finding], trial
            else:
                self.rejected[self.identity(finding)] = finding
        return kept, texts

    def commit(self, texts: dict[str | None, SourceText]) -> None:
        for key, text in texts.items():
            if key is None:
                self.source = text
            else:
                self.workspace.update(text)
                self.touched.add(key)
        if self.workspace.holds(self.source.path):
            self.workspace.update(self.source)

    def state(self) -> tuple:
        return self.source.text, tuple((key, self.workspace.read(key).text) for key in sorted(self.touched))


def syntax_problems(source: SourceText) -> float:
    """How invalid a Dockerfile is: infinite when BuildKit rejects it, else the number of ML001 findings."""
    from dockerlint_ml.registry import RuleContext, all_rules

    df = parse(source)
    if df.error is not None:
        return float("inf")
    rule = all_rules()["ML001"]
    return len(list(rule.check(df, RuleContext(rule, source, {}))))


def fix_source(source: SourceText, config: Config, context_dir: str | Path | None = None,
               level: Applicability = Applicability.SAFE, workspace: Workspace | None = None,
               context_edits: bool = True) -> FixResult:
    """Fix one Dockerfile to a fixpoint. Edits of other files of the context go to `workspace` (shared by the
    Dockerfiles of one run, so each sees the others' edits); `context_edits=False` applies only fixes that
    edit the Dockerfile alone (standard input). The Dockerfile's own text is in the result, and in
    `workspace` too when it was read through it."""
    run = _Run(source, config, context_dir, level, workspace or Workspace(), context_edits)
    result = run.lint()
    if result.dockerfile.error is not None:
        return FixResult(run.source, result, stop="unparsable")  # ruff too leaves files that do not parse
    passes: list[FixPass] = []
    seen = {run.state()}
    stop = "limit"
    for _ in range(MAX_PASSES):
        chosen = choose(run.candidates(result.findings), level, run.isolation)
        if not chosen:
            stop = "fixpoint"
            break
        applied, texts = run.pass_texts(chosen)
        if not applied:
            continue  # every chosen fix was rejected: choose again among the others
        if all(texts[key].text == run.text_of(key).text for key in texts):
            for finding in applied:  # fixes that change nothing would be chosen forever
                run.rejected[run.identity(finding)] = finding
            continue
        before = run.source
        edits = match_newlines(before.text, [e for f in applied for e in f.fix.edits if run.file_of(e) is None])
        run.commit(texts)
        passes.append(FixPass(result.findings, applied, before, run.source, edits))
        result = run.lint()
        state = run.state()
        if state in seen:
            stop = "cycle"
            break
        seen.add(state)
    for finding in result.findings:  # a fix that was taken back is no fix: it is not offered again
        if finding.fix is not None and run.identity(finding) in run.rejected:
            finding.fix = None
    return FixResult(run.source, result, passes, list(run.rejected.values()), stop)


def unified_diff(before: SourceText | None, after: SourceText, name: str | None = None) -> str:
    """A unified diff of one file (from /dev/null for a new file), marking a last line without a newline."""
    name = name or after.path
    old = before.text if before is not None else ""
    lines = difflib.unified_diff(old.splitlines(keepends=True), after.text.splitlines(keepends=True),
                                 fromfile=name if before is not None else "/dev/null", tofile=name)
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
