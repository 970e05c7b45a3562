"""ML701 relative-workdir: a WORKDIR that is not an absolute path."""
from __future__ import annotations

import posixpath
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import known
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule

_DRIVE = re.compile(r"[A-Za-z]:")  # Windows images: C:\app


@rule("ML701", "relative-workdir", Severity.ERROR,
      "A WORKDIR is a relative path, so where it points depends on the base image's WORKDIR.",
      aliases=("DL3000", "WorkdirRelativePath"))
def check(df, ctx):
    for instruction, before in workdirs(df):
        if instruction.keyword != "WORKDIR" or not instruction.words:
            continue
        written = unquote(instruction.rest.text.strip())
        if not is_relative(written, instruction.vars):
            continue
        # hadolint judges the path as written; Docker judges the expanded path, and only the first WORKDIR of the
        # stage and its FROM-stage ancestors (the later ones are fixed by fixing it).
        as_written = not written.startswith("$")
        if not as_written and before is not None:
            continue
        value = expand(written, known(instruction.vars))[0]
        start, end = instruction.words[0].start, instruction.words[-1].end
        yield ctx.report(start, end, _message(value, before), severity=None if as_written else Severity.WARNING)


def _message(path: str, before: str | None) -> str:
    if before:  # an absolute WORKDIR came earlier: say what this one means
        absolute = posixpath.normpath(posixpath.join(before, path))
        return (f"WORKDIR {path} is relative (here it means {absolute}), so its meaning depends on every earlier "
                f"WORKDIR: write WORKDIR {absolute}")
    if before == "":
        return (f"WORKDIR {path} is relative to an earlier WORKDIR whose path is not known here, so nobody reading "
                "this line knows where it points: write the absolute path")
    if path.startswith("~"):
        return (f"WORKDIR {path} is relative: WORKDIR does not expand `~`, so this creates a directory named `~` "
                "inside the base image's WORKDIR: write the absolute home path (WORKDIR /root/…)")
    return (f"WORKDIR {path} is relative to the base image's WORKDIR, which this Dockerfile does not set and which "
            f"changes when the base image does, moving every later COPY and RUN: write an absolute path "
            f"(WORKDIR {posixpath.normpath('/' + path)})")


def is_absolute(path: str) -> bool:
    """An absolute image path: `/…`, or a drive path (`C:\\…`) of a Windows image, as BuildKit's IsAbs reads it."""
    return path.startswith("/") or bool(_DRIVE.match(path))


def is_relative(written: str, variables: dict[str, str]) -> bool:
    """Whether a path (quotes removed) is relative once ARG/ENV are expanded. A path that starts with a variable
    with no value here (the base image's ENV, an ARG without default) gets the benefit of the doubt."""
    value, resolved = expand(written, known(variables))
    return not is_absolute(value) and (resolved or not written.startswith("$"))


def workdirs(df):
    """Each instruction of each stage, with the WORKDIR in effect before it: None while no WORKDIR was set in the
    stage or its FROM-stage ancestors (the base image's applies), "" when one was set but its path is unknown."""
    at_end: dict[int, str | None] = {}
    for stage in df.stages:
        current = at_end.get(stage.parent.index) if stage.parent else None
        for instruction in stage.instructions:
            yield instruction, current
            if instruction.keyword == "WORKDIR":
                current = _resolve(current, instruction)
        at_end[stage.index] = current


def _resolve(current: str | None, instruction) -> str:
    value, resolved = expand(unquote(instruction.rest.text.strip()), known(instruction.vars))
    if not resolved:
        return ""
    if is_absolute(value):
        return posixpath.normpath(value)
    return posixpath.normpath(posixpath.join(current, value)) if current else ""
