"""ML209 opencv-gui-package: opencv-python (the Qt GUI build) in an image that never opens a window."""
import re

from dockerlint_ml.apt import apt_commands
from dockerlint_ml.facts import facts
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import report, stage_packages
from dockerlint_ml.registry import rule

_HEADLESS = {"opencv-python": "opencv-python-headless", "opencv-contrib-python": "opencv-contrib-python-headless"}
# Signs that the container does show windows: a host X display passed in, a virtual or VNC X server, GTK, or
# a Qt GUI toolkit of its own.
_DISPLAY_ENV = ("DISPLAY", "QT_X11_NO_MITSHM")
_DISPLAY_APT = re.compile(r"^(xvfb|xserver-xorg\S*|x11vnc|tigervnc\S*|tightvncserver|xpra|libgtk\S*)$")
_GUI_TOOLKITS = frozenset({"pyqt5", "pyqt6", "pyside2", "pyside6"})
# System libraries installed only because the GUI build's Qt needs them at `import cv2`.
_GUI_SYSTEM_LIBS = re.compile(r"^(libgl1|libgl1-mesa-glx|libsm6|libxext6|libxrender1)$")


@rule("ML209", "opencv-gui-package", Severity.INFO,
      "opencv-python (with Qt GUI libraries) is installed in an image that shows no window: use -headless.")
def check(df, ctx):
    lineage = df.final_lineage
    packages = stage_packages(df, ctx.build, lineage)
    apt = _apt_packages(lineage)
    if _shows_windows(df, packages, apt):
        return
    names = {p.name for p in packages}
    gui_libs = sorted(name for name in apt if _GUI_SYSTEM_LIBS.match(name))
    for package in packages:
        headless = _HEADLESS.get(package.name)
        if headless is not None and package.manager != "conda":
            yield report(ctx, package, _message(package, headless, headless in names, gui_libs))


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
