"""ML705 bad-stage-name: a stage name that is duplicated, reserved, or not lower case."""

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# Names BuildKit gives a meaning of its own: `scratch` (the empty image) and `context` (the build context).
_RESERVED = frozenset({"scratch", "context"})


@rule("ML705", "bad-stage-name", Severity.ERROR,
      "A stage name is used twice, is a reserved word (scratch, context), or is not lower case.",
      aliases=("DL3024", "DL3063", "DuplicateStageName", "ReservedStageName", "StageNameCasing"))
def check(df, ctx):
    first = {}  # lower-cased name -> the stage that defined it first
    for stage in df.stages:
        if not stage.name or len(stage.from_instruction.words) < 3:
            continue
        word, key = stage.from_instruction.words[2], stage.name.lower()
        problem = next(_problems(stage.name, first.get(key)), None)  # the worst one: one finding per name
        first.setdefault(key, stage)
        if problem is not None:
            severity, message = problem
            yield ctx.report(word.start, word.end, message, severity=severity)


def _problems(name: str, earlier):
    """(severity, message) for each problem of a stage name, worst first."""
    key = name.lower()
    if earlier is not None:
        yield Severity.ERROR, (f"stage name {name} is already used at line {earlier.from_instruction.start_line} "
                               "(stage names ignore case): the builder cannot tell which one `--from` and `--target` "
                               "mean: rename one")
    if key in _RESERVED:
        what = "the empty image" if key == "scratch" else "the build context (`COPY --from=context`)"
        yield Severity.WARNING, (f"stage name {name} is a reserved word that already means {what}, so "
                                 f"`FROM {key}` and `--from={key}` become ambiguous: choose another name")
    if name != key:
        yield Severity.INFO, (f"stage name {name} is not lower case: BuildKit lower-cases stage names, so "
                              f"`--from={key}` and `--target {key}` are how it is referred to: write AS {key}")
