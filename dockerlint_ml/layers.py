"""What a layer keeps: the package caches an install fills, and the paths an instruction creates or deletes.

Shared by the size and cache rules (ML201, ML207, ML208, ML304). Paths are absolute and normalised;
a path relative to a WORKDIR the base image chose (unknown here) starts with UNKNOWN_WORKDIR, so two
relative paths still compare. Anything that cannot be resolved (a variable with no value, a command
substitution, `cd -`) is left out: these rules stay silent rather than guess.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from dockerlint_ml.apt import removes_lists, updates_lists
from dockerlint_ml.paths import glob_relation
from dockerlint_ml.installs import pip_tool, apt_command, conda_command, download, pip_install, uv_sync
from dockerlint_ml.model import expand
from dockerlint_ml.shell import Command, Word, parse_args

UNKNOWN_WORKDIR = "/<workdir>"

# Names ADD unpacks (it looks at the content, but these are the names tarballs go by).
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tzst",
                ".tar.lz4", ".tar.lzma", ".gz", ".bz2", ".xz", ".zst")
# Model weights and datasets.
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt", ".onnx", ".h5", ".hdf5", ".keras", ".pb",
                   ".pkl", ".pickle", ".joblib", ".npz", ".npy", ".gguf", ".ggml", ".tflite", ".mlmodel",
                   ".parquet", ".arrow", ".feather", ".tfrecord", ".tfrecords", ".msgpack", ".model",
                   ".caffemodel", ".pdparams", ".params", ".engine", ".plan", ".mar", ".nemo", ".lmdb")
# Files that are big by nature: archives, packages, installers, weights.
ARTIFACT_SUFFIXES = TAR_SUFFIXES + WEIGHT_SUFFIXES + (".zip", ".7z", ".whl", ".deb", ".rpm", ".run", ".jar", ".iso",
                                                      ".img", ".so")
# Files that are small by nature: deleting one a COPY brought in wastes nothing worth a report.
SMALL_SUFFIXES = (".txt", ".in", ".lock", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".json", ".sh", ".bash", ".py",
                  ".conf", ".md", ".asc", ".sha256", ".pem", ".crt", ".key", ".list", ".repo")

# pip disables its cache for any value strtobool accepts, "0" and "false" included (a historic quirk kept
# for compatibility: pip/_internal/cli/cmdoptions.py, _handle_no_cache_dir).
_PIP_BOOLEANS = {"y", "yes", "t", "true", "on", "1", "n", "no", "f", "false", "off", "0"}
_UV_TRUE = {"1", "true", "yes", "on", "y", "t"}
_CONDA_INSTALLS = frozenset({"install", "create", "update", "upgrade", "env create", "env update"})


# ---------------------------------------------------------------------------------------------------------
# Variables


def environment(instruction, command: Command, shell: bool = False) -> dict[str, str]:
    """Variables the command sees: ARG/ENV, `export X=…` earlier in the RUN and `X=… cmd` prefixes.
    With `shell`, plain `X=…` assignments too: they expand in words but are not passed to programs."""
    env = dict(instruction.vars)
    for earlier in instruction.commands:
        if earlier is command:
            break
        if earlier.name == "export":
            env.update(_assignments(earlier.argv[1:]))
        elif shell and not earlier.argv:
            env.update(_assignments(earlier.assignments))
    env.update(_assignments(command.assignments))
    return env


def _assignments(words) -> dict[str, str]:
    pairs = {}
    for word in words:
        name, eq, value = word.value.partition("=")
        if eq:
            pairs[name.rstrip("+")] = value
    return pairs


def known(env: dict[str, str]) -> dict[str, str]:
    """Variables with a value: an `ARG NAME` without a default is set at build time, so unknown here."""
    return {name: value for name, value in env.items() if value}


def resolve(value: str, env: dict[str, str], cwd: str | None) -> str | None:
    """A shell word as an absolute normalised path: variables expanded, `~` is $HOME, relative to `cwd`.
    None when it cannot be known (an unset variable, a command substitution, no known cwd)."""
    text, resolved = expand(value, known(env))
    if not resolved or not text or "$" in text or "`" in text:
        return None
    if text == "~" or text.startswith("~/"):
        text = env.get("HOME", "/root") + text[1:]
    if not text.startswith("/"):
        if cwd is None:
            return None
        text = posixpath.join(cwd, text)
    return posixpath.normpath(text).replace("//", "/")


# ---------------------------------------------------------------------------------------------------------
# Package caches


@dataclass
class CacheUse:
    """An install that downloads into a package cache."""

    kind: str  # 'pip', 'uv' or 'conda'
    tool: str  # the program: 'pip', 'uv', 'conda', 'mamba', 'micromamba'
    label: str  # e.g. 'pip install', 'uv sync', 'conda env create'
    command: Command
    directory: str  # the cache directory
    disabled: bool  # --no-cache-dir / --no-cache / PIP_NO_CACHE_DIR / UV_NO_CACHE: nothing is cached
    offline: bool  # --no-index / --offline: nothing is downloaded

    @property
    def mount_suffixes(self) -> tuple[str, ...]:
        """Mount targets that hold this cache whoever's home they are in (pip's cache is not in uv's mount)."""
        if self.kind == "conda":
            return ("/pkgs",)
        return ("/.cache", f"/.cache/{self.kind}")


