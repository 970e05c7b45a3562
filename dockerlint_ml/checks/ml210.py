"""ML210 weights-in-image: COPY/ADD from the build context that bakes model weights or datasets into a layer."""
import bisect

from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import WEIGHT_SUFFIXES, has_suffix, sources
from dockerlint_ml.registry import rule
from dockerlint_ml.text import human_size


@rule("ML210", "weights-in-image", Severity.WARNING,
      "COPY or ADD bakes model weights or datasets from the build context into a layer of the final image.",
      options={"threshold_mb": 100.0})
def check(df, ctx):
    build = ctx.build
    if build is None:
        return
    threshold = ctx.options["threshold_mb"] * 1_000_000
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
                continue
            words, files = _weights(instruction, build)
            total = sum(files.values())
            if not files or total <= threshold:
                continue
            largest = sorted(files.items(), key=lambda item: (-item[1], item[0]))
            listing = ", ".join(f"{path} {human_size(size)}" for path, size in largest[:3])
            more = f" and {len(files) - 3} more" if len(files) > 3 else ""
            yield ctx.report(words[0].start, words[-1].end,
                             f"{instruction.keyword} brings {human_size(total)} of model weights or data into the image "
                             f"({listing}{more}): every pull and push carries them; download them at startup or "
                             "mount a volume, or if they must ship, COPY them in their own layer after the code so "
                             "code edits do not re-push them")


def _weights(instruction, build):
    """The source words that bring weight files, and {relpath: size} of those files (.dockerignore applied)."""
    files = build.files()  # sorted (relpath, size), ignored files left out
    names = [path for path, _ in files]
    words, found = [], {}
    for word, value in sources(instruction):
        matched = {}
        for rel in build.match(value):
            if rel == ".":
                matched.update((p, s) for p, s in files if _is_weight(p))
                continue
            start = bisect.bisect_left(names, rel)
            for path, size in files[start:]:
                if path != rel and not path.startswith(rel + "/"):
                    if path > rel + "/":
                        break
                    continue
                if _is_weight(path):
                    matched[path] = size
        if matched:
            words.append(word)
            found.update(matched)
    return words, found


def _is_weight(path: str) -> bool:
    return has_suffix(path, WEIGHT_SUFFIXES) or ".data-0" in path.rsplit("/", 1)[-1]
