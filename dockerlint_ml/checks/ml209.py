"""ML209 opencv-gui-package: opencv-python (the Qt GUI build) in an image that never opens a window."""
import re

from dockerlint_ml.apt import apt_commands
from dockerlint_ml.cuda import shipped_stages
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.packages import stage_packages
from dockerlint_ml.registry import rule
from dockerlint_ml.restructure import editable_command, word_removal

_HEADLESS = {"opencv-python": "opencv-python-headless", "opencv-contrib-python": "opencv-contrib-python-headless"}
# Signs that the container does show windows: a host X display passed in, a virtual or VNC X server, GTK, or
# a Qt GUI toolkit of its own.
_DISPLAY_ENV = ("DISPLAY", "QT_X11_NO_MITSHM")
_DISPLAY_APT = re.compile(r"^(xvfb|xserver-xorg\S*|x11vnc|tigervnc\S*|tightvncserver|xpra|libgtk\S*)$")
_GUI_TOOLKITS = frozenset({"pyqt5", "pyqt6", "pyside2", "pyside6"})
# The package name as written at the start of a requirement (quoted in a shell word or a TOML key).
_WRITTEN_NAME = re.compile(r"[\"']?(opencv[-_.]+(?:contrib[-_.]+)?python)(?![\w.-])", re.IGNORECASE)
# The first -headless releases on PyPI (same version numbers as the GUI packages from then on).
_FIRST_HEADLESS = (3, 4, 3, 18)
# System libraries installed only because the GUI build's Qt needs them at `import cv2`.
_GUI_SYSTEM_LIBS = re.compile(r"^(libgl1|libgl1-mesa-glx|libsm6|libxext6|libxrender1)$")


@rule("ML209", "opencv-gui-package", Severity.INFO,
      "opencv-python (with Qt GUI libraries) is installed in an image that shows no window: use -headless.",
      fix=Applicability.UNSAFE)
def check(df, ctx):
    lineage = df.final_lineage
    packages = stage_packages(df, ctx.build, shipped_stages(df))  # a copied virtualenv ships its packages
    apt = _apt_packages(lineage)
    if _shows_windows(df, packages, apt):
        return
    names = {p.name for p in packages}
    gui_libs = sorted(name for name in apt if _GUI_SYSTEM_LIBS.match(name))
    for package in packages:
        headless = _HEADLESS.get(package.name)
        if headless is not None and package.manager != "conda":
            yield ctx.report(package.start, package.end, _message(package, headless, headless in names, gui_libs),
                             fix=_fix(ctx, package, headless, packages), source=package.source)


def _fix(ctx, package, headless: str, packages) -> Fix | None:
    """Rename the package to its -headless twin where it is written, version and extras kept; where the same
    pip call already installs the headless package, drop the GUI one instead."""
    source = package.source or ctx.source
    text = source.text
    if package.url or "--hash" in text[package.start:package.end] or (
            package.source is not None and "--hash" in text):
        return None  # a wheel URL names its own file; a hash pins the GUI wheel (and pip then wants every hash)
    if _before_headless(package.specifier):
        return None  # no -headless build of that version exists
    twin = [p for p in packages if p.name == headless and p.instruction is package.instruction
            and p.source is package.source]
    title = f"Install {headless} instead of {package.name}"
    if twin:
        span = _removal(ctx, package) if package.source is None else None
        if span is None:
            return None
        return Fix(f"Remove {package.name}: {headless} is installed with it",
                   (Edit(*span, ""),), Applicability.UNSAFE)
    match = _WRITTEN_NAME.match(text, package.start, package.end)
    if match is None:
        return None
    path = None if package.source is None else package.source.path
    return Fix(title, (Edit(match.start(1), match.end(1), headless, path),), Applicability.UNSAFE)


def _before_headless(specifier: str) -> bool:
    """A specifier that pins or caps the version below the first -headless release."""
    for clause in specifier.split(","):
        match = re.fullmatch(r"\s*(==|===|<=|<|~=)\s*(\d+(?:\.\d+)*)\S*\s*", clause)
        if match:
            version = tuple(int(p) for p in match.group(2).split("."))
            if version < _FIRST_HEADLESS or match.group(1) == "<" and version == _FIRST_HEADLESS:
                return True
    return False


def _removal(ctx, package) -> tuple[int, int] | None:
    """Offsets that delete the package's word from its pip command in the Dockerfile."""
    for command in package.instruction.commands:
        for word in command.words:
            if word.start == package.start and word.end == package.end:
                if not editable_command(package.instruction, command):
                    return None
                return word_removal(ctx.source.text, command, word, package.stage.dockerfile.escape)
    return None


def _apt_packages(stages) -> set[str]:
    """Names given to `apt-get install` in these stages, without `=version` or `/release`."""
    found = set()
    for stage in stages:
        for instruction in stage.instructions:
            for _, apt in apt_commands(instruction):
                if apt.action == "install":
                    found.update(re.split(r"[=/]", w.value, maxsplit=1)[0] for w in apt.packages)
    return found


def _shows_windows(df, packages, apt: set[str]) -> bool:
    env = df.final_stage.env if df.final_stage is not None else {}
    return (any(name in env for name in _DISPLAY_ENV) or any(_DISPLAY_APT.match(name) for name in apt)
            or any(p.name in _GUI_TOOLKITS for p in packages))


def _message(package, headless: str, both: bool, gui_libs: list[str]) -> str:
    sizes = facts()["opencv"]["installed_mb"]
    text = (f"{package.name} bundles Qt GUI libraries ({sizes['qt']} MB) and needs the system libGL and GLib at "
            f"`import cv2` (apt libgl1), yet nothing in this image opens a window: install {headless} instead, the "
            f"same cv2 without Qt ({sizes['headless']} vs {sizes['gui']} MB installed, no libGL)")
    if both:
        text += f"; {headless} is installed too, and both write the same cv2 package, so the last install wins"
    if gui_libs:
        text += f"; the apt packages {', '.join(gui_libs)} are then likely unneeded too"
    return text
