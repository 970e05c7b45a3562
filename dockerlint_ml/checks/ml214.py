"""ML214 cache-mount-defeated: a pip/uv cache mount on a RUN whose install turns the cache off."""
from types import SimpleNamespace

from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import cache_use, environment, mounted
from dockerlint_ml.registry import rule

_VARIABLES = {"pip": "PIP_NO_CACHE_DIR", "uv": "UV_NO_CACHE"}
_PIP_FALSE = {"0", "false", "no", "off", "n", "f"}


@rule("ML214", "cache-mount-defeated", Severity.WARNING,
      "A RUN mounts a pip/uv cache but its install disables the cache, so the mount never speeds up a build.")
def check(df, ctx):
    for instruction in df.instructions:
        if not any(m.get("type") == "cache" for m in instruction.mounts):
            continue
        for command in instruction.commands:
            use = cache_use(instruction, command)
            if use is None or use.kind not in _VARIABLES or not use.disabled:
                continue
            if not mounted(instruction, use.directory, use.mount_suffixes, types=("cache",)):
                continue
            yield _finding(ctx, instruction, command, use)


def _finding(ctx, instruction, command, use):
    cache = f"the cache mount for {use.directory}"
    effect = (f"turns {use.tool}'s cache off, so {cache} stays empty and every build downloads all packages "
              "again (the mount alone already keeps the cache out of the layer)")
    # --no-cache-dir, its prefix --no-cache (pip) or uv's --no-cache / -n
    option = next((w for w in command.argv if w.value.startswith("--no-cache")
                   or use.kind == "uv" and w.value == "-n"), None)
    if option is not None:
        return ctx.report(option.start, option.end, f"{option.value} {effect}: drop {option.value}")
    variable = _VARIABLES[use.kind]
    value = environment(instruction, command).get(variable, "")
    prefix = next((w for w in command.assignments if w.value.split("=", 1)[0] == variable), None)
    if prefix is not None:
        return ctx.report(prefix.start, prefix.end, f"{prefix.value} {effect}: drop it")
    where = _set_at(instruction, variable)
    notes = [f"set at line {where.start_line}"] if where is not None else []
    if use.kind == "pip" and value.lower() in _PIP_FALSE:
        notes.append("pip reads any boolean as `no cache`, 0 and false included")
    origin = f" ({'; '.join(notes)})" if notes else ""
    flag = _mount_flag(instruction, use.directory, use.mount_suffixes)
    return ctx.report(flag.start, flag.end,
                      f"{variable}={value}{origin} {effect}: stop setting {variable} for this install (the "
                      "mount replaces it) or drop the mount")


def _set_at(instruction, variable):
    """The last ENV or ARG before `instruction`, in its stage or the stages it is built FROM, that sets it."""
    chain, stage = [], instruction.stage
    while stage is not None and stage not in chain:
        chain.insert(0, stage)
        stage = stage.parent
    found = None
    for stage in chain:
        for earlier in stage.instructions:
            if earlier is instruction:
                return found
            if earlier.keyword == "ENV" and variable in earlier.args[0::2] or earlier.keyword == "ARG" and any(
                    item.partition("=")[0] == variable for item in earlier.args):
                found = earlier
    return found


def _mount_flag(instruction, directory, suffixes):
    """The `--mount` flag of the cache mount holding `directory` (the instruction if it cannot be told)."""
    flags = [f for f in instruction.flags if f.name == "mount" and f.value]
    for flag, fields in zip(flags, instruction.mounts):
        if mounted(SimpleNamespace(mounts=[fields]), directory, suffixes, types=("cache",)):  # this mount alone
            return flag
    return instruction
