"""ML201 pip-cache-in-layer: pip / uv pip install that leaves its download cache in a shipped layer."""
from dockerlint_ml import edits
from dockerlint_ml.checks.ml215 import link_mode
from dockerlint_ml.finding import Applicability, Fix, Severity
from dockerlint_ml.installs import pip_install, uv_sync
from dockerlint_ml.layers import cache_kept, cache_use
from dockerlint_ml.model import expand
from dockerlint_ml.registry import rule
from dockerlint_ml.text import InputError

PIP_CACHE_STYLES = ("mount", "no-cache-dir")


@rule("ML201", "pip-cache-in-layer", Severity.WARNING,
      "pip or `uv pip` install keeps its download cache in a layer of the final image.", aliases=("DL3042",),
      fix=Applicability.SAFE, options={"pip_cache": "mount"})
def check(df, ctx):
    style = ctx.options["pip_cache"]
    if style not in PIP_CACHE_STYLES:
        raise InputError(f"options.ML201.pip_cache: expected one of {', '.join(PIP_CACHE_STYLES)}, got {style!r}")
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            for index, command in enumerate(instruction.commands):
                install = pip_install(command)
                use = cache_kept(instruction, index) if install is not None else None
                if use is None:
                    continue
                word = command.argv[0]
                if install.tool == "uv":
                    advice = "add --no-cache (or UV_NO_CACHE=1, or --mount=type=cache,target=/root/.cache/uv)"
                else:
                    advice = "add --no-cache-dir (or --mount=type=cache,target=/root/.cache/pip)"
                yield ctx.report(word.start, command.end,
                                 f"{install.tool} install keeps its download cache in this layer, often hundreds "
                                 f"of MB for ML wheels: {advice}", fix=_fix(df, instruction, install, use, style))


def _fix(df, instruction, install, use, style: str) -> Fix | None:
    """A cache mount on the directory the install fills, where that is certain and takes nothing else; else
    the option that turns the cache off."""
    if style == "mount":
        fix = _mount(df, instruction, install, use)
        if fix is not None:
            return fix
    option = "--no-cache" if install.tool == "uv" else "--no-cache-dir"
    edit = _add_to(instruction, install.command, option)
    return Fix(f"Add {option}", (edit,)) if edit is not None else None


def _mount(df, instruction, install, use) -> Fix | None:
    """`--mount=type=cache,target=<cache dir>`. Not where another install of the RUN turns the same cache off
    (the mount would stay empty: ML214), nor where it would give the RUN the flags of the RUN next to it (ML302).
    uv hard-links from its cache, which a mount puts on another filesystem: every uv command the mount covers
    gets --link-mode=copy, as uv's Docker guide says (ML215)."""
    mount = f"--mount=type=cache,target={use.directory}"
    if not _mountable(instruction, use.directory) or edits.joins_neighbour(instruction, [mount]):
        return None
    covered = [u for u in (cache_use(instruction, c) for c in instruction.commands) if u and u.kind == use.kind]
    if any(u.disabled for u in covered):
        return None
    changes = [edits.add_flags(df, instruction, [mount])]
    for other in covered:
        if use.kind == "uv" and link_mode(instruction, other.command, None) != "copy":
            if (pip_install(other.command) or uv_sync(other.command)).option_values("--link-mode"):
                return None  # an explicit other mode: uv takes the option once
            changes.append(_add_to(instruction, other.command, "--link-mode=copy"))
    if None in changes:
        return None
    return Fix(f"Keep the {install.tool} cache in a BuildKit cache mount ({use.directory})", tuple(changes))


def _add_to(instruction, command, option: str):
    """`option` after the subcommand: `pip install --no-cache-dir`, `uv sync --link-mode=copy`."""
    word = next((w for w in command.argv[1:] if w.value in ("install", "sync")), None)
    return edits.add_option(instruction, word, option) if word is not None else None


def _mountable(instruction, directory: str) -> bool:
    """A cache mount holds the cache only at a literal absolute path, not already a mount target, in a RUN run
    as root: another user's cache is under its own home (which a HOME this file does not set may name), and a
    root-owned cache mount is not writable for it anyway."""
    if not directory.startswith("/") or "$" in directory or directory.rstrip("/") in edits.mount_targets(instruction):
        return False
    return _runs_as_root(instruction)


def _runs_as_root(instruction) -> bool:
    """No USER before the RUN in its stage and the stages it is built FROM, or the last one names root."""
    stage, seen = instruction.stage, set()
    while stage is not None and stage.index not in seen:
        seen.add(stage.index)
        users = [i for i in stage.instructions if i.keyword == "USER" and i.index < instruction.index and i.words]
        if users:
            user = expand(users[-1].words[0].value, users[-1].vars)[0].split(":", 1)[0]
            return user in ("root", "0")
        stage = stage.parent
    return True
