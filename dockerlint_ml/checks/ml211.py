"""ML211 dockerignore-missing: a directory COPY with no .dockerignore, or one that lets junk in."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.text import human_size


@rule("ML211", "dockerignore-missing", Severity.WARNING,
      "A directory is copied from a context that has no .dockerignore, or whose .dockerignore lets junk in.")
def check(df, ctx):
    build = ctx.build
    if build is None:
        return
    for instruction, source, copied in _directory_copies(df, build):
        junk = [j for j in build.junk() if _under(j.relpath, copied)]
        junk_bytes = sum(j.bytes for j in junk)
        listing = ", ".join(f"{j.relpath} ({human_size(j.bytes)})" for j in junk[:4]) + (" …" if len(junk) > 4 else "")
        if not build.has_ignore_file:
            detail = f"; it would include {listing}" if junk else ""
            yield ctx.report(source.start, source.end,
                             f"COPY {source.value} copies a directory but the context has no .dockerignore: "
                             f"everything in it is sent and baked in ({human_size(build.size_of(copied))}{detail}); "
                             "add a .dockerignore")
        elif junk:
            yield ctx.report(source.start, source.end,
                             f"COPY {source.value} brings in {human_size(junk_bytes)} of files no image needs: "
                             f"{listing}; add them to {build.ignore_file.name}")
        return  # one report per Dockerfile: the fix is one .dockerignore


def _directory_copies(df, build):
    for instruction in df.instructions:
        if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
            continue
        for word, value in instruction.paths[:-1]:
            if "://" in value:
                continue
            for rel in build.match(value):
                if build.is_dir(rel):
                    yield instruction, word, rel


def _under(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder.rstrip("/") + "/")
