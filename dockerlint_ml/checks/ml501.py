"""ML501 root-user: the final image runs as root."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import final_user

_ADVICE = ("create an unprivileged user (RUN useradd --create-home --uid 1000 app) and end with `USER app`, "
           "so that a compromised model server or notebook does not hold root in the container")


@rule("ML501", "root-user", Severity.WARNING,
      "The final image runs as root: no USER, or the last USER is root.", aliases=("DL3002",))
def check(df, ctx):
    user = final_user(df)
    if user is None or user.is_root is not True or _export_only(df):
        return
    if user.instruction is not None:
        instruction = user.instruction
        yield ctx.report(instruction.start, instruction.end,
                         f"the last USER is {user.value}, so the container runs as root: {_ADVICE}")
        return
    from_instruction = df.final_stage.from_instruction
    word = from_instruction.words[0] if from_instruction.words else from_instruction
    yield ctx.report(word.start, word.end,
                     f"no USER in the final stage or the stages it is built FROM, so the container runs as root "
                     f"(the default of {user.base.value}): {_ADVICE}")


def _export_only(df) -> bool:
    """A final `FROM scratch` stage with no CMD/ENTRYPOINT only collects files for `docker build --output`:
    nothing ever runs in it."""
    lineage = df.final_lineage
    if not lineage[-1].base.is_scratch:
        return False
    return not any(i.keyword in ("CMD", "ENTRYPOINT") for stage in lineage for i in stage.instructions)
