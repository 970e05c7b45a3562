"""ML211 dockerignore-missing: a directory COPY with no .dockerignore, or one that lets junk in."""
import re
from pathlib import Path

from dockerlint_ml.dockerignore import IgnoreMatcher, normalize_relpath
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.fixes import newline_of
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule
from dockerlint_ml.text import InputError, human_size

# What a new .dockerignore starts with, besides the junk found: caches and checkpoints no image needs.
_DEFAULTS = (".git", "**/__pycache__", "**/.ipynb_checkpoints", "**/.pytest_cache", "**/.mypy_cache")
# Junk kinds that appear at any depth: one `**/` pattern covers them all.
_ANY_DEPTH = frozenset({"pycache", "ipynb-checkpoints", "mypy-cache", "pytest-cache"})
# Build plugins that read the version from .git: without it `pip install .` fails.
_VCS_VERSIONING = re.compile(r"setuptools[_-]scm|hatch[_-]vcs|versioneer|\bpbr\b|dunamai|poetry-dynamic-versioning|"
                             r"setuptools-git-versioning|vcs-versioning|pdm-backend[^\n]*scm|uv-dynamic-versioning",
                             re.IGNORECASE)
_MANIFESTS = ("pyproject.toml", "setup.py", "setup.cfg")


@rule("ML211", "dockerignore-missing", Severity.WARNING,
      "A directory is copied from a context that has no .dockerignore, or whose .dockerignore lets junk in.",
      fix=Applicability.SAFE)
def check(df, ctx):
    build = ctx.build
    if build is None:
        return
    for instruction, source, copied in _directory_copies(df, build):
        junk = [j for j in unneeded_junk(df, build) if _under(j.relpath, copied)]
        junk_bytes = sum(j.bytes for j in junk)
        listing = ", ".join(f"{j.relpath} ({human_size(j.bytes)})" for j in junk[:4]) + (" …" if len(junk) > 4 else "")
        if not build.has_ignore_file:
            detail = f"; it would include {listing}" if junk else ""
            yield ctx.report(source.start, source.end,
                             f"COPY {source.value} copies a directory but the context has no .dockerignore: "
                             f"everything in it is sent and baked in ({human_size(build.size_of(copied))}{detail}); "
                             "add a .dockerignore", fix=_fix(df, ctx))
        elif junk:
            yield ctx.report(source.start, source.end,
                             f"COPY {source.value} brings in {human_size(junk_bytes)} of files no image needs: "
                             f"{listing}; add them to {build.ignore_file.name}", fix=_fix(df, ctx))
        return  # one report per Dockerfile: the fix is one .dockerignore


def _directory_copies(df, build):
    for instruction in df.instructions:
        if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
            continue
        for word, value in instruction.paths[:-1]:
            if "://" in value:
                continue
            for rel in build.match(value):
                if build.is_dir(rel):
                    yield instruction, word, rel


def _under(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder.rstrip("/") + "/")


# ---------------------------------------------------------------------------------------------------------
# Junk the build does use


def unneeded_junk(df, build):
    """The context's junk (build.junk()) less what this build uses: a .git that a version plugin or a `git`
    command reads, a virtualenv or node_modules the Dockerfile names, node_modules no RUN reinstalls, and
    anything a COPY/ADD names or a RUN bind-mounts."""
    cached = df.__dict__.get("_unneeded_junk")
    if cached is None:
        texts = _dockerfile_texts(df, build)
        named = _named_sources(df)
        cached = [j for j in build.junk() if not _used(j, df, build, texts, named)]
        df.__dict__["_unneeded_junk"] = cached
    return cached


def _used(junk, df, build, texts: list[str], named: list[str]) -> bool:
    rel = junk.relpath
    if any(path == rel or path.startswith(rel + "/") for path in named):
        return True
    if junk.kind in ("git", "venv", "node-modules", "tox") and any(_mentions(text, rel) for text in texts):
        return True
    if junk.kind == "git":
        return _git_read(df) or _vcs_versioned(build)
    if junk.kind == "node-modules":
        return not any(re.search(r"\b(npm (ci|install|i)|yarn|pnpm (install|i))\b", text) for text in texts)
    return False


