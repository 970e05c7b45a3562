"""ML001 syntax-error: what BuildKit rejects, reported as a finding rather than a crash."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import KNOWN_INSTRUCTIONS
from dockerlint_ml.registry import rule

_NOT_IN_ONBUILD = {"ONBUILD", "FROM", "MAINTAINER"}


@rule("ML001", "syntax-error", Severity.ERROR, "The Dockerfile does not parse or has an invalid instruction.")
def check(df, ctx):
    if df.error is not None:
        yield ctx.report_line(df.error.line, f"BuildKit cannot parse this file: {df.error.message}")
        return
    for instruction in df.instructions:
        problem = _problem(instruction)
        if problem:
            yield ctx.report(instruction.start, instruction.keyword_end, problem)
    leading = next((i for i in df.instructions if i.keyword != "ARG"), None)
    if leading is None or leading.keyword != "FROM":
        culprit = leading or df.instructions[-1]
        yield ctx.report(culprit.start, culprit.keyword_end,
                         "no FROM instruction before this one: a Dockerfile must start a build stage with FROM "
                         "(only ARG may come first)")


def _problem(instruction) -> str | None:
    keyword = instruction.keyword
    if keyword not in KNOWN_INSTRUCTIONS:
        return f"unknown instruction {instruction.raw_keyword!r}"
    if keyword == "ONBUILD":
        inner = instruction.sub_keyword
        if inner is None:
            return "ONBUILD requires an instruction to run later"
        if inner not in KNOWN_INSTRUCTIONS:
            return f"unknown instruction {inner!r} after ONBUILD"
        if inner in _NOT_IN_ONBUILD:
            return f"{inner} is not allowed after ONBUILD"
    if not instruction.rest.text.strip() and not instruction.heredocs:
        return f"{keyword} requires at least one argument"
    args = instruction.args
    if keyword == "FROM" and not (len(args) == 1 or (len(args) == 3 and args[1].lower() == "as")):
        return "FROM requires either one argument (the image) or three (image AS name)"
    if keyword in ("COPY", "ADD") and len(instruction.words) + len(instruction.heredocs) < 2:
        return f"{keyword} requires at least a source and a destination"
    return None
