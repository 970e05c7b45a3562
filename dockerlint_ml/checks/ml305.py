"""ML305 add-instead-of-copy: ADD of plain local files or folders, which COPY does without ADD's magic; and
the reverse, COPY of a local tarball that a later RUN unpacks, which ADD does in one layer."""
import posixpath

from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.layers import _TAR_VALUED, TAR_SUFFIXES, has_suffix, sources
from dockerlint_ml.registry import rule
from dockerlint_ml.shell import Word, parse_args
from dockerlint_ml.text import human_size

# What ADD recognises as an archive is the content: gzip, bzip2, xz, zstd magic, or a tar header.
_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


@rule("ML305", "add-instead-of-copy", Severity.WARNING,
      "ADD is used for plain local files or folders (or a heredoc), which COPY handles without ADD's extras; "
      "or a tarball is copied in and then unpacked, which ADD does in one layer.",
      aliases=("DL3020", "DL3010"), fix=Applicability.SAFE)
def check(df, ctx):
    yield from _plain_adds(df, ctx)
    yield from _unpacked_copies(df, ctx)


def _plain_adds(df, ctx):
    for instruction in df.instructions:
        if instruction.effective_keyword != "ADD" or _uses_add_features(instruction):
            continue
        plain = [word for word, value in sources(instruction) if not _archive(value, ctx.build)]
        if instruction.heredocs and not plain:
            yield ctx.report(instruction.start, instruction.keyword_end,
                             "ADD with a heredoc does nothing COPY cannot, yet readers must check whether it "
                             "unpacks or downloads something: use COPY", fix=_copy(instruction))
            continue
        if not plain:
            continue
        names = ", ".join(w.value for w in plain)
        others = len(instruction.paths) - 1 - len(plain) - len(instruction.heredocs)
        advice = "COPY them and keep ADD for the archives and URLs" if others else "use COPY"
        yield ctx.report(instruction.start, instruction.keyword_end,
                         f"ADD of plain local files ({names}): ADD also unpacks tar archives and fetches URLs, so "
                         f"readers must guess what lands in the image and a file that happens to be a tarball gets "
                         f"unpacked; {advice}", fix=None if others else _copy(instruction))


def _copy(instruction) -> Fix | None:
    """ADD -> COPY when every source is plain: COPY takes all the flags ADD has left (--chown, --chmod, --link,
    --exclude) and heredocs. An ADD that also fetches URLs or unpacks archives is left for the author to split."""
    if instruction.keyword != "ADD":
        return None  # ONBUILD ADD: the keyword to change is not at the finding
    keyword = "copy" if instruction.raw_keyword.islower() else "COPY"
    return Fix("Use COPY", (Edit(instruction.start, instruction.keyword_end, keyword),))


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


# Names of tar archives (compressed or not), which ADD unpacks; a bare `.gz` need not hold a tar.
_TARBALLS = tuple(suffix for suffix in TAR_SUFFIXES if ".t" in suffix)
# tar options that make the result differ from what ADD would unpack.
_SELECTIVE = ("--strip-components", "--transform", "--xform", "--exclude", "--wildcards", "-O", "--to-stdout",
              "-X", "--exclude-from", "-T", "--files-from", "-k", "--keep-old-files", "--skip-old-files")


def _unpacked_copies(df, ctx):
    """COPY of a local tarball (no --from) that a later RUN of the same stage unpacks whole with tar: the packed
    copy stays in the COPY layer. Only the stages that reach the final image count."""
    for stage in df.final_lineage:
        copied = {}  # archive file name -> (COPY instruction, source word, source value)
        for instruction in stage.instructions:
            if instruction.keyword == "COPY" and instruction.flag("from") is None:
                copied.update(_copied_tarballs(instruction))
            elif instruction.keyword == "RUN":
                for command in instruction.commands:
                    name = _unpacked_archive(command)
                    if name not in copied:
                        continue
                    _, word, value = copied.pop(name)
                    yield ctx.report(word.start, word.end, _unpack_message(word, value, instruction, ctx.build))


def _copied_tarballs(instruction):
    paths = instruction.paths
    if len(paths) < 2:
        return {}
    found = {posixpath.basename(value): (instruction, word, value) for word, value in sources(instruction)
             if has_suffix(value, _TARBALLS)}
    destination = paths[-1][1]
    if len(found) == 1 and has_suffix(destination, _TARBALLS):  # `COPY x.tgz /tmp/model.tgz`: renamed
        found = {posixpath.basename(destination): next(iter(found.values()))}
    return found


def _unpacked_archive(command) -> str | None:
    """The file name of the archive a `tar -x` (or old-style `tar xzf`) unpacks whole; None otherwise."""
    if command.name != "tar":
        return None
    words = command.argv[1:]
    if words and not words[0].value.startswith("-") and not words[0].expands:
        first = words[0]  # old style: the first word holds the option letters
        words = [Word("-" + first.value, first.start, first.end, first.offsets[:1] + first.offsets)] + words[1:]
    options, members = parse_args(words, _TAR_VALUED)
    names = {o.name for o in options}
    archives = [o.value.value for o in options if o.name in ("-f", "--file") and o.value is not None]
    if not names & {"-x", "--extract", "--get"} or not archives or members or any(
            name.startswith(_SELECTIVE) for name in names):
        return None
    return posixpath.basename(archives[-1])


def _unpack_message(word, value: str, run, build) -> str:
    size = build.size_of(value) if build is not None else 0
    weight = f" ({human_size(size)})" if size else ""
    return (f"{value} is copied in packed and unpacked by tar at line {run.start_line}: the packed copy{weight} stays "
            f"in this COPY layer and ships with the image even if the RUN deletes it; `ADD {word.value} <folder>/` "
            "unpacks it in a single layer")
