"""ML103 unpinned-requirement: a line of a requirements file the image installs, without an exact pin."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.reach import installed_requirements
from dockerlint_ml.registry import rule


@rule("ML103", "unpinned-requirement", Severity.WARNING,
      "A requirements file installed by the image has a requirement without an exact version.")
def check(df, ctx):
    checked = set()
    for installed in installed_requirements(df, ctx.build):
        for requirements in ctx.build.requirements_closure(installed.relpath):
            if requirements.path in checked:
                continue
            checked.add(requirements.path)
            if _is_constraints_only(requirements, installed, ctx.build):
                continue
            for requirement in requirements.requirements:
                if requirement.kind == "invalid":
                    yield ctx.report(requirement.start, requirement.end,
                                     f"pip cannot parse this requirement: {requirement.error}", source=requirements.source)
                elif requirement.kind != "path" and not requirement.pinned:
                    what = requirement.name or requirement.text
                    detail = "has no exact version" if requirement.kind == "name" else "is a URL without a hash or commit"
                    yield ctx.report(requirement.start, requirement.end,
                                     f"{what} {detail}: pin it (name==version, e.g. with pip-compile or `uv pip "
                                     "compile`) so that a rebuild installs the same code", source=requirements.source)


def _is_constraints_only(requirements, installed, build) -> bool:
    """A file pulled in only with -c constrains versions; its lines are not installed."""
    root = build.requirements(installed.relpath)
    return root is not None and requirements is not root and any(
        include.kind == "constraint" and requirements.path.endswith(include.target.lstrip("./"))
        for include in root.includes)