def _mentions(text: str, rel: str) -> bool:
    """`rel` named as a relative path (`.venv/bin/python`, `./.git`), not as part of another name or of an
    absolute path (`/opt/venv`, `repo.git`, `.gitignore`)."""
    return re.search(rf"(?<![\w./-])(?:\./)?{re.escape(rel)}(?![\w.-])", text) is not None


def _git_read(df) -> bool:
    """A RUN reads the repository: `git` other than `clone`/`config`/`lfs install` (`git describe`, ...)."""
    for instruction in df.instructions:
        for command in instruction.commands:
            argv = [w.value for w in command.argv]
            if command.name == "git" and not {"clone", "config", "init"} & set(argv[1:3]) and argv[1:3] != [
                    "lfs", "install"]:
                return True
    return False


def _vcs_versioned(build) -> bool:
    """A build manifest at the context root that uses a plugin reading the version from .git."""
    for name in _MANIFESTS:
        if not build.exists(name) or build.is_dir(name):
            continue
        try:
            if _VCS_VERSIONING.search(build.read(name).text):
                return True
        except InputError:
            return True  # cannot tell: keep .git
    return False


def _named_sources(df) -> list[str]:
    """Context paths the Dockerfile names: COPY/ADD sources (ARG/ENV expanded) and RUN bind-mount sources."""
    named = []
    for instruction in df.instructions:
        if instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is None and not instruction.heredocs:
            named += [normalize_relpath(value) for _, value in instruction.paths[:-1] if "://" not in value]
        for mount in instruction.mounts:
            if mount.get("type") == "bind" and "from" not in mount:
                value = expand(unquote(mount.get("source", ".")), instruction.vars)[0]
                named.append(normalize_relpath(value))
    return named


def _dockerfile_texts(df, build) -> list[str]:
    """This Dockerfile and the others at the context root, which the same .dockerignore filters."""
    texts = [df.source.text]
    try:
        siblings = [p for p in Path(build.root).iterdir() if p.is_file() and re.search(
            r"(^|\.)dockerfile($|\.)|^containerfile", p.name, re.IGNORECASE) and str(p) != df.path]
    except OSError:
        siblings = []
    for path in siblings[:20]:
        try:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return texts


# ---------------------------------------------------------------------------------------------------------
# The fix: one .dockerignore


def _fix(df, ctx) -> Fix | None:
    """Create the .dockerignore (the junk found plus the usual caches), or add the junk found to the existing
    one; each pattern is kept only if no path the Dockerfile names becomes excluded."""
    build = ctx.build
    existing = build.ignore_source.text if build.has_ignore_file else None
    if build.truncated or existing is not None and _reincludes(build):
        return None  # a context too big to walk, or `!` exceptions a new pattern could override
    wanted = [_pattern(j) for j in unneeded_junk(df, build)]
    if existing is None:
        wanted = [p for p in _DEFAULTS if p != ".git" or not (_git_read(df) or _vcs_versioned(build))] + wanted
    patterns = _harmless(df, build, list(dict.fromkeys(wanted)))
    if not patterns and existing is not None:
        return None
    target = str(build.ignore_file or Path(build.root) / ".dockerignore")
    newline = newline_of(existing if existing else df.source.text)
    body = newline.join(patterns) + newline
    if existing is None:
        return Fix("Create .dockerignore", (Edit(0, 0, body, target),), Applicability.SAFE)
    lead = "" if not existing or existing.endswith("\n") else newline
    return Fix(f"Add {', '.join(patterns)} to {Path(target).name}",
               (Edit(len(existing), len(existing), lead + body, target),), Applicability.SAFE)


def _pattern(junk) -> str:
    return f"**/{junk.relpath.rsplit('/', 1)[-1]}" if junk.kind in _ANY_DEPTH else junk.relpath


def _reincludes(build) -> bool:
    return any(p.exclusion for p in build.ignore_patterns)


def _harmless(df, build, patterns: list[str]) -> list[str]:
    """The patterns that exclude no path the Dockerfile names (nor anything under a named folder's own name)."""
    named = [n for n in _named_sources(df) if n != "."]
    kept = []
    for pattern in patterns:
        matcher = IgnoreMatcher([pattern])
        if not any(matcher.ignored(path) for name in named for path in [name, *build.match(name)]):
            kept.append(pattern)
    return kept
