"""ML302 consecutive-run: back-to-back RUN instructions that could be one layer."""
from dockerlint_ml.edits import merge_runs, same_flags
from dockerlint_ml.finding import Applicability, Fix, Severity
from dockerlint_ml.registry import rule


@rule("ML302", "consecutive-run", Severity.INFO,
      "Consecutive RUN instructions with the same flags in a stage that reaches the final image.",
      aliases=("DL3059",), fix=Applicability.SAFE)
def check(df, ctx):
    for stage in df.final_lineage:
        previous = None
        for instruction in stage.instructions:
            is_run = instruction.keyword == "RUN"
            if is_run and previous is not None and same_flags(previous, instruction):
                edits = merge_runs(df, previous, instruction)
                fix = Fix(f"Join with the RUN on line {previous.start_line}", edits) if edits else None
                yield ctx.report(instruction.start, instruction.keyword_end,
                                 f"RUN follows the RUN on line {previous.start_line} with the same flags: "
                                 "each RUN adds a layer; join them with && unless the split is for caching", fix=fix)
            previous = instruction if is_run else None
