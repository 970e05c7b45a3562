"""ML215 uv-link-mode-missing: uv installs from a cache mount without UV_LINK_MODE=copy."""
import tomllib

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import pip_install, uv_sync
from dockerlint_ml.layers import cache_use, environment, mounted
from dockerlint_ml.reach import runs
from dockerlint_ml.registry import rule
from dockerlint_ml.text import InputError

# Where uv reads `link-mode` besides the command line and UV_LINK_MODE: the project's uv.toml or
# pyproject.toml ([tool.uv]), the user's and the system's uv.toml.
_CONFIG_FILES = ("uv.toml", "pyproject.toml", "/root/.config/uv/uv.toml", "/etc/uv/uv.toml")


@rule("ML215", "uv-link-mode-missing", Severity.INFO,
      "uv installs from a cache mount without UV_LINK_MODE=copy, so it fails to hard-link and falls back noisily.")
def check(df, ctx):
    views = {id(v.instruction): v for v in runs(df, ctx.build)}
    for instruction in df.instructions:
        if not any(m.get("type") == "cache" for m in instruction.mounts):
            continue
        for command in instruction.commands:
            use = cache_use(instruction, command)
            if use is None or use.kind != "uv" or use.disabled:
                continue  # a disabled cache is ML214's finding
            if not mounted(instruction, use.directory, use.mount_suffixes, types=("cache",)):
                continue
            mode = link_mode(instruction, command, views.get(id(instruction)))
            if mode == "copy":
                continue
            # Symlinks into a cache mount dangle in the image: worse than noise.
            yield ctx.report(command.argv[0].start, _label_end(command), _message(use, mode),
                             severity=Severity.WARNING if mode == "symlink" else None)


def link_mode(instruction, command, view) -> str | None:
    """The link mode uv uses: --link-mode, else UV_LINK_MODE, else a config file; None for the default."""
    parsed = pip_install(command) or uv_sync(command)
    values = parsed.option_values("--link-mode") if parsed is not None else []
    if values:
        return values[-1].value
    env = environment(instruction, command)
    if env.get("UV_LINK_MODE"):
        return env["UV_LINK_MODE"]
    return _configured(view) if view is not None else None


def _configured(view) -> str | None:
    for name in _CONFIG_FILES:
        relpath = view.context_path(name)
        if relpath is None or view.build.is_dir(relpath):
            continue
        try:
            data = tomllib.loads(view.build.read(relpath).text)
        except (InputError, OSError, tomllib.TOMLDecodeError):
            continue
        table = ((data.get("tool") or {}).get("uv") or {}) if name.endswith("pyproject.toml") else data
        if isinstance(table.get("link-mode"), str):
            return table["link-mode"]
    return None


def _label_end(command) -> int:
    """End of `uv sync` / `uv pip install`: the words naming the operation."""
    words = command.argv
    for index, word in enumerate(words):
        if word.value in ("sync", "install"):
            return word.end
        if index > 4:
            break
    return words[0].end


def _message(use, mode: str | None) -> str:
    if mode == "symlink":
        return (f"{use.label} links packages as symlinks into the cache mount at {use.directory}, which is not part "
                "of the image: every installed file dangles once the build ends; use --link-mode=copy "
                "(or ENV UV_LINK_MODE=copy)")
    if mode not in (None, "hardlink"):
        return (f"{use.label} installs from the cache mount at {use.directory}, another filesystem than the image, "
                f"so uv cannot {mode} from it and falls back to copying; set --link-mode=copy (or ENV "
                "UV_LINK_MODE=copy) to copy directly")
    return (f"{use.label} installs from the cache mount at {use.directory}, another filesystem than the image, so "
            "uv's attempt to hard-link every file fails: it warns (\"Failed to hardlink files; falling back to full "
            "copy\") and copies anyway; set ENV UV_LINK_MODE=copy (or --link-mode=copy), as uv's Docker guide "
            "does, to copy directly")
