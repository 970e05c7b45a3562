"""ML715 legacy-key-value: `ENV key value` / `LABEL key value`, the legacy whitespace-separated form."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML715", "legacy-key-value", Severity.WARNING,
      "ENV or LABEL uses the legacy `key value` form instead of `key=value`.", aliases=("LegacyKeyValueFormat",))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword not in ("ENV", "LABEL") or not instruction.words:
            continue
        # BuildKit's rule: the legacy form is chosen when the first word has no `=`.
        if "=" in instruction.words[0].value or len(instruction.args) != 2:
            continue
        key, value = instruction.args
        quote = any(c.isspace() for c in value) and not value.startswith(("'", '"'))  # `ENV A "x y"` is quoted
        suggestion = f'{key}="{value}"' if quote else f"{key}={value}"
        yield ctx.report(instruction.words[0].start, instruction.words[-1].end,
                         f"{instruction.keyword} {key} {value} uses the legacy `key value` form, which Docker "
                         "deprecates and where everything after the first space is one value (`ENV A 1 B 2` sets A "
                         f"to \"1 B 2\"): write {instruction.keyword} {suggestion}")
