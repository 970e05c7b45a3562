"""ML305 add-instead-of-copy: ADD of plain local files or folders, which COPY does without ADD's magic."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import TAR_SUFFIXES, has_suffix, sources
from dockerlint_ml.registry import rule

# What ADD recognises as an archive is the content: gzip, bzip2, xz, zstd magic, or a tar header.
_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


@rule("ML305", "add-instead-of-copy", Severity.WARNING,
      "ADD is used for plain local files or folders (or a heredoc), which COPY handles without ADD's extras.",
      aliases=("DL3020",))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.effective_keyword != "ADD" or _uses_add_features(instruction):
            continue
        plain = [word for word, value in sources(instruction) if not _archive(value, ctx.build)]
        if instruction.heredocs and not plain:
            yield ctx.report(instruction.start, instruction.keyword_end,
                             "ADD with a heredoc does nothing COPY cannot, yet readers must check whether it "
                             "unpacks or downloads something: use COPY")
            continue
        if not plain:
            continue
        names = ", ".join(w.value for w in plain)
        others = len(instruction.paths) - 1 - len(plain) - len(instruction.heredocs)
        advice = "COPY them and keep ADD for the archives and URLs" if others else "use COPY"
        yield ctx.report(instruction.start, instruction.keyword_end,
                         f"ADD of plain local files ({names}): ADD also unpacks tar archives and fetches URLs, so "
                         f"readers must guess what lands in the image and a file that happens to be a tarball gets "
                         f"unpacked; {advice}")


def _uses_add_features(instruction) -> bool:
    """Options only ADD has: checksum-verified downloads, git checkouts with .git, explicit unpacking."""
    return any(instruction.flag(name) is not None for name in ("checksum", "keep-git-dir", "unpack"))


def _archive(value: str, build) -> bool:
    """A source ADD would unpack: a tarball name, or a context file whose content is compressed or tar."""
    if has_suffix(value.rstrip("/"), TAR_SUFFIXES):
        return True
    if build is None:
        return False
    for rel in build.match(value):
        if not build.is_dir(rel) and _archive_content(build.root / rel):
            return True
    return False


def _archive_content(path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(263)
    except OSError:
        return False
    return head.startswith(_MAGIC) or head[257:262] == b"ustar"
