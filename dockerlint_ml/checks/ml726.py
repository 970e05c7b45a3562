"""ML726 empty-continuation: an empty line inside a `\\` line continuation."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import KNOWN_INSTRUCTIONS
from dockerlint_ml.registry import rule
from dockerlint_ml.text import logical_line


@rule("ML726", "empty-continuation", Severity.WARNING,
      "An empty line sits inside a `\\` continuation; BuildKit warns and will make it an error.",
      aliases=("NoEmptyContinuation",))
def check(df, ctx):
    src = df.source
    for instruction in df.instructions:
        _, last = logical_line(src, instruction.start_line, df.escape)
        continued = range(instruction.start_line + 1, last + 1)
        empty = [n for n in continued if not src.line_text(n).strip(" \t\r\f\v")]
        if not empty:
            continue
        after = next((n for n in continued if n > empty[0] and _starts_instruction(src.line_text(n))), None)
        if after is not None:
            message = (f"line {after} ({src.line_text(after).strip()[:40]}) is read as part of this "
                       f"{instruction.keyword}, not as a new instruction: the `{df.escape}` before the empty line "
                       f"{empty[0]} continues the line across it: remove that trailing `{df.escape}`")
        else:
            numbers = f"line{'s' if len(empty) > 1 else ''} {', '.join(str(n) for n in empty)}"
            message = (f"empty {numbers} inside the continuation of this {instruction.keyword}: BuildKit warns that "
                       "empty continuation lines will become errors, and they hide where the instruction ends: "
                       "delete the empty line (or make it a `#` comment)")
        yield ctx.report_line(empty[0], message)


def _starts_instruction(line: str) -> bool:
    """An unindented upper-case instruction keyword: the start of what was meant as the next instruction."""
    word = line.split(maxsplit=1)[0] if line.strip() else ""
    return not line[:1].isspace() and word in KNOWN_INSTRUCTIONS
