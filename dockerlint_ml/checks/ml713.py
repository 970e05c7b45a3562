"""ML713 from-platform-flag: `FROM --platform` pinned to a constant platform, or set to the redundant
$TARGETPLATFORM (Docker's FromPlatformFlagConstDisallowed and RedundantTargetPlatform; hadolint's DL3029, DL3065)."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# `$TARGETPLATFORM`, `${TARGETPLATFORM}` or `${TARGETPLATFORM:-linux/amd64}`: evaluates to the target platform.
_TARGETPLATFORM = re.compile(r"\$(?:TARGETPLATFORM|\{TARGETPLATFORM(?::?-[^}]*)?\})")
_OSES = frozenset({"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix",
                   "android", "ios", "js", "wasip1", "plan9", "dragonfly"})
# containerd's platform normalisation of common architecture spellings.
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm",
                 "i386": "386"}


@rule("ML713", "from-platform-flag", Severity.WARNING,
      "`FROM --platform` pins a stage to a constant platform, or repeats the default $TARGETPLATFORM.",
      aliases=("DL3029", "DL3065", "FromPlatformFlagConstDisallowed", "RedundantTargetPlatform"))
def check(df, ctx):
    for stage in df.stages:
        flag = stage.from_instruction.flag("platform")
        if flag is None or not flag.value:
            continue
        value = flag.value
        if _TARGETPLATFORM.fullmatch(value):
            yield ctx.report(flag.start, flag.end,
                             f"--platform={value} is what FROM does without the flag (stages build for the target "
                             "platform by default): remove it")
        elif "$" not in value:
            platform = parse_platform(value)
            if platform is not None and not _named_for(stage.name or "", platform):
                yield ctx.report(flag.start, flag.end, _constant_message(value, platform))


def parse_platform(value: str) -> tuple[str, str] | None:
    """(os, architecture) of a platform string as containerd reads it: `linux/arm64/v8`, `linux`, `arm64`."""
    parts = value.lower().split("/")
    if not all(parts) or len(parts) > 3:
        return None
    first = parts[0]
    if first in _OSES:
        return first, _ARCH_ALIASES.get(parts[1], parts[1]) if len(parts) > 1 else "amd64"
    if len(parts) == 1:  # a bare architecture: Linux implied
        return "linux", _ARCH_ALIASES.get(first, first)
    return None


def _named_for(name: str, platform: tuple[str, str]) -> bool:
    """Docker accepts a constant platform on a stage whose name holds its OS or architecture (`build-arm64`),
    the per-platform stages that `FROM build-${TARGETARCH}` picks from."""
    return any(part in name for part in platform)


def _constant_message(value: str, platform: tuple[str, str]) -> str:
    arch = platform[1]
    return (f"--platform={value} pins this stage to {value}: `docker build --platform` and multi-platform builds "
            f"still get {value} here, and on a machine of another architecture it runs emulated (much slower) or "
            f"fails; drop the flag and pass --platform to docker build, use $BUILDPLATFORM for a builder stage, "
            f"or name the stage after its platform (e.g. `AS base-{arch}`) when it is one of a per-platform set")
