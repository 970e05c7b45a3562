"""ML102 unpinned-pip-install: `pip install pkg` in a RUN without an exact version."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import pip_install
from dockerlint_ml.registry import rule
from dockerlint_ml.requirements import make_requirement


@rule("ML102", "unpinned-pip-install", Severity.WARNING,
      "A package installed by pip or `uv pip` in a RUN has no exact version.", aliases=("DL3013",))
def check(df, ctx):
    for instruction in df.instructions:
        for command in instruction.commands:
            install = pip_install(command)
            if install is None:
                continue
            for word in install.packages:
                problem = unpinned(word.value)
                if problem:
                    yield ctx.report(word.start, word.end, f"{problem}: pin it (name==version) so that a rebuild "
                                                           "installs the same code")


def unpinned(spec: str) -> str | None:
    """Why a pip argument is not reproducible, or None when it is pinned or not a package from an index."""
    if "$" in spec or spec.startswith((".", "/", "~")) or spec.endswith(".whl"):
        return None  # a variable (unknown until build time), a local path or a wheel file
    requirement = make_requirement(spec, 1, 0, len(spec))
    if requirement.kind == "path" or requirement.pinned:
        return None
    if requirement.kind in ("url", "vcs"):
        return f"{spec} is a URL without a hash or commit"
    name = requirement.name or spec
    return f"{name} has no exact version" if not requirement.specifier else \
        f"{name}{requirement.specifier} is a range, not an exact version"
