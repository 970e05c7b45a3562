"""ML605 healthcheck-missing: the final image declares no HEALTHCHECK (off by default, as hadolint's DL3057)."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML605", "healthcheck-missing", Severity.INFO,
      "The final image has no HEALTHCHECK, so Docker cannot tell a hung server from a healthy one.",
      default_enabled=False, aliases=("DL3057",))
def check(df, ctx):
    final = df.final_stage
    if final is None:
        return
    # HEALTHCHECK carries over `FROM <stage>`; `HEALTHCHECK NONE` is a deliberate choice, so it counts.
    if any(i.keyword == "HEALTHCHECK" for stage in df.final_lineage for i in stage.instructions):
        return
    words = final.from_instruction.words
    start, end = (words[0].start, words[0].end) if words else (final.from_instruction.start, final.from_instruction.end)
    yield ctx.report(start, end,
                     "the final image has no HEALTHCHECK: Docker, Compose and Swarm report a server that hangs "
                     "(a stuck GPU, a model still loading, a dead worker) as running and keep routing to it; add "
                     "`HEALTHCHECK CMD curl -fsS http://localhost:<port>/health || exit 1`, or `HEALTHCHECK NONE` "
                     "where an orchestrator probes it instead")
