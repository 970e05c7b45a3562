"""ML408 python-too-old-for-wheel: a pinned framework with no wheel for the stage's (known) Python."""
from dockerlint_ml.cuda import installed_by, python_of, requested_release
from dockerlint_ml.facts import minors, python_floor, span_text
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import installed_packages, report
from dockerlint_ml.registry import rule

_SECTIONS = {"torch": "torch", "tensorflow": "tensorflow", "tensorflow-gpu": "tensorflow",
             "onnxruntime-gpu": "onnxruntime_gpu", "jax": "jax"}


@rule("ML408", "python-too-old-for-wheel", Severity.ERROR,
      "A pinned framework version has no wheel for the stage's Python, so pip fails to install it.")
def check(df, ctx):
    for package in installed_packages(df, ctx.build):
        section = _SECTIONS.get(package.name)
        if section is None or package.manager == "conda":
            continue
        found = python_of(package)
        if found is None:
            continue
        python, where = found
        release = requested_release(package, section)
        if release is None or release.unpinned:
            continue  # unpinned, pip quietly takes an older release that supports this Python
        floors = {m: python_floor(section, m) for m in release.allowed}
        if any(floor is not None and floor <= python for floor in floors.values()):
            continue  # some allowed release has a wheel for it
        floor = min(f for f in floors.values() if f is not None)
        yield report(ctx, package, _message(package, section, python, where, floor) + installed_by(package))


def _message(package, section, python, where, floor) -> str:
    version = ".".join(map(str, python))
    candidates = minors(section)
    supported = [m for m in candidates if (python_floor(section, m) or (99,)) <= python]
    pin = (f", or pin {package.name} {span_text(supported, candidates)} (releases with Python {version} wheels)"
           if supported else "")
    return (f"{package.text} has wheels for Python ≥ {'.'.join(map(str, floor))} only, but this stage's Python "
            f"is {version} ({where}): pip fails with 'No matching distribution found for {package.text}'; use "
            f"Python ≥ {'.'.join(map(str, floor))} (e.g. python:{'.'.join(map(str, floor))}-slim){pin}")
