"""ML723 copy-whole-stage: `COPY --from=<stage> / /` copies an entire filesystem onto the image's root."""
import posixpath

from dockerlint_ml.finding import Severity
from dockerlint_ml.model import unquote
from dockerlint_ml.registry import rule


@rule("ML723", "copy-whole-stage", Severity.WARNING,
      "`COPY --from=... / /` copies a whole filesystem over the image's root.", aliases=("DL3067",))
def check(df, ctx):
    for instruction in df.instructions:
        source = instruction.flag("from")
        if instruction.keyword != "COPY" or source is None or not source.value or len(instruction.words) < 2:
            continue
        *sources, target = instruction.words
        root = next((word for word in sources if _is_root(_path(instruction, word), relative_is_root=True)), None)
        if root is not None and _is_root(_path(instruction, target)):
            yield ctx.report(root.start, target.end, _message(df, instruction, source.value))


def _path(instruction, word) -> str:
    return word.value if instruction.json else unquote(word.value)


def _is_root(path: str, relative_is_root: bool = False) -> bool:
    """"/" however written ("/.", "//"); a --from source is read from the stage's root, so "." is "/" too."""
    if not path.startswith("/") and not (relative_is_root and path):
        return False
    return posixpath.normpath("/" + path.lstrip("/")) == "/"


def _message(df, instruction, name: str) -> str:
    stage = df.stage_by_ref(name, instruction.stage.index if instruction.stage else None)
    what = f"stage {name}" if stage is not None else f"image {name}"
    return (f"COPY --from={name} / / copies the whole filesystem of {what}, base OS included, into one new layer: "
            f"it shares no layer with the images it came from, so every push and pull moves all of it again, it "
            f"overwrites whatever this stage already holds, and the ENV (PATH, LD_LIBRARY_PATH, NVIDIA_* for GPUs), "
            f"USER and ENTRYPOINT of {name} do not come with it; copy only the directories the image needs "
            f"(e.g. /opt/venv or /usr/local/lib/python3.11/site-packages)")