def cache_use(instruction, command: Command) -> CacheUse | None:
    """pip install, uv pip install, uv sync, conda/mamba/micromamba install, create, update, env create."""
    env = environment(instruction, command)
    install = pip_install(command)
    sync = uv_sync(command) if install is None else None
    if install is not None or sync is not None:
        tool = install.tool if install is not None else "uv"
        found = install or sync
        label = {"pip": "pip install", "uv": "uv pip install"}[tool] if install is not None else "uv sync"
        if tool == "uv":
            disabled = found.no_cache or env.get("UV_NO_CACHE", "").lower() in _UV_TRUE
            offline = found.has_option("--offline")
        else:
            disabled = found.no_cache or env.get("PIP_NO_CACHE_DIR", "").lower() in _PIP_BOOLEANS
            offline = found.has_option("--no-index")
        return CacheUse(tool, tool, label, command, _pip_cache_dir(found, tool, env), disabled, offline)
    conda = conda_command(command)
    if conda is not None and conda.action in _CONDA_INSTALLS and not conda.flags & {"--dry-run", "-d", "--help", "-h"}:
        return CacheUse("conda", conda.tool, f"{conda.tool} {conda.action}", command, _conda_pkgs_dir(conda, env),
                        False, "--offline" in conda.flags)
    return None


def _pip_cache_dir(install, tool: str, env: dict[str, str]) -> str:
    """--cache-dir, else $PIP_CACHE_DIR / $UV_CACHE_DIR, else pip or uv under $XDG_CACHE_HOME or ~/.cache."""
    values = install.option_values("--cache-dir")
    if values:
        return values[-1].value
    cache_home = env.get("XDG_CACHE_HOME") or posixpath.join(env.get("HOME", "/root"), ".cache")
    return env.get(f"{tool.upper()}_CACHE_DIR") or posixpath.join(cache_home, tool)


def _conda_pkgs_dir(conda, env: dict[str, str]) -> str:
    """CONDA_PKGS_DIRS, else <root prefix>/pkgs: MAMBA_ROOT_PREFIX / -r for micromamba, the install's
    own prefix for `/opt/conda/bin/conda`, CONDA_DIR, or the images' usual /opt/conda."""
    if env.get("CONDA_PKGS_DIRS"):
        return env["CONDA_PKGS_DIRS"].split(",")[0]
    program = resolve(conda.command.argv[0].value, env, None) or ""  # `$HOME/anaconda3/bin/conda`
    if conda.tool == "micromamba":
        options, _ = parse_args(conda.command.argv[1:], frozenset({"-r", "--root-prefix"}))
        roots = [expand(o.value.value, env)[0] for o in options if o.name in ("-r", "--root-prefix") and o.value]
        root = roots[-1] if roots else env.get("MAMBA_ROOT_PREFIX")
        return posixpath.join(root or "/root/micromamba", "pkgs")
    if posixpath.dirname(program).endswith("/bin"):
        return posixpath.join(posixpath.dirname(posixpath.dirname(program)), "pkgs")
    return posixpath.join(env.get("CONDA_DIR") or "/opt/conda", "pkgs")


def mounted(instruction, path: str, suffixes: tuple[str, ...] = (), types=("cache", "tmpfs")) -> bool:
    """A mount of one of `types` at `path` or a parent of it, or at a target ending in one of `suffixes`."""
    for fields in instruction.mounts:
        if fields.get("type", "bind") not in types:
            continue
        target = posixpath.normpath(fields.get("target") or "/x")
        if path == target or path.startswith(target.rstrip("/") + "/") or (suffixes and target.endswith(suffixes)):
            return True
    return False


