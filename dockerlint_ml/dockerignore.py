""".dockerignore reading and matching with Docker's own rules.

The matching code is the docker SDK's (`docker.utils.build.Pattern`/`PatternMatcher`, a port of moby's
fileutils). `import docker` costs ~190 ms because `docker/__init__.py` pulls in requests, urllib3 and the
whole API client, which would blow dlint's cold-start budget. So the two SDK files we need
(`docker/utils/fnmatch.py`, `docker/utils/build.py`) are loaded under private module names inside a stub
package, which skips every `__init__.py` of the SDK; a normal import is the fallback.
"""
from __future__ import annotations

import importlib.util
import posixpath
import re
import sys
import types
import warnings
from dataclasses import dataclass
from typing import Iterable

from dockerlint_ml.text import SourceText

_STUB = "_dlint_docker_sdk"  # private package name the SDK files are loaded under
_sdk_build: types.ModuleType | None = None


def _load_module(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # registered first so relative imports inside it resolve
    spec.loader.exec_module(module)
    return module


def _load_sdk_without_init() -> types.ModuleType:
    """docker/utils/build.py executed as `_dlint_docker_sdk.utils.build`, with no SDK __init__ run."""
    spec = importlib.util.find_spec("docker")  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("docker SDK not installed")
    base = list(spec.submodule_search_locations)[0]
    package = types.ModuleType(_STUB)
    package.__path__ = [base]
    utils = types.ModuleType(f"{_STUB}.utils")
    utils.__path__ = [f"{base}/utils"]
    # build.py does `from ..constants import IS_WINDOWS_PLATFORM`; the real constants module imports the
    # SDK's version module, so a stub stands in. Build contexts are matched with Linux rules, hence False.
    constants = types.ModuleType(f"{_STUB}.constants")
    constants.IS_WINDOWS_PLATFORM = False
    sys.modules.update({_STUB: package, f"{_STUB}.utils": utils, f"{_STUB}.constants": constants})
    try:
        _load_module(f"{_STUB}.utils.fnmatch", f"{base}/utils/fnmatch.py")
        build = _load_module(f"{_STUB}.utils.build", f"{base}/utils/build.py")
        build.Pattern, build.PatternMatcher  # fail here, not later, if the SDK reshaped its module
    except BaseException:
        for name in [n for n in sys.modules if n == _STUB or n.startswith(_STUB + ".")]:
            del sys.modules[name]
        raise
    return build


def sdk_build() -> types.ModuleType:
    """The SDK's `docker.utils.build` module (loaded once, lazily: dlint runs without a .dockerignore never pay)."""
    global _sdk_build
    if _sdk_build is None:
        try:
            _sdk_build = _load_sdk_without_init()
        except Exception:
            from docker.utils import build  # slow but always right

            _sdk_build = build
    return _sdk_build


# --- reading ----------------------------------------------------------------------------------------


@dataclass
class IgnorePattern:
    """One pattern of a .dockerignore, as Docker reads it."""

    line: int
    start: int  # source offsets of the trimmed pattern text, `!` included
    end: int
    text: str  # as written (trimmed)
    pattern: str  # cleaned like Docker: filepath.Clean, leading "/" dropped, `!` kept

    @property
    def exclusion(self) -> bool:
        return self.pattern.startswith("!")


def clean_path(path: str) -> str:
    """Go's filepath.Clean on a slash path (posixpath.normpath keeps a leading "//"; Go does not)."""
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def clean_pattern(raw: str) -> str:
    """moby's ignorefile.ReadAll normalisation of one trimmed, non-comment line."""
    invert = raw.startswith("!")
    pattern = raw[1:].strip() if invert else raw
    if pattern:
        pattern = clean_path(pattern)
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
    return "!" + pattern if invert else pattern


def read_patterns(source: SourceText) -> list[IgnorePattern]:
    """Patterns of a .dockerignore: `#` lines (only at column 1) and blank lines skipped, whitespace trimmed."""
    patterns = []
    for line in range(1, source.line_count + 1):
        start, end = source.line_start(line), source.line_end(line)
        raw = source.text[start:end]
        if raw.startswith("#"):
            continue
        stripped = raw.strip()  # Go's TrimSpace also drops a trailing "\r"
        if not stripped:
            continue
        first = start + (len(raw) - len(raw.lstrip()))
        patterns.append(IgnorePattern(line, first, first + len(stripped), stripped, clean_pattern(stripped)))
    return patterns


# --- matching ---------------------------------------------------------------------------------------


def normalize_relpath(relpath: str) -> str:
    """A context-relative slash path: "./a//b/" -> "a/b", "/a" -> "a", "" -> "."."""
    cleaned = clean_path("/" + relpath)  # rooted, so ".." cannot climb out
    return cleaned.lstrip("/") or "."


class IgnoreMatcher:
    """Docker's ignore decision for context-relative paths (later patterns win, `!` re-includes).

    As in the SDK, matching is case-insensitive and `.dockerignore` itself is never ignored. Patterns the
    SDK cannot compile (e.g. "[z-a]"; Docker rejects them too) are left out and listed in `invalid`.
    """

    def __init__(self, patterns: Iterable[IgnorePattern | str]):
        self.patterns = [p.pattern if isinstance(p, IgnorePattern) else clean_pattern(p.strip()) for p in patterns]
        build = sdk_build()
        translate = sys.modules[build.fnmatch.__module__].translate
        self.invalid = [p for p in self.patterns if not _compiles(translate, build.Pattern(p).cleaned_pattern)]
        self._matcher = build.PatternMatcher([p for p in self.patterns if p not in self.invalid])
        self._fnmatch = build.fnmatch  # the function build.py imported from the SDK's fnmatch.py
        self._exclusions = [p.dirs for p in self._matcher.patterns if p.exclusion]
        # "[" in a pattern can make re.compile warn (FutureWarning: possible nested set) on every recompile
        self._quiet = any("[" in p for p in self.patterns)
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def ignored(self, relpath: str) -> bool:
        path = normalize_relpath(relpath)
        if path == ".":
            return False  # the context root itself is always sent
        result = self._cache.get(path)
        if result is None:
            result = self._cache[path] = self._matches(path)
        return result

    def _matches(self, path: str) -> bool:
        if not self._quiet:
            return bool(self._matcher.matches(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return bool(self._matcher.matches(path))

    def may_reinclude_under(self, dirpath: str) -> bool:
        """Could an exception pattern re-include something below this (ignored) directory?

        The SDK's own walk only checks a string prefix, which misses `!**/keep.txt`; BuildKit descends
        whenever an exception could match, so we err the same way (walking more is only slower).
        """
        parts = [p for p in normalize_relpath(dirpath).split("/") if p != "."]
        for dirs in self._exclusions:
            if any("**" in d for d in dirs):
                return True
            if len(dirs) > len(parts) and all(self._element_matches(part, d) for part, d in zip(parts, dirs)):
                return True
        return False

    def _element_matches(self, name: str, pattern: str) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            try:
                return bool(self._fnmatch(name, pattern))
            except re.error:  # a piece of a valid pattern may not compile alone: assume it could match
                return True


def _compiles(translate, pattern: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            re.compile(translate(pattern.lower()))  # the SDK lower-cases before translating
        except re.error:
            return False
    return True
