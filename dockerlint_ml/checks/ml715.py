"""ML715 legacy-key-value: `ENV key value` / `LABEL key value`, the legacy whitespace-separated form."""
import re

from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.registry import rule

_VARIABLE_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


@rule("ML715", "legacy-key-value", Severity.WARNING,
      "ENV or LABEL uses the legacy `key value` form instead of `key=value`.", aliases=("LegacyKeyValueFormat",),
      fix=Applicability.SAFE)
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
        pairs = _pairs(instruction)
        if pairs:
            suggestion = (" ".join(f"{k.value}={v.value}" for k, v in pairs) +
                          f" if these are {len(pairs)} variables, or {instruction.keyword} {suggestion} if {key} "
                          "is meant to hold it all")
        yield ctx.report(instruction.words[0].start, instruction.words[-1].end,
                         f"{instruction.keyword} {key} {value} uses the legacy `key value` form, which Docker "
                         "deprecates and where everything after the first space is one value (`ENV A 1 B 2` sets A "
                         f"to \"1 B 2\"): write {instruction.keyword} {suggestion}", fix=_fix(df, instruction, pairs))


def _pairs(instruction) -> list | None:
    """`ENV CUDA_HOME /usr/local/cuda LD_LIBRARY_PATH /usr/local/cuda/lib64`: (name, value) words when the
    value reads as more NAME value pairs, the classic mistake of the legacy form; else None."""
    words = instruction.words
    if instruction.keyword != "ENV" or len(words) < 4 or len(words) % 2:
        return None
    if not all(_VARIABLE_NAME.fullmatch(w.value) for w in words[0::2]):
        return None
    return list(zip(words[0::2], words[1::2]))


def _fix(df, instruction, pairs) -> Fix | None:
    """`KEY value` -> `KEY=value`: the blanks between key and value become `=`; a value of several words is
    put in double quotes, which keep its blanks as the legacy form did. Where the words read as NAME value
    pairs, the unsafe fix writes them as pairs instead, which changes what is set to what was surely meant.
    No fix where a value starts on a later line than its key (joining would drop the lines between, comments
    included) or where a value of several words holds quotes or backslashes, whose meaning double quotes
    would change."""
    text = df.source.text
    if pairs:
        if any("\n" in text[name.end:value.start] for name, value in pairs):
            return None
        edits = tuple(Edit(name.end, value.start, "=") for name, value in pairs)
        return Fix(f"Set {len(pairs)} variables: " + " ".join(f"{name.value}=…" for name, _ in pairs), edits,
                   Applicability.UNSAFE)
    key, first, last = instruction.words[0], instruction.words[1], instruction.words[-1]
    if "\n" in text[key.end:first.start]:
        return None
    edits = (Edit(key.end, first.start, "="),)
    if len(instruction.words) > 2:
        if any(ch in instruction.args[1] for ch in "\"'\\"):
            return None
        edits = (Edit(key.end, first.start, '="'), Edit(last.end, last.end, '"'))
    return Fix(f"Write {instruction.keyword} {instruction.args[0]}=…", edits)
