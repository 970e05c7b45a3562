"""ML103 unpinned-requirement: a line of a requirements file the image installs, without an exact pin."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.reach import installed_requirements
from dockerlint_ml.registry import rule
from dockerlint_ml.requirements import pin_problem


@rule("ML103", "unpinned-requirement", Severity.WARNING,
      "A requirements file installed by the image has a requirement without an exact version.")
def check(df, ctx):
    checked = set()
    for installed in installed_requirements(df, ctx.build):
        # Only -r includes: a file pulled in with -c constrains versions, its lines are not installed.
        for requirements in ctx.build.requirements_closure(installed.relpath, kinds=("requirement",)):
            if requirements.path in checked:
                continue
            checked.add(requirements.path)
            for requirement in requirements.requirements:
                if requirement.kind in ("url", "vcs"):
                    continue  # ML105 checks the hash or commit of URL and VCS requirements
                problem = pin_problem(requirement)
                if problem:
                    yield ctx.report(requirement.start, requirement.end,
                                     f"{problem}: pin it (name==version, e.g. with pip-compile or `uv pip compile`) "
                                     "so that a rebuild installs the same code", source=requirements.source)
