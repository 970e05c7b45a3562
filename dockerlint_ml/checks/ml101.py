"""ML101 base-image-unpinned: FROM without a tag or digest, or with `latest`."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML101", "base-image-unpinned", Severity.WARNING,
      "A base image has no tag and no digest, or uses the `latest` tag.", aliases=("DL3006", "DL3007"))
def check(df, ctx):
    for stage in df.stages:
        base = stage.base
        if stage.parent is not None or base.is_scratch or base.unresolved or base.digest or not base.value:
            continue
        if base.tag is not None and base.tag != "latest":
            continue
        word = stage.from_instruction.words[0]
        shown = base.raw if base.raw == base.value else f"{base.raw} (= {base.value})"
        why = "has no tag, so it means `latest`" if base.tag is None else "uses the `latest` tag"
        yield ctx.report(word.start, word.end, f"base image {shown} {why}: builds change whenever the image "
                                               "is republished; pin a version tag and ideally a @sha256 digest")
