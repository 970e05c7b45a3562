"""ML201 pip-cache-in-layer: pip / uv pip install that leaves its download cache in a shipped layer."""
import posixpath

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import pip_install
from dockerlint_ml.registry import rule

# pip disables its cache for any value strtobool accepts, "0" and "false" included (a historic quirk kept
# for compatibility: pip/_internal/cli/cmdoptions.py, _handle_no_cache_dir).
_PIP_BOOLEANS = {"y", "yes", "t", "true", "on", "1", "n", "no", "f", "false", "off", "0"}
_UV_TRUE = {"1", "true", "yes", "on", "y", "t"}


@rule("ML201", "pip-cache-in-layer", Severity.WARNING,
      "pip or `uv pip` install keeps its download cache in a layer of the final image.", aliases=("DL3042",))
def check(df, ctx):
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            commands = instruction.commands
            for index, command in enumerate(commands):
                install = pip_install(command)
                if install is None or _cache_avoided(install, command, instruction, commands[index + 1:]):
                    continue
                word = command.argv[0]
                if install.tool == "uv":
                    advice = "add --no-cache (or UV_NO_CACHE=1, or --mount=type=cache,target=/root/.cache/uv)"
                else:
                    advice = "add --no-cache-dir (or --mount=type=cache,target=/root/.cache/pip)"
                yield ctx.report(word.start, command.end,
                                 f"{install.tool} install keeps its download cache in this layer, often hundreds "
                                 f"of MB for ML wheels: {advice}")


def _environment(instruction, command) -> dict[str, str]:
    """Variables the command sees: ARG/ENV, `export X=…` earlier in the RUN, and `X=… pip …` prefixes."""
    env = dict(instruction.vars)
    for earlier in instruction.commands:
        if earlier is command:
            break
        if earlier.name == "export":
            env.update(_assignments(earlier.argv[1:]))
    env.update(_assignments(command.assignments))
    return env


def _assignments(words) -> dict[str, str]:
    pairs = {}
    for word in words:
        name, eq, value = word.value.partition("=")
        if eq:
            pairs[name] = value
    return pairs


def _cache_dir(install, env) -> str:
    if install.tool == "uv":
        return env.get("UV_CACHE_DIR") or posixpath.join(env.get("XDG_CACHE_HOME", "/root/.cache"), "uv")
    values = install.option_values("--cache-dir")
    if values and values[-1] is not None:
        return values[-1].value
    return env.get("PIP_CACHE_DIR") or posixpath.join(env.get("XDG_CACHE_HOME", "/root/.cache"), "pip")


def _cache_avoided(install, command, instruction, later) -> bool:
    env = _environment(instruction, command)
    if install.no_cache:
        return True
    if install.tool == "uv" and env.get("UV_NO_CACHE", "").lower() in _UV_TRUE:
        return True
    if install.tool == "pip" and env.get("PIP_NO_CACHE_DIR", "").lower() in _PIP_BOOLEANS:
        return True
    cache = _cache_dir(install, env)
    if _mounted(instruction, cache):
        return True
    return any(_purges(other, cache) for other in later)


def _mounted(instruction, cache: str) -> bool:
    """A cache or tmpfs mount at the cache directory (or a parent of it, or any user's .cache)."""
    for fields in instruction.mounts:
        if fields.get("type") not in ("cache", "tmpfs"):
            continue
        target = posixpath.normpath(fields.get("target") or "/x")
        if cache == target or cache.startswith(target.rstrip("/") + "/") or target.endswith(
                ("/.cache", "/.cache/pip", "/.cache/uv")):
            return True
    return False


def _purges(command, cache: str) -> bool:
    """`pip cache purge`, `uv cache clean`, or `rm -rf` of the cache directory later in the same RUN."""
    values = [w.value for w in command.argv]
    if values[:3] in (["pip", "cache", "purge"], ["pip3", "cache", "purge"]) or values[:3] == ["uv", "cache", "clean"]:
        return True
    if command.name == "rm":
        targets = [posixpath.normpath(v.replace("~", "/root", 1)) for v in values[1:] if not v.startswith("-")]
        return any(cache == t or cache.startswith(t.rstrip("/*") + "/") for t in targets)
    return False