def cache_kept(instruction, index: int) -> CacheUse | None:
    """The cache use of `instruction.commands[index]` if the cache stays in the layer: not disabled, not on
    a cache or tmpfs mount, and not purged (`pip cache purge`, `conda clean -a`, `rm -rf`) later in the RUN."""
    commands = instruction.commands
    use = cache_use(instruction, commands[index])
    if use is None or use.disabled or mounted(instruction, use.directory, use.mount_suffixes):
        return None
    for step in run_steps(instruction):
        if step.index > index and any(d.kind == use.kind or d.covers(use.directory) for d in step.deletions):
            return None
    return use


# ---------------------------------------------------------------------------------------------------------
# Paths


@dataclass
class Deletion:
    """Something a command deletes: a path (glob) or a whole cache by kind."""

    shown: str  # as written
    start: int
    end: int
    pattern: str | None = None  # absolute path, may hold globs
    kind: str | None = None  # 'pip', 'uv', 'conda' (cache purges), 'apt-archives'

    def covers(self, path: str) -> bool:
        """Whether it deletes `path` or everything in it (`rm -rf dir/*`)."""
        return self.pattern is not None and glob_relation(self.pattern, path) in ("", "*")


@dataclass
class Creation:
    """Something a command writes into the layer."""

    kind: str  # 'download', 'extract', 'clone', 'apt-lists', 'pip', 'uv', 'conda'
    paths: tuple[str, ...]  # where it lands (alternatives when it is not certain which)
    whole: bool = False  # everything under the path is its content (a cache), so partial deletes count


@dataclass
class Step:
    """One command of a RUN, with the working directory it runs in and what it deletes."""

    index: int
    command: Command
    cwd: str | None
    env: dict[str, str]  # shell variables, for expanding its words
    deletions: list[Deletion]


def run_steps(instruction, workdir: str | None = UNKNOWN_WORKDIR) -> list[Step]:
    """Walk a RUN's commands in order, following `cd`."""
    steps, cwd = [], workdir
    for index, command in enumerate(instruction.commands):
        env = environment(instruction, command, shell=True)
        steps.append(Step(index, command, cwd, env, _deletions(command, env, cwd)))
        if command.name in ("cd", "pushd", "popd"):
            args = [w.value for w in command.argv[1:] if w.value == "-" or not w.value.startswith("-")]
            target = args[0] if args else "~"
            known_cd = command.name == "cd" and not command.unknown and target != "-"
            cwd = resolve(target, env, cwd) if known_cd else None
    return steps


def _deletions(command: Command, env: dict[str, str], cwd: str | None) -> list[Deletion]:
    argv = command.argv
    values = [w.value for w in argv]
    if command.name == "rm" and not command.unknown:
        options, targets = parse_args(argv[1:], frozenset())
        flags = "".join(sorted({o.word.value + " " for o in options}))
        found = [(w, resolve(w.value, env, cwd)) for w in targets]
        return [Deletion(f"rm {flags}{w.value}", w.start, w.end, pattern=path) for w, path in found
                if path and path != "/"]
    span = (argv[0].start, command.end) if argv else (command.start, command.end)
    pip = pip_tool(command)
    if pip is not None and [w.value for w in pip[1][:2]] in (["cache", "purge"], ["cache", "clean"]):
        return [Deletion(" ".join(values), *span, kind=pip[0])]
    conda = conda_command(command)
    if conda is not None and conda.action == "clean" and (
            conda.clean_all or {"-t", "-p"} <= conda.flags or {"--tarballs", "--packages"} <= conda.flags):
        return [Deletion(" ".join(values), *span, kind="conda")]
    if removes_lists(command):  # `apt-get dist-clean`, `find … -delete`, a clean-up script
        return [Deletion(" ".join(values), *span, kind="apt-lists")]
    apt = apt_command(command)
    if apt is not None and apt.action == "clean":
        return [Deletion(" ".join(values), *span, kind="apt-archives")]
    return []


def creations(instruction, step: Step) -> list[Creation]:
    """What a step of a RUN writes into the layer (left out: anything under a mount of the RUN)."""
    command, env, cwd = step.command, step.env, step.cwd
    if command.unknown:
        return []  # inside if/case/for: it may not run
    found = _downloads(command, env, cwd) + _extractions(command, env, cwd)
    if updates_lists(command):
        found.append(Creation("apt-lists", ("/var/lib/apt/lists",), whole=True))
    use = cache_kept(instruction, step.index)
    if use is not None and not use.offline:
        found.append(Creation(use.kind, (use.directory,), whole=True))
    # A mount keeps what is written under it out of the layer.
    return [c for c in found if not any(mounted(instruction, p, types=("bind", "cache", "tmpfs", "secret", "ssh"))
                                        for p in c.paths)]


def _url_name(url: str) -> str:
    path = url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    return path.rsplit("/", 1)[-1] if "/" in path else ""


