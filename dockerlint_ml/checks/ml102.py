"""ML102 unpinned-pip-install: `pip install pkg` in a RUN without an exact version."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import pip_install
from dockerlint_ml.registry import rule
from dockerlint_ml.requirements import make_requirement, pin_problem


@rule("ML102", "unpinned-pip-install", Severity.WARNING,
      "A package installed by pip or `uv pip` in a RUN has no exact version.", aliases=("DL3013",))
def check(df, ctx):
    for instruction in df.instructions:
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
                    yield ctx.report(word.start, word.end,
                                     f"{problem}: pin it (name==version) so that a rebuild installs the same code")
