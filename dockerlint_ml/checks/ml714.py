"""ML714 inconsistent-casing: instructions written in different cases, or `FROM … as` in another case than FROM."""
from __future__ import annotations

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML714", "inconsistent-casing", Severity.INFO,
      "Instruction keywords mix upper and lower case, or the `AS` of a FROM is cased unlike its FROM.",
      aliases=("ConsistentInstructionCasing", "FromAsCasing"))
def check(df, ctx):
    lower = majority_lower([i.raw_keyword for i in df.instructions])
    for instruction in df.instructions:
        keyword = instruction.raw_keyword
        expected = keyword.lower() if lower else keyword.upper()
        as_word = _as_word(instruction)
        if keyword != expected:
            yield ctx.report(instruction.start, instruction.keyword_end,
                             f"{keyword} is not in the {'lower' if lower else 'upper'} case most instructions here "
                             f"use, which makes the file harder to scan and grep: write {expected}")
        elif as_word is not None and as_word.value != _cased_like(as_word.value, keyword):
            image, name = instruction.words[0].value, instruction.words[2].value
            yield ctx.report(as_word.start, as_word.end,
                             f"`{keyword} {image} {as_word.value} {name}` mixes cases within one instruction: "
                             f"write {_cased_like(as_word.value, keyword)}")


def _cased_like(word: str, keyword: str) -> str:
    return word.lower() if keyword.islower() else word.upper()


def _as_word(instruction):
    """The `AS` of `FROM image AS name`, or None."""
    words = instruction.words
    if instruction.keyword == "FROM" and len(words) == 3 and words[1].value.lower() == "as":
        return words[1]
    return None


def majority_lower(keywords: list[str]) -> bool:
    """Whether lower case wins among the keywords written wholly in one case (as BuildKit counts; a tie is upper)."""
    return sum(k.islower() for k in keywords) > sum(k.isupper() for k in keywords)
