"""ML301 copy-before-install: the whole source tree is copied before dependencies are installed."""
import posixpath

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import project_install
from dockerlint_ml.registry import rule

MANIFESTS = ("requirements.txt", "pyproject.toml", "setup.py", "setup.cfg", "poetry.lock", "uv.lock", "Pipfile",
             "Pipfile.lock", "pdm.lock", "environment.yml", "environment.yaml", "conda-lock.yml")


@rule("ML301", "copy-before-install", Severity.WARNING,
      "The whole context (or the folder holding the dependency manifest) is copied before dependencies install.")
def check(df, ctx):
    for stage in df.stages:
        broad = None  # (instruction, word) of the first broad COPY seen in this stage
        for instruction in stage.instructions:
            if instruction.keyword in ("COPY", "ADD") and broad is None:
                broad = _broad_source(instruction, ctx.build)
                continue
            if broad is None or instruction.keyword != "RUN":
                continue
            for command in instruction.commands:
                label = project_install(command)
                if label is None:
                    continue
                copy, word = broad
                yield ctx.report(word.start, word.end,
                                 f"{copy.keyword} {word.value} comes before `{label}` (line {instruction.start_line}): "
                                 "any source edit invalidates the dependency layer and reinstalls everything; "
                                 "copy the dependency manifest first, install, then copy the rest")
                broad = None
                break


def _broad_source(instruction, build):
    """The source word of a COPY that copies the whole context or a folder holding a manifest."""
    if instruction.flag("from") is not None or instruction.heredocs:
        return None
    for word, value in instruction.paths[:-1]:
        clean = posixpath.normpath(value.lstrip("/")) if value.strip("/") else "."
        if clean in (".", "*"):
            return instruction, word
        if build is not None and build.is_dir(clean) and any(build.exists(posixpath.join(clean, m)) for m in MANIFESTS):
            return instruction, word
    return None

