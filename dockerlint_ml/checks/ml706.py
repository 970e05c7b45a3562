"""ML706 maintainer-deprecated: the MAINTAINER instruction."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import unquote
from dockerlint_ml.registry import rule


@rule("ML706", "maintainer-deprecated", Severity.ERROR,
      "MAINTAINER is deprecated: set the org.opencontainers.image.authors label instead.",
      aliases=("DL4000", "MaintainerDeprecated"))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword != "MAINTAINER":
            continue  # ONBUILD MAINTAINER is ML717's
        author = unquote(instruction.rest.text.strip()).replace('"', '\\"')
        yield ctx.report(instruction.start, instruction.end,
                         "MAINTAINER is deprecated and fills only the legacy `author` field that OCI tools and "
                         "registries do not show: write LABEL "
                         f'org.opencontainers.image.authors="{author}" instead')
