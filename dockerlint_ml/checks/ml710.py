"""ML710 copy-multi-source-dest: COPY/ADD of several sources into a destination that is not a directory."""
import posixpath

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML710", "copy-multi-source-dest", Severity.ERROR,
      "COPY or ADD has several sources but its destination does not end with `/`.", aliases=("DL3021",))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword not in ("COPY", "ADD") or len(instruction.paths) < 3:  # two sources and a destination
            continue
        sources = instruction.paths[:-1]  # heredocs (`COPY <<EOF <<EOF2 /dst`) are sources too
        dest_word, dest = instruction.paths[-1]
        if _is_directory(dest_word.value, dest):
            continue
        written = dest_word.value.strip("\"'")
        yield ctx.report(dest_word.start, dest_word.end,
                         f"{instruction.keyword} has {len(sources)} sources but its destination {written} does not "
                         "end with `/`: the legacy builder rejects it, and readers cannot tell whether a directory "
                         f"or a single file is meant: write {written.rstrip('/')}/")


def _is_directory(raw: str, dest: str) -> bool:
    """A destination that can only be a directory: ends with `/`, or names `.` or `..` (the WORKDIR or its parent),
    which BuildKit copies into. `raw` as written, `dest` with quotes removed and variables expanded."""
    return raw.rstrip("\"'").endswith("/") or dest.endswith("/") or posixpath.basename(dest) in (".", "..")
