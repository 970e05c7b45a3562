"""The build context: which files Docker would send (after .dockerignore), COPY source globs, junk that
bloats images, and the requirements files the Dockerfile installs from.

Everything is lazy and cached, so a lint that never looks at the context never walks it. Walking is
bounded (MAX_ENTRIES) so a context holding a dataset or a home directory cannot hang dlint.

An overlay (absolute path -> SourceText) stands in for files on disk: `dlint fix` keeps the files it edited
(a pinned requirements.txt, a new .dockerignore) in memory until it writes them, and re-lints through it.
Every read of a context file goes through `read_file`, so the overlay is seen everywhere.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from dockerlint_ml.dockerignore import IgnoreMatcher, IgnorePattern, normalize_relpath, read_patterns
from dockerlint_ml.text import SourceText, read_source

if TYPE_CHECKING:  # requirements pulls in packaging (~20 ms): imported only when a file is parsed
    from dockerlint_ml.requirements import RequirementsFile

MAX_ENTRIES = 200_000

# Directory name -> junk kind. Virtualenvs are found by content instead (pyvenv.cfg, bin/activate).
JUNK_DIRS = {
    ".git": "git",
    "__pycache__": "pycache",
    ".ipynb_checkpoints": "ipynb-checkpoints",
    "node_modules": "node-modules",
    ".mypy_cache": "mypy-cache",
    ".pytest_cache": "pytest-cache",
    ".tox": "tox",
}
VENV_NAMES = {".venv", "venv", "env", ".env"}


@dataclass
class Junk:
    kind: str  # 'git' | 'venv' | 'pycache' | 'ipynb-checkpoints' | 'node-modules' | 'mypy-cache' | ...
    relpath: str
    bytes: int  # regular files under it that are not ignored


def _join(parent: str, name: str) -> str:
    return name if parent == "." else f"{parent}/{name}"


def _is_venv(path: str, name: str, names: set[str]) -> bool:
    if "pyvenv.cfg" in names:
        return True
    return name in VENV_NAMES and (os.path.isfile(f"{path}/bin/activate") or
                                   os.path.isfile(f"{path}/Scripts/activate"))


def _class_char(element: str, j: int) -> tuple[str, int] | None:
    """One class character at element[j] (Go's getEsc): an unescaped "-" or "]" there is a bad pattern."""
    if j >= len(element) or element[j] in "-]":
        return None
    if element[j] == "\\":
        j += 1
        if j >= len(element):
            return None
    return re.escape(element[j]), j + 1


def _glob_class(element: str, i: int) -> tuple[str, int] | None:
    """Regex for the Go character class opening at element[i] ("[") and the index past it; None if malformed."""
    j = i + 1
    negate = element[j:j + 1] == "^"
    if negate:
        j += 1
    ranges: list[str] = []
    while not (ranges and element[j:j + 1] == "]"):
        low = _class_char(element, j)
        if low is None:
            return None
        char, j = low
        if element[j:j + 1] == "-":
            high = _class_char(element, j + 1)
            if high is None:
                return None
            char, j = f"{char}-{high[0]}", high[1]
        ranges.append(char)
    return f"[{'^' if negate else ''}{''.join(ranges)}]", j + 1


def _glob_regex(element: str) -> re.Pattern | None:
    """Go's filepath.Match for one path element as a regex; None for a malformed pattern (ErrBadPattern)."""
    out: list[str] = []
    i = 0
    while i < len(element):
        ch = element[i]
        if ch == "[":
            parsed = _glob_class(element, i)
            if parsed is None:
                return None
            out.append(parsed[0])
            i = parsed[1]
            continue
        if ch == "\\":
            i += 1
            if i == len(element):
                return None
            out.append(re.escape(element[i]))
        else:
            out.append({"*": ".*", "?": "."}.get(ch) or re.escape(ch))  # an element holds no "/"
        i += 1
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error:  # e.g. a reversed range "[z-a]", which Go rejects too
        return None


class BuildContext:
    """A build context directory, seen the way `docker build` sends it."""

    def __init__(self, root: str | Path, dockerfile: str | Path | None = None,
                 overlay: Mapping[str, SourceText] | None = None):
        self.root = Path(root)
        # A relative Dockerfile path is taken from the current directory, like `docker build -f`.
        self.dockerfile = Path(dockerfile) if dockerfile is not None else None
        self.overlay = overlay or {}  # absolute path -> text that replaces the file on disk (or creates it)
        self.truncated = False  # set when a walk stopped at MAX_ENTRIES
        self._matcher: IgnoreMatcher | None = None
        self._matcher_built = False
        self._ignore_loaded = False
        self._ignore_source: SourceText | None = None
        self._scan: tuple[list[tuple[str, int]], list[tuple[str, str]]] | None = None
        self._requirements: dict[str, RequirementsFile | None] = {}

    # --- reading -------------------------------------------------------------------------------

    def _overlaid(self, path: str | Path) -> SourceText | None:
        return self.overlay.get(os.path.abspath(path)) if self.overlay else None

    def read_file(self, path: str | Path) -> SourceText:
        """The text of a file of the context (or beside the Dockerfile): the overlay's, else the disk's.
        Raises InputError for an unreadable, binary or non-UTF-8 file."""
        overlaid = self._overlaid(path)
        if overlaid is None:
            return read_source(str(path))
        # named as the caller names it, like a file read from disk: findings and fixes point at that path
        return SourceText(str(path), overlaid.text, overlaid.bom, overlaid.encoding)

    def read(self, relpath: str) -> SourceText:
        """`read_file` of a path relative to the context root."""
        return self.read_file(self._path(relpath))

    def _is_file(self, path: Path) -> bool:
        return self._overlaid(path) is not None or path.is_file()

    # --- .dockerignore ---------------------------------------------------------------------------

    @property
    def ignore_file(self) -> Path | None:
        """BuildKit rule: `<Dockerfile name>.dockerignore` beside the Dockerfile beats `<root>/.dockerignore`."""
        if self.dockerfile is not None:
            specific = self.dockerfile.with_name(self.dockerfile.name + ".dockerignore")
            if self._is_file(specific):
                return specific
        default = self.root / ".dockerignore"
        return default if self._is_file(default) else None

    @property
    def has_ignore_file(self) -> bool:
        return self.ignore_file is not None

    @property
    def ignore_source(self) -> SourceText | None:
        """The ignore file's text; raises InputError if it is unreadable or not UTF-8 text."""
        if not self._ignore_loaded:
            path = self.ignore_file
            self._ignore_source = self.read_file(path) if path is not None else None
            self._ignore_loaded = True
        return self._ignore_source

    @property
    def ignore_patterns(self) -> list[IgnorePattern]:
        return read_patterns(self.ignore_source) if self.ignore_source is not None else []

    @property
    def matcher(self) -> IgnoreMatcher | None:
        """None without patterns, so an ignore-free context never loads the SDK's matcher."""
        if not self._matcher_built:
            patterns = self.ignore_patterns
            self._matcher = IgnoreMatcher(patterns) if patterns else None
            self._matcher_built = True
        return self._matcher

    def ignored(self, relpath: str) -> bool:
        matcher = self.matcher
        return matcher is not None and matcher.ignored(relpath)

    # --- presence --------------------------------------------------------------------------------

    def _path(self, relpath: str) -> str:
        return str(self.root / normalize_relpath(relpath))

    def _lstat(self, relpath: str) -> os.stat_result | None:
        try:
            return os.lstat(self._path(relpath))
        except (OSError, ValueError):  # ValueError: a NUL byte in the path
            return None

    def exists(self, relpath: str) -> bool:
        """Present in the context directory, whether ignored or not (a dangling symlink counts)."""
        return self._lstat(relpath) is not None or self._overlaid(self._path(relpath)) is not None

    def is_dir(self, relpath: str) -> bool:
        info = self._lstat(relpath)
        return info is not None and stat.S_ISDIR(info.st_mode)

    # --- walking ---------------------------------------------------------------------------------

    def _walk(self) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
        """One bounded pass: (files not ignored with sizes, junk dirs as (kind, relpath)), cached."""
        if self._scan is not None:
            return self._scan
        matcher = self.matcher
        files: list[tuple[str, int]] = []
        junk: list[tuple[str, str]] = []
        # (relpath, inside junk, ignored itself): an ignored dir is walked only for re-included paths
        stack: list[tuple[str, bool, bool]] = [(".", False, False)]
        seen = 0
        while stack:
            rel, in_junk, dir_ignored = stack.pop()
            try:
                with os.scandir(self._path(rel)) as it:
                    entries = list(it)
            except OSError:
                continue  # unreadable or vanished: Docker would fail, a linter just skips it
            if not in_junk and not dir_ignored and rel != "." and _is_venv(self._path(rel), rel.rsplit("/", 1)[-1],
                                                                           {e.name for e in entries}):
                junk.append(("venv", rel))
                in_junk = True
            for entry in entries:
                seen += 1
                if seen > MAX_ENTRIES:
                    self.truncated = True
                    stack.clear()
                    break
                child = _join(rel, entry.name)
                ignored = matcher is not None and matcher.ignored(child)
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if ignored and not matcher.may_reinclude_under(child):
                            continue
                        child_junk = in_junk
                        if not in_junk and not ignored and entry.name in JUNK_DIRS:
                            junk.append((JUNK_DIRS[entry.name], child))
                            child_junk = True
                        stack.append((child, child_junk, ignored))
                    elif not ignored and entry.is_file(follow_symlinks=False):
                        files.append((child, self._size(child, entry)))
                except OSError:
                    continue
        files += self._created_files(matcher, {name for name, _ in files})
        files.sort()
        self._scan = (files, sorted(junk, key=lambda item: item[1]))
        return self._scan

    def _size(self, relpath: str, entry: os.DirEntry) -> int:
        overlaid = self._overlaid(self._path(relpath))
        return len(overlaid.encode()) if overlaid is not None else entry.stat(follow_symlinks=False).st_size

    def _created_files(self, matcher: IgnoreMatcher | None, listed: set[str]) -> list[tuple[str, int]]:
        """Overlay files under the root that are not on disk yet (a .dockerignore a fix creates)."""
        root = os.path.abspath(self.root)
        created = []
        for path, source in self.overlay.items():
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if relative.startswith("../") or relative in listed or os.path.lexists(path):
                continue
            if matcher is None or not matcher.ignored(relative):
                created.append((relative, len(source.encode())))
        return created

    def files(self) -> list[tuple[str, int]]:
        """(relpath, size) of every regular file Docker would send; symlinks are not followed."""
        return self._walk()[0]

    def size_of(self, relpath: str) -> int:
        """Bytes of the regular files at or under `relpath` that are not ignored."""
        rel = normalize_relpath(relpath)
        if rel == ".":
            return sum(size for _, size in self.files())
        prefix = rel + "/"
        return sum(size for path, size in self.files() if path == rel or path.startswith(prefix))

    def junk(self) -> list[Junk]:
        """Present, not-ignored directories that have no place in an image, with the bytes they add."""
        return [Junk(kind, rel, self.size_of(rel)) for kind, rel in self._walk()[1]]

    # --- COPY sources ----------------------------------------------------------------------------

    def match(self, pattern: str) -> list[str]:
        """Existing relpaths (files and dirs, ignored or not) a COPY/ADD source matches.

        Docker cleans the source relative to the context root ("./a", "/a" and "../a" all mean "a") and
        matches each path element with Go's filepath.Match. "." stands for the root itself.
        """
        rel = normalize_relpath(pattern)
        if rel == ".":
            return ["."] if self.root.is_dir() else []
        candidates = ["."]
        for element in rel.split("/"):
            if not re.search(r"[*?\[\\]", element):
                candidates = [c for c in (_join(p, element) for p in candidates) if self.exists(c)]
                continue
            regex = _glob_regex(element)
            if regex is None:
                return []
            candidates = [_join(p, name) for p in candidates if self.is_dir(p)
                          for name in self._listdir(p) if regex.match(name)]
        return sorted(candidates)

    def _listdir(self, relpath: str) -> list[str]:
        try:
            return sorted(os.listdir(self._path(relpath)))
        except OSError:
            return []

    # --- requirements ----------------------------------------------------------------------------

    def requirements(self, relpath: str) -> RequirementsFile | None:
        """The parsed requirements file, or None if it is not in the context (missing, a dir, or ignored).
        Raises InputError for a binary or non-UTF-8 file."""
        from dockerlint_ml.requirements import parse_requirements

        rel = normalize_relpath(relpath)
        if rel not in self._requirements:
            info = self._lstat(rel)
            regular = info is not None and stat.S_ISREG(info.st_mode) or self._overlaid(self._path(rel)) is not None
            present = regular and not self.ignored(rel)
            self._requirements[rel] = parse_requirements(self.read(rel)) if present else None
        return self._requirements[rel]

    def requirements_closure(self, relpath: str, kinds: tuple[str, ...] = ("requirement", "constraint")
                             ) -> list[RequirementsFile]:
        """The file and everything it pulls in with -r/-c (relative to the including file), each once.
        `kinds=("requirement",)` follows only -r: the files whose lines pip installs."""
        from dockerlint_ml.requirements import include_path

        result: list[RequirementsFile] = []
        seen: set[str] = set()
        pending = [normalize_relpath(relpath)]
        while pending:
            rel = pending.pop(0)
            if rel in seen:
                continue
            seen.add(rel)
            parsed = self.requirements(rel)
            if parsed is None:
                continue  # pip would fail on a missing include; other rules report that
            result.append(parsed)
            for include in (i for i in parsed.includes if i.kind in kinds):
                target = include_path(rel, include.target)
                if target is not None and not target.startswith("../") and target != "..":
                    pending.append(target)
        return result
