"""ML706 maintainer-deprecated: the MAINTAINER instruction."""
import re

from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.model import unquote
from dockerlint_ml.registry import rule

AUTHORS = "org.opencontainers.image.authors"
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')  # one quoted string, as LABEL reads it


@rule("ML706", "maintainer-deprecated", Severity.ERROR,
      "MAINTAINER is deprecated: set the org.opencontainers.image.authors label instead.",
      aliases=("DL4000", "MaintainerDeprecated"), fix=Applicability.SAFE)
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword != "MAINTAINER":
            continue  # ONBUILD MAINTAINER is ML717's
        author = unquote(instruction.rest.text.strip()).replace('"', '\\"')
        yield ctx.report(instruction.start, instruction.end,
                         "MAINTAINER is deprecated and fills only the legacy `author` field that OCI tools and "
                         "registries do not show: write LABEL "
                         f'org.opencontainers.image.authors="{author}" instead', fix=_fix(instruction))


def _fix(instruction) -> Fix | None:
    """`MAINTAINER x` -> `LABEL org.opencontainers.image.authors="x"`, editing only the keyword and the value's
    characters so that comment lines inside a continuation stay. LABEL expands `$` and reads quotes and
    backslashes, which MAINTAINER takes literally: those are escaped. A value that is one quoted string keeps
    its quotes (the label holds what is inside them, as the message says)."""
    rest = instruction.rest
    value = rest.text.rstrip()
    if not value:
        return None
    keyword = "label" if instruction.raw_keyword.islower() else "LABEL"
    start = rest.offsets[0]
    edits = [Edit(instruction.start, instruction.keyword_end, keyword)]
    if _QUOTED.fullmatch(value):
        edits.append(Edit(start, start, f"{AUTHORS}="))
    else:
        edits.append(Edit(start, start, f'{AUTHORS}="'))
        edits += [Edit(rest.offsets[i], rest.offsets[i], "\\") for i, ch in enumerate(value) if ch in '"\\$']
        end = rest.offsets[len(value) - 1] + 1
        edits.append(Edit(end, end, '"'))
    return Fix(f"Replace MAINTAINER with LABEL {AUTHORS}", tuple(edits))
