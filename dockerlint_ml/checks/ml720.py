"""ML720 package-cache-in-layer: apk, yum/dnf, zypper or yarn leaves its download cache in a shipped layer."""
import posixpath
from dataclasses import dataclass

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import APK_TOOLS, DNF_TOOLS, ZYPPER_TOOLS, PackageCommand, package_command
from dockerlint_ml.layers import environment, mounted, resolve, run_steps
from dockerlint_ml.registry import rule

_APK_CACHE = "/var/cache/apk"
# yum (EL7), dnf (EL8+, where yum is dnf too) and dnf5 (Fedora 41+) each keep metadata in their own folder.
_DNF_CACHES = ("/var/cache/yum", "/var/cache/dnf", "/var/cache/libdnf5")
_ZYPPER_CACHE = "/var/cache/zypp"
_DNF_FETCHING = frozenset({"install", "reinstall", "upgrade", "downgrade", "distro-sync", "makecache", "group install",
                           "group upgrade", "module install"})
_ZYPPER_FETCHING = frozenset({"install", "update", "dist-upgrade", "patch", "source-install", "refresh",
                              "install-new-recommends"})
_YARN_FETCHING = frozenset({"install", "add", "global add"})


@dataclass
class _Cache:
    """What a package command leaves behind, and how to avoid it."""

    what: str  # e.g. "the package index"
    folders: tuple[str, ...]  # where it is written (a removal or mount of any of them counts)
    advice: str


@rule("ML720", "package-cache-in-layer", Severity.WARNING,
      "apk, yum, dnf, zypper or yarn leaves its package cache or metadata in a layer of the final image.",
      aliases=("DL3019", "DL3032", "DL3036", "DL3040", "DL3060"))
def check(df, ctx):
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            commands = instruction.commands
            for index, command in enumerate(commands):
                found = package_command(command)
                cache = _cache(instruction, found) if found is not None else None
                if cache is None or _avoided(instruction, index, found, cache):
                    continue
                yield ctx.report(command.argv[0].start, command.end,
                                 f"`{found.label}` leaves {cache.what} in {cache.folders[0]} of this layer, which "
                                 f"ships with the image: {cache.advice}")


def _cache(instruction, found: PackageCommand) -> _Cache | None:
    """The cache a command fills, if it fills one."""
    tool, action = found.tool, found.action
    if tool in APK_TOOLS and action in ("add", "update", "upgrade") and "--no-cache" not in found.flags:
        return _Cache("the downloaded package index (a few MB)", (_APK_CACHE,),
                      f"use `apk {action} --no-cache` (or end the RUN with `rm -rf /var/cache/apk/*`)")
    if tool in DNF_TOOLS and action in _DNF_FETCHING:
        clean = "yum" if tool == "yum" else tool
        return _Cache("the repository metadata (tens to hundreds of MB)", _dnf_folders(tool),
                      f"end the RUN with `&& {clean} clean all` (or mount a cache there)")
    if tool in ZYPPER_TOOLS and action in _ZYPPER_FETCHING:
        return _Cache("the repository metadata", (_ZYPPER_CACHE,),
                      "end the RUN with `&& zypper clean --all` (or mount a cache there)")
    if tool == "yarn" and action in _YARN_FETCHING:
        return _Cache("a copy of every downloaded package (often as large as node_modules)",
                      _yarn_folders(instruction, found),
                      "end the RUN with `&& yarn cache clean` (or mount a cache there)")
    return None


def _dnf_folders(tool: str) -> tuple[str, ...]:
    """The folder named first is the one the tool most likely uses."""
    first = {"yum": "/var/cache/yum", "dnf5": "/var/cache/libdnf5"}.get(tool, "/var/cache/dnf")
    return (first,) + tuple(f for f in _DNF_CACHES if f != first)


def _yarn_folders(instruction, found: PackageCommand) -> tuple[str, ...]:
    """--cache-folder, else $YARN_CACHE_FOLDER, else yarn 1's default for root (/usr/local/share/.cache/yarn)
    and for other users (~/.cache/yarn), and yarn 2+'s global cache (~/.yarn/berry/cache)."""
    env = environment(instruction, found.command)
    explicit = [w.value for w in found.option_values("--cache-folder")] or [env.get("YARN_CACHE_FOLDER", "")]
    home = env.get("HOME", "/root")
    defaults = ["/usr/local/share/.cache/yarn", posixpath.join(env.get("XDG_CACHE_HOME") or f"{home}/.cache", "yarn"),
                f"{home}/.yarn/berry/cache"]
    folders = [resolve(value, env, None) for value in explicit if value]
    return tuple(f for f in folders if f) or tuple(defaults)


def _avoided(instruction, index: int, found: PackageCommand, cache: _Cache) -> bool:
    """A cache or tmpfs mount holds the folder, or a later command of the same RUN cleans or removes it."""
    if any(mounted(instruction, folder) for folder in cache.folders):
        return True
    for step in run_steps(instruction):
        if step.index <= index:
            continue
        if any(d.covers(folder) for d in step.deletions for folder in cache.folders):
            return True
        later = package_command(step.command)
        if later is not None and _cleans(found, later):
            return True
    return False


def _cleans(found: PackageCommand, later: PackageCommand) -> bool:
    """`yum/dnf clean all` (or `clean metadata`: packages are not kept by default), `zypper clean`,
    `yarn cache clean`."""
    if found.tool in DNF_TOOLS and later.tool in DNF_TOOLS:
        return later.action == "clean" and any(w.value in ("all", "metadata") for w in later.packages)
    if found.tool in ZYPPER_TOOLS and later.tool in ZYPPER_TOOLS:
        return later.action == "clean"
    if found.tool == "yarn" and later.tool == "yarn":
        return later.action == "cache clean"
    return False
