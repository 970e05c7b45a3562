"""ML704 copy-from-unknown-stage: `COPY --from` (or a RUN --mount `from=`) names no earlier stage."""
import difflib

from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import known
from dockerlint_ml.model import expand, parse_image
from dockerlint_ml.registry import rule


@rule("ML704", "copy-from-unknown-stage", Severity.ERROR,
      "`COPY --from` names its own stage, a later stage, or neither a stage nor a tagged image.",
      aliases=("DL3022", "DL3023"))
def check(df, ctx):
    for stage in df.stages:
        for instruction in stage.instructions:
            for flag, ref in _references(instruction):
                written = ref
                if "$" in ref:
                    ref, resolved = expand(ref, known({**df.global_args, **instruction.vars}))
                    if not resolved:
                        continue  # a --build-arg decides: nothing to judge here
                problem = _problem(df, stage, ref, written)
                if problem is not None:
                    severity, message = problem
                    yield ctx.report(flag.start, flag.end, message, severity=severity)


def _references(instruction):
    """(flag, stage or image) for `COPY --from=x` and each `RUN --mount=…,from=x`."""
    if instruction.keyword == "COPY":
        flag = instruction.flag("from")
        if flag is not None and flag.value:
            yield flag, flag.value
    elif instruction.keyword == "RUN":
        # instruction.mounts holds the fields of these same flags, in the same order
        flags = [f for f in instruction.flags if f.name == "mount" and f.value]
        for flag, mount in zip(flags, instruction.mounts):
            if mount.get("from"):
                yield flag, mount["from"]


def _problem(df, stage, ref: str, written: str) -> tuple[Severity, str] | None:
    target = _stage(df, ref)
    if target is stage:
        return Severity.ERROR, (f"--from={ref} names the stage it is in: a stage cannot read its own result, so "
                                "BuildKit stops with a circular dependency: copy from an earlier stage")
    if target is not None and target.index > stage.index:
        line = target.from_instruction.start_line
        legacy = "" if ref.isdigit() else f"the legacy builder pulls an image called {ref} instead, and "
        return Severity.WARNING, (f"--from={ref} names a stage defined later, at line {line}: {legacy}the file no "
                                  "longer reads top-down: move that stage above this one")
    if target is not None:
        return None
    if ref.isdigit():
        return Severity.WARNING, (f"--from={ref}: this Dockerfile has no stage {ref} (stages count from 0, there are "
                                  f"{len(df.stages)}), so the build fails: name the stage instead")
    image = parse_image(ref, {})
    if image.tag or image.digest:
        return None  # an image reference, pinned enough to be deliberate
    if written != ref or "/" in ref:  # meant as an image: it is just not pinned
        shown = ref if written == ref else f"{written} ({ref} here)"
        return Severity.WARNING, (f"--from={shown} is an image without a tag or digest, so each build copies from "
                                  f"whatever {ref}:latest is that day: pin it (--from={ref}:<tag>, or @sha256:…)")
    names = [s.name.lower() for s in df.stages[:stage.index] if s.name]
    close = difflib.get_close_matches(ref.lower(), names, n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return Severity.WARNING, (f"--from={ref} is neither an earlier stage{guess} nor an image with a tag or digest: a "
                              f"misspelled stage name makes BuildKit pull an image called {ref} from a registry: name "
                              f"an earlier stage, or pin the image (--from={ref}:<tag>)")


def _stage(df, ref: str):
    """The stage `ref` names, by index or (case-insensitively, as BuildKit) by name, wherever it is defined."""
    if ref.isdigit():
        index = int(ref)
        return df.stages[index] if index < len(df.stages) else None
    return next((s for s in df.stages if s.name and s.name.lower() == ref.lower()), None)
