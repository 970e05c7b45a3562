"""ML003 inline-pragma: an inline `# dlint ignore=` / `# hadolint ignore=` pragma (off by default, as hadolint's
DL1001)."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.pragmas import parse_pragmas
from dockerlint_ml.registry import rule


@rule("ML003", "inline-pragma", Severity.INFO,
      "An inline `# dlint ignore=` or `# hadolint ignore=` pragma silences a finding next to the code.",
      default_enabled=False, aliases=("DL1001",))
def check(df, ctx):
    for pragma in parse_pragmas(df):
        if pragma.tool not in ("dlint", "hadolint") or pragma.is_global:
            continue
        codes = ",".join(code for code, _, _ in pragma.codes)
        text = df.source.line_text(pragma.line)
        start = df.source.line_start(pragma.line) + len(text) - len(text.lstrip())
        yield ctx.report(start, df.source.line_end(pragma.line),
                         f"`# {pragma.tool} ignore={codes}` silences {codes} for the next instruction, out of sight "
                         "of anyone reviewing the project's lint settings; fix what it reports, or turn the rule off "
                         "for the project in the configuration (`ignore:`) where the choice is visible")
