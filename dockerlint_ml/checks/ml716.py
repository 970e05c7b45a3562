"""ML716 invalid-instruction-order: an instruction other than ARG before the first FROM."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import KNOWN_INSTRUCTIONS
from dockerlint_ml.registry import rule


@rule("ML716", "invalid-instruction-order", Severity.ERROR,
      "An instruction other than ARG comes before the first FROM.", aliases=("DL3061",))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword == "FROM":
            return
        if instruction.keyword != "ARG" and instruction.keyword in KNOWN_INSTRUCTIONS:  # unknown ones: ML001
            yield ctx.report(instruction.start, instruction.keyword_end,
                             f"{instruction.raw_keyword} comes before the first FROM, where only ARG (and comments "
                             "and parser directives) may stand: there is no image yet to apply it to, so the build "
                             "fails: move it below the FROM")
