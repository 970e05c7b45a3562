"""ML726 empty-continuation: an empty line inside a `\\` line continuation."""
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.model import KNOWN_INSTRUCTIONS
from dockerlint_ml.registry import rule
from dockerlint_ml.text import logical_line


@rule("ML726", "empty-continuation", Severity.WARNING,
      "An empty line sits inside a `\\` continuation; BuildKit warns and will make it an error.",
      aliases=("NoEmptyContinuation",), fix=Applicability.SAFE)
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
            fix = _end_before(df, instruction, after)
        else:
            numbers = f"line{'s' if len(empty) > 1 else ''} {', '.join(str(n) for n in empty)}"
            message = (f"empty {numbers} inside the continuation of this {instruction.keyword}: BuildKit warns that "
                       "empty continuation lines will become errors, and they hide where the instruction ends: "
                       "delete the empty line (or make it a `#` comment)")
            fix = Fix(f"Delete the empty {numbers}",
                      tuple(Edit(src.line_start(n), src.line_start(n + 1), "") for n in empty))
        yield ctx.report_line(empty[0], message, fix=fix)


def _starts_instruction(line: str) -> bool:
    """An unindented upper-case instruction keyword: the start of what was meant as the next instruction."""
    word = line.split(maxsplit=1)[0] if line.strip() else ""
    return not line[:1].isspace() and word in KNOWN_INSTRUCTIONS


def _end_before(df, instruction, after: int) -> Fix | None:
    """Shown, not applied: remove the continuation character of the last line before `after` that is neither
    empty nor a comment, so that the instruction ends there and `after` starts the next one, as its author
    surely meant. It changes what the build does (and brings a new instruction to lint), so it is for the author
    to apply. Deleting the empty lines instead would keep the swallowed instruction as arguments, silently."""
    src = df.source
    for number in range(after - 1, instruction.start_line - 1, -1):
        text = src.line_text(number)
        if not text.strip() or (number > instruction.start_line and text.lstrip().startswith("#")):
            continue
        body = text.rstrip(" \t")
        if not body.endswith(df.escape):
            return None
        kept = body[:-len(df.escape)].rstrip(" \t")
        start = src.line_start(number)
        return Fix(f"End the {instruction.keyword} on line {number}",
                   (Edit(start + len(kept), start + len(text), ""),), Applicability.DISPLAY)
    return None
