"""ML732 copy-relative-without-workdir: COPY/ADD to a relative destination before any WORKDIR."""
from dockerlint_ml.checks.ml701 import is_relative, workdirs
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import unquote
from dockerlint_ml.registry import rule


@rule("ML732", "copy-relative-without-workdir", Severity.WARNING,
      "COPY or ADD targets a relative path while no WORKDIR is set in the stage or the stages it is built FROM.",
      aliases=("DL3045",))
def check(df, ctx):
    for instruction, workdir in workdirs(df):
        if workdir is not None or instruction.keyword not in ("COPY", "ADD") or len(instruction.words) < 2:
            continue
        word = instruction.words[-1]
        written = word.value if instruction.json else unquote(word.value)
        if is_relative(written, instruction.vars):
            yield ctx.report(word.start, word.end,
                             f"{instruction.keyword} to {written} with no WORKDIR set: the files land in the base "
                             "image's WORKDIR (`/` in most images, but not all), which moves when the base image "
                             "changes: set WORKDIR (e.g. WORKDIR /app) before it, or copy to an absolute path")
