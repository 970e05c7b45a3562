"""ML101 base-image-unpinned: FROM without a tag or digest, or with `latest`."""
import re

from dockerlint_ml import pins
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.registry import rule

# The characters an image reference can hold; anything else (`ARG BASE=<jupyter>`, a placeholder the build
# must override) is no image at all, which a missing tag is the least of (InvalidDefaultArgInFrom's concern).
_REFERENCE = re.compile(r"[A-Za-z0-9._:/@-]+")
_WHOLE_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<plain>[A-Za-z_]\w*))")


@rule("ML101", "base-image-unpinned", Severity.WARNING,
      "A base image has no tag and no digest, or uses the `latest` tag.", aliases=("DL3006", "DL3007"),
      fix=Applicability.UNSAFE, options={"pin_digests": False})
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
        fix = _digest_fix(df, word, base) if ctx.options.get("pin_digests") else None
        yield ctx.report(word.start, word.end, f"base image {shown} {why}: builds change whenever the image "
                                               "is republished; pin a version tag and ideally a @sha256 digest",
                         fix=fix)


def _digest_fix(df, word, base):
    """Append the digest of the local image of that name, where the reference is written: in the FROM, or in
    the default of the global ARG that `FROM ${BASE}` names. Unsafe: the local image may be older than what
    the tag points to today, and the digest is the one pulled for this machine's platform or index."""
    digest = pins.local_digest(base)
    if digest is None:
        return None
    where = word.end if word.value == base.value else _arg_default_end(df, word.value, base.value)
    if where is None:
        return None
    return Fix(f"pin {base.value} to the local image's digest {digest}", (Edit(where, where, f"@{digest}"),),
               Applicability.UNSAFE)


def _arg_default_end(df, raw, value):
    """End offset of the default `value` of the global ARG that `raw` (`${BASE}` or `$BASE`) is; None
    unless the default is written literally there."""
    match = _WHOLE_VARIABLE.fullmatch(raw)
    if match is None:
        return None
    name = match.group("braced") or match.group("plain")
    found = None
    for instruction in df.instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            for arg in instruction.words:
                if arg.value.partition("=")[0] == name:
                    found = arg
    if found is None or found.value != f"{name}={value}":
        return None  # no default, a quoted one, or one built from other variables
    return found.end
