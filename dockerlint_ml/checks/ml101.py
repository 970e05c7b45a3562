"""ML101 base-image-unpinned: FROM without a tag or digest, or with `latest`."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# The characters an image reference can hold; anything else (`ARG BASE=<jupyter>`, a placeholder the build
# must override) is no image at all, which a missing tag is the least of (InvalidDefaultArgInFrom's concern).
_REFERENCE = re.compile(r"[A-Za-z0-9._:/@-]+")


@rule("ML101", "base-image-unpinned", Severity.WARNING,
      "A base image has no tag and no digest, or uses the `latest` tag.", aliases=("DL3006", "DL3007"))
def check(df, ctx):
    for stage in df.stages:
        base = stage.base
        if stage.parent is not None or base.is_scratch or base.unresolved or base.digest:
            continue
        if not _REFERENCE.fullmatch(base.value):
            continue
        if base.tag is not None and base.tag != "latest":
            continue
        word = stage.from_instruction.words[0]
        shown = base.raw if base.raw == base.value else f"{base.raw} (= {base.value})"
        why = "has no tag, so it means `latest`" if base.tag is None else "uses the `latest` tag"
        yield ctx.report(word.start, word.end, f"base image {shown} {why}: builds change whenever the image "
                                               "is republished; pin a version tag and ideally a @sha256 digest")
