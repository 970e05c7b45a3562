"""ML103 unpinned-requirement: a dependency written in a file the image installs, without an exact pin."""
from dockerlint_ml import pins
from dockerlint_ml.finding import Applicability, Severity
from dockerlint_ml.packages import installed_packages
from dockerlint_ml.registry import rule
from dockerlint_ml.requirements import pin_problem


@rule("ML103", "unpinned-requirement", Severity.WARNING,
      "A requirements file, environment.yml `pip:` entry or pyproject.toml dependency the image installs has no "
      "exact version.", fix=Applicability.SAFE, options=pins.PIN_OPTIONS)
def check(df, ctx):
    seen = set()
    lock = None
    for package in installed_packages(df, ctx.build):
        # RUN arguments are ML102's, conda specs ML106's, URL and VCS requirements ML105's.
        req = package.requirement
        if package.source is None or req is None or req.kind in ("url", "vcs") or package.locked:
            continue
        key = (package.source.path, package.start)
        if key in seen:  # the same file installed by two RUNs
            continue
        seen.add(key)
        problem = pin_problem(req)
        if problem:
            lock = lock or pins.lock_for(ctx)
            fix = None if req.kind == "invalid" else pins.version_fix(
                lock, req, package.source.text, package.start, package.end, package.source.path)
            yield ctx.report(package.start, package.end,
                             f"{problem}: pin it (name==version, e.g. with pip-compile or `uv pip compile`) so that "
                             "a rebuild installs the same code", fix=fix, source=package.source)
