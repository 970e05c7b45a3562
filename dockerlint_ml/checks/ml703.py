"""ML703 duplicate-cmd-entrypoint-healthcheck: a stage sets CMD, ENTRYPOINT or HEALTHCHECK more than once."""

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# hadolint's severities: DL4003 (CMD) warning, DL4004 (ENTRYPOINT) and DL3012 (HEALTHCHECK) error.
_SEVERITY = {"CMD": Severity.WARNING, "ENTRYPOINT": Severity.ERROR, "HEALTHCHECK": Severity.ERROR}


@rule("ML703", "duplicate-cmd-entrypoint-healthcheck", Severity.ERROR,
      "A stage sets CMD, ENTRYPOINT or HEALTHCHECK more than once; only the last one takes effect.",
      aliases=("DL4003", "DL4004", "DL3012", "MultipleInstructionsDisallowed"))
def check(df, ctx):
    for stage in df.stages:
        seen = {}  # keyword -> the instruction it last appeared in; ONBUILD CMD belongs to a later build
        for instruction in stage.instructions:
            keyword = instruction.keyword
            if keyword not in _SEVERITY:
                continue
            earlier = seen.get(keyword)
            seen[keyword] = instruction
            if earlier is None:
                continue
            yield ctx.report(instruction.start, instruction.end,
                                 f"another {keyword} in this stage: it replaces the {keyword} at line "
                                 f"{earlier.start_line}, which never takes effect and misleads readers about what "
                                 f"the image does: delete the earlier {keyword}", severity=_SEVERITY[keyword])
