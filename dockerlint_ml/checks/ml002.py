"""ML002 unknown-pragma-code: a `# dlint ignore=` pragma that silences nothing, because its code is wrong."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.pragmas import parse_pragmas
from dockerlint_ml.registry import resolve, rule


SHELLCHECK_CODE = re.compile(r"SC\d{4}", re.IGNORECASE)  # silences `--shellcheck` findings


@rule("ML002", "unknown-pragma-code", Severity.WARNING,
      "A `# dlint ignore=` pragma names a rule code or name that does not exist.")
def check(df, ctx):
    for pragma in parse_pragmas(df):
        if pragma.tool != "dlint":
            continue  # hadolint pragmas may name hadolint-only codes (SC2086…): not ours to judge
        for code, start, end in pragma.codes:
            if not resolve(code) and not SHELLCHECK_CODE.fullmatch(code):
                yield ctx.report(start, end, f"unknown rule {code!r} in pragma: it silences nothing "
                                             "(see `dlint rules` for codes and names)")
