"""ML718 copy-ignored-file: a COPY/ADD source that .dockerignore keeps out of the build context."""
import re

from dockerlint_ml.dockerignore import IgnoreMatcher, normalize_relpath
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule

_GLOB = re.compile(r"[*?\[]")
# Patterns that exclude every entry of the context root (BuildKit's copySourceRootIgnored).
_EVERYTHING = frozenset({"*", "**", "**/*"})


@rule("ML718", "copy-ignored-file", Severity.ERROR,
      "A COPY or ADD source is excluded by .dockerignore, so the builder never receives it.",
      aliases=("CopyIgnoredFile",))
def check(df, ctx):
    build = ctx.build
    if build is None or build.matcher is None:
        return
    for instruction in df.instructions:
        if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
            continue
        for word in instruction.words[:-1]:
            if instruction.heredocs and word.value.startswith("<<") or "://" in word.value:
                continue  # a heredoc or a URL: not from the context
            value, resolved = expand(word.value if instruction.json else unquote(word.value), instruction.vars)
            if not resolved:
                continue  # set by --build-arg: which path is unknown
            excluded = excluded_path(build, value)
            if excluded is not None:
                message = _message(instruction.keyword, word.value, value, excluded, build)
                yield ctx.report(word.start, word.end, message)


def excluded_path(build, source: str) -> str | None:
    """The context path that shows `source` is excluded, or None when the builder receives something for it.

    A plain path is excluded when .dockerignore matches it (or a parent) and re-includes nothing under it.
    A glob is excluded when everything it matches is; when it matches nothing here, it is checked as written,
    as BuildKit does. The context root counts only when a pattern drops every entry and none re-includes any.
    """
    rel = normalize_relpath(source)
    if rel == ".":
        patterns = build.matcher.patterns
        everything = any(p in _EVERYTHING for p in patterns) and not any(p.startswith("!") for p in patterns)
        return "." if everything else None
    if _GLOB.search(rel):
        matches = build.match(rel)
        if matches:
            return matches[0] if all(_dropped(build, m) for m in matches) else None
    return rel if _dropped(build, rel) else None


def _dropped(build, rel: str) -> bool:
    if not build.ignored(rel):
        return False
    prefix = rel + "/"
    return not (build.is_dir(rel) and any(path.startswith(prefix) for path, _ in build.files()))


def _deciding_pattern(build, rel: str):
    """The last exclusion pattern of .dockerignore that matches `rel`: the one to change."""
    for pattern in reversed(build.ignore_patterns):
        if not pattern.exclusion and IgnoreMatcher([pattern]).ignored(rel):
            return pattern
    return None


def _message(keyword: str, source: str, value: str, excluded: str, build) -> str:
    name = build.ignore_file.name
    if excluded == ".":
        return (f"{keyword} {source} copies the whole context, but {name} excludes every entry of it: the image "
                f"gets none of your files; list what to keep with `!` patterns in {name}")
    pattern = _deciding_pattern(build, excluded)
    where = f" (line {pattern.line}: `{pattern.text}`)" if pattern else ""
    if excluded == normalize_relpath(value):
        subject = source if source == value else f"{source} ({value})"
    else:
        subject = f"{source} (everything it matches, e.g. {excluded})"
    return (f"{keyword} {subject} is excluded by {name}{where}, so the builder never receives it and the build "
            f"fails with \"not found\"; re-include it with `!{excluded}` in {name}, or stop copying it")
