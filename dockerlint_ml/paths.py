"""Shell-glob path relations: does deleting (or mounting) a glob reach a path the image holds?"""
from __future__ import annotations

import fnmatch
import posixpath

_GLOB = set("*?[")


def _element_match(pattern: str, name: str) -> bool:
    """One path element against a shell glob element: `*` matches no leading dot."""
    if pattern == name:
        return True
    if not _GLOB & set(pattern) or (name.startswith(".") and not pattern.startswith(".")):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def _elements(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def glob_relation(pattern: str, path: str) -> str | None:
    """How a deleted `pattern` relates to a created `path`: '' when it deletes the path (it or a parent
    matches), the rest of the pattern when it deletes something inside the path, else None."""
    wanted, have = _elements(pattern), _elements(path)
    common = min(len(wanted), len(have))
    if not all(_element_match(wanted[i], have[i]) for i in range(common)):
        return None
    return "" if len(wanted) <= len(have) else "/".join(wanted[len(have):])


def glob_covers(pattern: str, path: str) -> bool:
    """Whether removing (or mounting) the absolute glob `pattern` reaches `path`: it matches the path or one
    of its folders, element by element as the shell expands it (`*` never crosses a `/`)."""
    return pattern.startswith("/") and bool(_elements(pattern)) and glob_relation(
        posixpath.normpath(pattern), path) == ""
