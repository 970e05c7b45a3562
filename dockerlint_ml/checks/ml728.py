"""ML728 untrusted-registry: an image pulled from a registry that the `trusted_registries` option does not list."""
import fnmatch

from dockerlint_ml.finding import Severity
from dockerlint_ml.model import parse_image
from dockerlint_ml.registry import rule

# How Docker Hub is spelled; hadolint accepts "docker.io" or "hub.docker.com" in the list for it.
DOCKER_HUB = ("docker.io", "hub.docker.com", "index.docker.io", "registry-1.docker.io")


@rule("ML728", "untrusted-registry", Severity.ERROR,
      "An image is pulled from a registry that the `trusted_registries` option does not list.",
      aliases=("DL3026",), options={"trusted_registries": []})
def check(df, ctx):
    trusted = [str(pattern).lower() for pattern in ctx.options.get("trusted_registries") or []]
    if not trusted:
        return  # inactive until configured, as hadolint's trustedRegistries
    for image, start, end in _pulled_images(df):
        registry = image.registry.lower() if image.registry else "docker.io"
        if not is_trusted(registry, trusted):
            yield ctx.report(start, end,
                             f"{image.value} is pulled from {registry}, which is not among the trusted registries "
                             f"({', '.join(trusted)}): an image there can change or be replaced without your review; "
                             "mirror it into a trusted registry and pull it from there")


def is_trusted(registry: str, trusted: list[str]) -> bool:
    """Whether `registry` matches one of the `trusted` globs (`*.gcr.io` does not match `gcr.io` itself)."""
    names = DOCKER_HUB if registry in DOCKER_HUB else (registry,)
    return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in trusted)


def _pulled_images(df):
    """(ImageRef, start, end) of every image the build pulls: FROM bases, `COPY --from=<image>` and
    `RUN --mount=from=<image>`. Earlier stages, `scratch`, and references still holding a variable (or empty
    after the ARG defaults: set by --build-arg) are not."""
    for stage in df.stages:
        base, words = stage.base, stage.from_instruction.words
        if words and base.value and stage.parent is None and not base.is_scratch and not base.unresolved and \
                df.stage_by_ref(base.value, stage.index) is None:
            yield base, words[0].start, words[0].end
    for instruction in df.instructions:
        for flag, name in _from_flags(instruction):
            if "$" in name or name.lower() in ("scratch", "context"):
                continue
            before = instruction.stage.index if instruction.stage else None
            if df.stage_by_ref(name, before) is None:
                yield parse_image(name, {}), flag.start, flag.end


def _from_flags(instruction):
    """(flag, image or stage name) of `COPY --from=x` and `RUN --mount=...,from=x`."""
    if instruction.keyword in ("COPY", "ADD"):
        flag = instruction.flag("from")
        if flag is not None and flag.value:
            yield flag, flag.value
    elif instruction.keyword == "RUN":
        for flag, mount in zip((f for f in instruction.flags if f.name == "mount" and f.value), instruction.mounts):
            if mount.get("from"):
                yield flag, mount["from"]