def _downloads(command: Command, env: dict[str, str], cwd: str | None) -> list[Creation]:
    fetch = download(command)
    if fetch is not None:
        if fetch.output is not None and fetch.output.value != "-":
            path = resolve(fetch.output.value, env, cwd)
            return [Creation("download", (path,))] if path else []
        if fetch.to_stdout or any(w.value.startswith(("-P", "--directory-prefix", "--output-dir"))
                                  for w in command.argv):
            return []  # piped on, or into a directory we do not follow
        names = [_url_name(w.value) for w in fetch.urls]
        paths = [resolve(name, env, cwd) for name in names if name]
        return [Creation("download", (p,)) for p in paths if p]
    clone = _git_clone(command)
    if clone is not None:
        path = resolve(clone, env, cwd)
        return [Creation("clone", (path,))] if path else []
    return []


_GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace"})
_CLONE_VALUED = frozenset({"-b", "--branch", "--depth", "-o", "--origin", "-c", "--config", "--reference",
                           "--filter", "-j", "--jobs", "--shallow-since", "--shallow-exclude",
                           "--separate-git-dir", "--template", "-u", "--upload-pack", "--reference-if-able"})


def _git_clone(command: Command) -> str | None:
    """The directory `git clone URL [DIR]` creates."""
    if command.name != "git":
        return None
    _, rest = parse_args(command.argv[1:], _GIT_VALUED, interleaved=False)
    if not rest or rest[0].value != "clone":
        return None
    _, positionals = parse_args(rest[1:], _CLONE_VALUED)
    if len(positionals) >= 2:
        return positionals[1].value
    if positionals:
        name = positionals[0].value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return name[:-4] if name.endswith(".git") else name or None
    return None


_TAR_VALUED = frozenset({"-f", "--file", "-C", "--directory", "-T", "--files-from", "-X", "--exclude-from", "-b",
                         "--blocking-factor", "-H", "--format", "-I", "--use-compress-program", "-g", "-V",
                         "--label", "-K", "-N", "--owner", "--group", "--mode"})


def _extractions(command: Command, env: dict[str, str], cwd: str | None) -> list[Creation]:
    """`tar -x` / `unzip`: the target directory given with -C / -d, and `<target>/<archive stem>` where
    tarballs conventionally unpack (unless --strip-components)."""
    words = command.argv[1:]
    if command.name == "tar":
        if words and not words[0].value.startswith("-") and not words[0].expands:
            first = words[0]  # old style `tar xzf file`: the first word is the option letters
            words = [Word("-" + first.value, first.start, first.end, first.offsets[:1] + first.offsets)] + words[1:]
        options, _ = parse_args(words, _TAR_VALUED)
        names = {o.name for o in options}
        if not names & {"-x", "--extract", "--get"}:
            return []
        archive = next((o.value.value for o in reversed(options) if o.name in ("-f", "--file") and o.value), None)
        target = next((o.value.value for o in reversed(options) if o.name in ("-C", "--directory") and o.value), None)
        strip = any(n.startswith("--strip") for n in names)
    elif command.name == "unzip":
        options, positionals = parse_args(words, frozenset({"-d", "-x", "-P"}))
        archive = positionals[0].value if positionals else None
        target = next((o.value.value for o in reversed(options) if o.name == "-d" and o.value), None)
        strip = False
    else:
        return []
    found = []
    base = resolve(target, env, cwd) if target is not None else cwd
    if target is not None and base:
        found.append(Creation("extract", (base,)))
    stem = _archive_stem(archive) if archive and archive != "-" else None
    folder = resolve(stem, env, base) if base and stem and not strip else None
    if folder:
        found.append(Creation("extract", (folder,)))
    return found


def _archive_stem(archive: str) -> str | None:
    name = archive.rsplit("/", 1)[-1]
    for suffix in TAR_SUFFIXES + (".zip",):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def has_suffix(path: str, suffixes: tuple[str, ...]) -> bool:
    return path.lower().endswith(suffixes)


# ---------------------------------------------------------------------------------------------------------
# COPY / ADD sources


def sources(instruction) -> list:
    """(word, value) of the COPY/ADD sources that name paths of the build context, variables expanded:
    not URLs, git refs, heredocs, or sources whose variables have no value."""
    found = []
    for word, value in instruction.paths[:-1]:
        if word.value.startswith("<<") or is_remote(value) or not expand(word.value, known(instruction.vars))[1]:
            continue
        found.append((word, value))
    return found


def is_remote(value: str) -> bool:
    """A URL or a git reference (`git@host:repo`), which ADD fetches."""
    return "://" in value or bool(re.match(r"[\w.-]+@[\w.-]+:", value))
