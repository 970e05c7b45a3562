"""ML717 onbuild-misuse: ONBUILD ONBUILD, ONBUILD FROM or ONBUILD MAINTAINER."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

_FORBIDDEN = {
    "ONBUILD": "triggers cannot be chained",
    "FROM": "a trigger runs inside the child's stage and cannot start another",
    "MAINTAINER": "MAINTAINER is deprecated and not allowed as a trigger",
}


@rule("ML717", "onbuild-misuse", Severity.ERROR,
      "ONBUILD triggers ONBUILD, FROM or MAINTAINER, which Docker does not allow.", aliases=("DL3043",))
def check(df, ctx):
    for instruction in df.instructions:
        inner = instruction.sub_keyword if instruction.keyword == "ONBUILD" else None
        if inner in _FORBIDDEN:
            yield ctx.report(instruction.start, instruction.end,
                             f"ONBUILD {inner}: {_FORBIDDEN[inner]}, so BuildKit rejects the file: remove the trigger")
