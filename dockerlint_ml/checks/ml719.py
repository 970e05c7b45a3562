"""ML719 unpinned-system-package: npm, gem, go (and, on request, apk, yum, dnf, zypper) install without a version."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import PackageCommand, package_command
from dockerlint_ml.registry import rule

# Registries that keep every version forever, so a pin always resolves: checked unless configured otherwise.
# Distribution mirrors (apk, yum, dnf, zypper) drop superseded versions, so their pins break builds (see ML104).
DEFAULT_MANAGERS = ["npm", "gem", "go"]
_MANAGER = {"yum": "yum", "dnf": "dnf", "dnf5": "dnf", "microdnf": "dnf", "tdnf": "dnf"}

_LOCAL = ("./", "../", "/", "~/", "file:")
_TARBALLS = (".tgz", ".tar.gz", ".tar")
_GIT = re.compile(r"^(git(\+[a-z]+)?://|git@|github:|gitlab:|bitbucket:|gist:|[\w.-]+/[\w.-]+(#|$))")
_RPM_VERSION_CHARS = re.compile(r"[A-Za-z0-9.~^_:+]+")
_NPM_VERSION = re.compile(r"v?\d|[~^<>=]")  # a version or a range; not a dist-tag like `latest`, nor `*`
_GO_VERSION = re.compile(r"v\d.*|[0-9a-f]{7,40}")  # a semver (or prefix), or a commit hash


@rule("ML719", "unpinned-system-package", Severity.WARNING,
      "A package installed by npm, gem or go (or apk, yum, dnf, zypper when configured) has no version.",
      aliases=("DL3016", "DL3018", "DL3028", "DL3033", "DL3037", "DL3041", "DL3062"),
      options={"managers": list(DEFAULT_MANAGERS)})
def check(df, ctx):
    managers = set(ctx.options["managers"])
    for instruction in df.instructions:
        for command in instruction.commands:
            found = package_command(command)
            if found is None or _MANAGER.get(found.tool, found.tool) not in managers:
                continue
            for word, advice in _unpinned(found):
                yield ctx.report(word.start, word.end,
                                 f"{found.tool} installs {word.value} without a fixed version, so a rebuild gets "
                                 f"whatever is newest that day: {advice}")


def _unpinned(found: PackageCommand):
    """(word, advice) for each package argument without a version."""
    tool, action = found.tool, found.action
    if tool == "npm" and action == "install":
        return [(w, _npm_advice(w.value)) for w in _named(found) if not _npm_pinned(w.value)]
    if tool == "gem" and action == "install" and not _gem_version_option(found):
        return [(w, f"install {w.value}:<version> (or add -v <version>)") for w in _named(found)
                if ":" not in w.value and not w.value.endswith(".gem")]
    if tool == "go" and action == "install":
        return [(w, f"install {w.value.split('@')[0]}@v<version>") for w in _named(found) if not _go_pinned(w.value)]
    if tool == "apk" and action == "add":
        return [(w, f"add {w.value.split('@')[0]}=<version>") for w in _named(found)
                if not any(c in w.value for c in "=~<>") and not w.value.endswith(".apk")]
    if tool == "zypper" and action == "install":
        return [(w, f"install {w.value}=<version>") for w in _named(found)
                if not any(c in w.value for c in "=<>") and not w.value.endswith(".rpm")]
    if _MANAGER.get(tool) and action == "install":
        return [(w, f"install {w.value}-<version>") for w in _named(found) if not _rpm_pinned(w.value)]
    if _MANAGER.get(tool) and action == "module install":
        return [(w, f"install {w.value}:<stream>") for w in _named(found) if ":" not in w.value]
    return []


def _named(found: PackageCommand):
    """Package arguments, less variables (unknown until the build) and local paths (what they hold is fixed)."""
    return [w for w in found.packages
            if "$" not in w.value and not w.value.startswith(_LOCAL) and w.value not in (".", "..")]


def _npm_name(value: str) -> str:
    """The package name of an npm spec: `@scope/pkg@1.0` -> `@scope/pkg`, `express@4` -> `express`."""
    if value.startswith("@"):
        scope, _, rest = value.partition("/")
        return f"{scope}/{rest.split('@', 1)[0]}"
    return value.split("@", 1)[0]


def _npm_pinned(value: str) -> bool:
    """`pkg@1.2.3` (or a range); a tarball; a git spec with `#commit-or-tag`. A dist-tag (`@latest`) is no pin."""
    if value.endswith(_TARBALLS):
        return True
    if _GIT.match(value) or "://" in value:
        return "#" in value
    return bool(_NPM_VERSION.match(value[len(_npm_name(value)) + 1:]))


def _npm_advice(value: str) -> str:
    if _GIT.match(value) or "://" in value:
        return f"install {value.split('#')[0]}#<commit or tag>"
    return f"install {_npm_name(value)}@<version>"


def _gem_version_option(found: PackageCommand) -> bool:
    return bool(found.option_values("-v", "--version"))


def _go_pinned(value: str) -> bool:
    """`pkg@v1.2.3` or `pkg@<commit>`; `@latest`, `@master` and other queries move. Without `@` go install
    builds what the current module's go.mod requires (and fails outside a module), so that is no drift."""
    if "@" not in value:
        return True
    return bool(_GO_VERSION.fullmatch(value.rsplit("@", 1)[1]))


def _rpm_pinned(value: str) -> bool:
    """`name-version[-release]`: after the name, dash-separated parts of version characters, one starting with
    a digit (hadolint's reading: `curl-8.6.0`, `cuda-toolkit-12-4`); or an .rpm file."""
    if value.endswith(".rpm"):
        return True
    parts = value.split("-")[1:]
    return bool(parts) and all(_RPM_VERSION_CHARS.fullmatch(p) for p in parts) and any(p[:1].isdigit() for p in parts)
