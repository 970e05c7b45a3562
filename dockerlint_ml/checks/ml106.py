"""ML106 unpinned-conda-install: a conda/mamba/micromamba package or environment.yml dependency without a version."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import conda_command
from dockerlint_ml.packages import installed_packages, report
from dockerlint_ml.registry import rule

_BRACKET_VERSION = re.compile(r"\[.*?\bversion\s*=\s*['\"]?([^'\",\]]*)")
# Actions that install what they are given; `conda update pkg` asks for the newest on purpose.
_INSTALLING = frozenset({"install", "create"})


@rule("ML106", "unpinned-conda-install", Severity.WARNING,
      "A package installed by conda, mamba or micromamba (or listed in environment.yml) has no version.")
def check(df, ctx):
    seen = set()
    for package in installed_packages(df, ctx.build):
        if package.manager != "conda" or "$" in package.text or not _installs(package):
            continue
        key = (package.source.path if package.source else None, package.start)
        if key in seen:  # the same environment file created by two RUNs
            continue
        seen.add(key)
        problem = version_problem(package.specifier)
        if problem:
            yield report(ctx, package, _message(package, problem))


def version_problem(spec: str) -> str | None:
    """'none' for no version, 'range' for a range or alternatives, None when the spec fixes the version:
    `1.26.4`, `=1.26` (conda reads it as 1.26.*), `==1.26.4`, `1.26.*`, with or without a build string
    (`=1.26.4=py311_0`, `1.26.4 py311_0`)."""
    bracket = _BRACKET_VERSION.search(spec)
    text = (bracket.group(1) if bracket else re.sub(r"\[.*\]$", "", spec)).strip()
    if re.search(r"[=<>]$", text):
        return None  # `python=$PYTHON` with an empty build argument: the version is given at build time
    if re.match(r"[<>!~]", text) or re.search(r"[|,<>]", text):
        return "range"
    version = re.split(r"[\s=]+", text.lstrip("="), maxsplit=1)[0]  # before the build string
    if version in ("", "*"):
        return "none"
    return None if re.fullmatch(r"\d\S*", version) else "range"


def _installs(package) -> bool:
    """Written in a file the RUN reads, or an argument of `install` / `create` (not `update`)."""
    if package.source is not None:
        return True
    for command in package.instruction.commands:
        if command.start <= package.start < command.end:
            conda = conda_command(command)
            return conda is not None and conda.action in _INSTALLING
    return False


def _message(package, problem: str) -> str:
    name, spec = package.name, package.specifier.strip()
    what = f"{name} has no version" if problem == "none" else f"{name}{spec} is a range, not a version"
    return (f"conda package {what}: the solver installs the newest match on the day of the build, so a rebuild "
            f"gets other builds of it and of its dependencies; pin it ({name}=<version>) or install from a lock "
            "file (conda-lock, `conda list --explicit`)")
