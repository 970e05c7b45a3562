"""ML102 unpinned-pip-install: `pip install pkg` in a RUN without an exact version."""
from dockerlint_ml import pins
from dockerlint_ml.finding import Applicability, Severity
from dockerlint_ml.installs import pip_install
from dockerlint_ml.registry import rule
from dockerlint_ml.requirements import make_requirement, pin_problem


@rule("ML102", "unpinned-pip-install", Severity.WARNING,
      "A package installed by pip or `uv pip` in a RUN has no exact version.", aliases=("DL3013",),
      fix=Applicability.SAFE, options=pins.PIN_OPTIONS)
def check(df, ctx):
    lock = None
    for instruction in df.instructions:
        found = list(_unpinned(instruction))
        if not found:
            continue
        lock = lock or pins.lock_for(ctx)
        fixes = [_fix(ctx, lock, word, requirement) for word, requirement, _ in found]
        for (word, _, problem), fix in zip(found, fixes):
            yield ctx.report(word.start, word.end,
                             f"{problem}: pin it (name==version) so that a rebuild installs the same code",
                             fix=pins.batched(fix, fixes))


def _unpinned(instruction):
    """(word, requirement, problem) of each package a pip install of this RUN names without an exact pin."""
    for command in instruction.commands:
        install = pip_install(command)
        if install is None:
            continue
        for word in install.packages:
            if "$" in word.value or word.value.startswith((".", "/", "~")) or word.value.endswith(".whl"):
                continue  # a variable (unknown until build time), a local path or a wheel file
            requirement = make_requirement(word.value, 1, 0, len(word.value))
            if requirement.kind in ("url", "vcs"):
                continue  # ML105 checks the hash or commit of URL and VCS requirements
            problem = pin_problem(requirement)
            if problem:
                yield word, requirement, problem


def _fix(ctx, lock, word, requirement):
    """Pin the word to the lock's version; a range glued to an unquoted word (`torch>=2.0`, which the shell
    reads as `torch` and a redirection) is what the author meant, so the pin must satisfy it and replaces it."""
    if requirement.kind != "name":
        return None
    text = ctx.source.text
    glued = pins.glued_range(text, word.end) if not word.quoted else ""
    if glued:
        meant = make_requirement(word.value + glued, 1, 0, len(word.value) + len(glued))
        if meant.kind == "name" and meant.name == requirement.name:
            return pins.version_fix(lock, meant, text, word.start, word.end + len(glued))
    return pins.version_fix(lock, requirement, text, word.start, word.end)
