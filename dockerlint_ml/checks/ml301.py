"""ML301 copy-before-install: the whole source tree is copied before dependencies are installed."""
import posixpath
import re

from dockerlint_ml.checks.ml701 import workdirs
from dockerlint_ml.dockerignore import normalize_relpath
from dockerlint_ml.edits import same_flags
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.fixes import newline_of
from dockerlint_ml.installs import pip_install, project_install, uv_sync
from dockerlint_ml.model import expand
from dockerlint_ml.reach import context_file, runs
from dockerlint_ml.registry import rule
from dockerlint_ml.restructure import block_removal, comment_lines_above, reads_no_sources

MANIFESTS = ("requirements.txt", "pyproject.toml", "setup.py", "setup.cfg", "poetry.lock", "uv.lock", "Pipfile",
             "Pipfile.lock", "pdm.lock", "environment.yml", "environment.yaml", "conda-lock.yml")


@rule("ML301", "copy-before-install", Severity.WARNING,
      "The whole context (or the folder holding the dependency manifest) is copied before dependencies install.",
      fix=Applicability.SAFE)
def check(df, ctx):
    for stage in df.stages:
        broad = None  # (instruction, word) of the first broad COPY seen in this stage
        before: set[str] = set()  # installs that ran before it (labels and kinds)
        for instruction in stage.instructions:
            if instruction.keyword in ("COPY", "ADD") and broad is None:
                broad = _broad_source(instruction, ctx.build)
                continue
            if instruction.keyword != "RUN":
                continue
            for command in instruction.commands:
                label = project_install(command)
                if label is None:
                    continue
                if broad is None:
                    before |= {label, _kind(label)}
                    continue
                if _dependencies_installed(label, before):
                    continue  # the two-step pattern: dependencies before the COPY, the project itself after
                copy, word = broad
                yield ctx.report(word.start, word.end,
                                 f"{copy.keyword} {word.value} comes before `{label}` (line {instruction.start_line}): "
                                 "any source edit invalidates the dependency layer and reinstalls everything; "
                                 "copy the dependency manifest first, install, then copy the rest",
                                 fix=_fix(df, ctx.build, copy, word, instruction, command))
                broad = None
                break


def _broad_source(instruction, build):
    """The source word of a COPY that copies the whole context or a folder holding a manifest."""
    if instruction.flag("from") is not None or instruction.heredocs:
        return None
    for word, value in instruction.paths[:-1]:
        clean = posixpath.normpath(value.lstrip("/")) if value.strip("/") else "."
        if clean in (".", "*"):
            return instruction, word
        if build is not None and build.is_dir(clean) and any(build.exists(posixpath.join(clean, m)) for m in MANIFESTS):
            return instruction, word
    return None


def _kind(label: str) -> str:
    """What an install reads: 'requirements' (-r), 'project' (`.`, `-e .`), or its tool ('uv sync', 'poetry')."""
    if " -r " in label:
        return "requirements"
    if label.startswith(("pip install", "uv pip install")):
        return "project"
    return " ".join(label.split()[:2]) if label.startswith("uv sync") else label.split()[0]


def _dependencies_installed(label: str, before: set[str]) -> bool:
    """An install after the broad COPY whose dependencies an install before it already put in a cached layer:
    `uv sync` after `uv sync --no-install-project`, `poetry install` after `poetry install --no-root`,
    `pip install .` after `pip install -r requirements.txt`, the same `-r` file twice."""
    kind = _kind(label)
    if kind == "requirements":
        return label in before
    if kind == "project":
        return "requirements" in before or "project" in before
    return kind in before


# ---------------------------------------------------------------------------------------------------------
# The fix: the manifests and the install before the broad COPY, the broad COPY after the install.


# Instructions that neither read the image's files nor change what a COPY does.
_INERT = frozenset({"LABEL", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "CMD", "ENTRYPOINT", "MAINTAINER", "USER",
                    "SHELL", "ONBUILD", "VOLUME"})
# The deps-only spelling of a project install, and the word it follows.
_DEPS_ONLY = {"uv sync": ("sync", "--no-install-project"), "poetry": ("install", "--no-root")}


def _fix(df, build, copy, word, run, command) -> Fix | None:
    """Move the broad COPY down to just after the install, with a COPY of the manifests the install reads put
    just before it. A `uv sync` / `poetry install` stays after the broad COPY (it installs the project itself)
    and a deps-only copy of it (`--no-install-project` / `--no-root`) goes before. SAFE when every command of
    the RUN reads only the manifests, UNSAFE when some other command may read more."""
    if build is None or copy.json or copy.flag("parents") is not None:
        return None
    places = _Places(df, build, copy, word)
    if places.dest is None or not all(_transparent(i, places) for i in _between(copy, run)):
        return None
    plan = _plan(df, build, run, command, places)
    if plan is None:
        return None
    manifests, applicability, deps_run = plan
    source, nl = df.source, newline_of(df.source.text)
    first = comment_lines_above(source, copy.start_line)
    moved = source.text[source.line_start(first):source.line_end(copy.end_line)]
    missing = [m for m in manifests if m not in places.already_copied(run)]
    lines = places.copy_lines(missing)
    if _joins_runs(copy, run, bool(lines) or deps_run is not None):
        return None
    at = source.line_start(comment_lines_above(source, run.start_line))
    if deps_run is not None:
        inserted = nl.join(lines + [deps_run, moved]) + nl
        edits = [Edit(*block_removal(source, first, copy.end_line), ""), Edit(at, at, inserted)]
        title = f"Install the dependencies from {', '.join(manifests)} before {copy.keyword} {word.value}"
    else:
        end = source.line_end(run.end_line)
        edits = [Edit(*block_removal(source, first, copy.end_line), "")]
        if lines:
            edits.append(Edit(at, at, nl.join(lines) + nl))
        edits.append(Edit(end, end, nl + moved))
        title = f"Copy {', '.join(manifests)} and install before {copy.keyword} {word.value}"
    return Fix(title, tuple(edits), applicability)


def _joins_runs(copy, run, separated: bool) -> bool:
    """Whether taking the COPY out leaves two RUNs with the same flags next to each other (one layer each that
    ML302 would ask to merge): the instructions around it, unless what is inserted before the install ends
    up between them."""
    instructions = copy.stage.instructions
    position = instructions.index(copy)
    before = instructions[position - 1]
    after = instructions[position + 1] if position + 1 < len(instructions) else None
    if after is None or after is run and separated or before.keyword != "RUN" or after.keyword != "RUN":
        return False
    return same_flags(before, after)


def _between(copy, run):
    return [i for i in copy.stage.instructions if copy.index < i.index < run.index]


class _Places:
    """Where the broad COPY puts things: its source folder in the context and its destination in the image."""

    def __init__(self, df, build, copy, word):
        self.df, self.build, self.copy, self.word = df, build, copy, word
        # The base image's WORKDIR is unknown: "/" stands for it, which only paths relative to it reach.
        self.workdir = {i.index: w or "/" for i, w in workdirs(df)}
        value = next(v for w, v in copy.paths if w is word)
        self.source = normalize_relpath(value)
        dest_word, dest = copy.paths[-1]
        self.dest_text = dest_word.value
        resolved, known = expand(dest, copy.vars)
        self.dest = posixpath.normpath(posixpath.join(self.workdir[copy.index], resolved)) if known else None
        self.absolute = resolved.startswith("/")

    def image_path(self, relpath: str) -> str | None:
        """Where the broad COPY puts a context file; None if it is not under the copied folder."""
        if self.source != "." and not relpath.startswith(self.source + "/"):
            return None
        return posixpath.join(self.dest, self.inner(relpath))

    def inner(self, relpath: str) -> str:
        return relpath if self.source == "." else relpath[len(self.source) + 1:]

    def already_copied(self, run) -> set[str]:
        """Context files that COPYs between the broad COPY and the install already put where it puts them."""
        found = set()
        for instruction in _between(self.copy, run):
            for relpath, target in _file_copies(instruction, self.workdir[instruction.index], self.build) or []:
                if self.image_path(relpath) == target:
                    found.add(relpath)
        return found

    def copy_lines(self, manifests: list[str]) -> list[str]:
        """`COPY [flags] <manifests> <dest>/`, one line per folder of the manifests under the copied folder."""
        if not manifests:
            return []
        text = self.df.source.text
        keyword = "copy" if self.copy.raw_keyword.islower() else "COPY"
        flags = [text[f.start:f.end] for f in self.copy.flags]
        raw_source = self.word.value
        groups: dict[str, list[str]] = {}
        for relpath in manifests:
            inner = self.inner(relpath)
            written = f"{raw_source.rstrip('/')}/{inner}" if "$" in raw_source else relpath
            groups.setdefault(posixpath.dirname(inner), []).append(written)
        lines = []
        for folder, files in groups.items():
            base = self.dest_text.rstrip("/") or "/"
            if folder:
                base = f"{base}/{folder}" if base != "/" else f"/{folder}"
            lines.append(" ".join([keyword, *flags, *files, base if base.endswith("/") else base + "/"]))
        return lines


def _file_copies(instruction, workdir: str, build) -> list[tuple[str, str]] | None:
    """(context file, image path) of a COPY/ADD of plain files from the context; None for anything else."""
    if instruction.flag("from") is not None or instruction.heredocs or len(instruction.paths) < 2:
        return None
    values = [v for _, v in instruction.paths]
    sources, dest = values[:-1], values[-1]
    into = dest.endswith("/") or dest in (".", "./") or len(sources) > 1
    dest = posixpath.normpath(posixpath.join(workdir, dest))
    found = []
    for value in sources:
        relpath = normalize_relpath(value)
        if re.search(r"[*?\[]", value) or "://" in value or not build.exists(relpath) or build.is_dir(relpath):
            return None
        found.append((relpath, posixpath.join(dest, posixpath.basename(relpath)) if into else dest))
    return found


def _transparent(instruction, places: _Places) -> bool:
    """Whether the broad COPY can move below this instruction without changing what either does."""
    keyword = instruction.keyword
    if keyword in _INERT:
        return True
    copy_text = places.copy.original
    if keyword in ("ENV", "ARG"):
        names = instruction.args[0::2] if keyword == "ENV" else [a.split("=", 1)[0] for a in instruction.args]
        return not any(re.search(rf"\$\{{?{re.escape(n)}\b", copy_text) for n in names)
    if keyword == "WORKDIR":
        return places.absolute
    if keyword in ("COPY", "ADD"):
        if instruction.flag("from") is None and "://" not in instruction.original:
            copies = _file_copies(instruction, places.workdir[instruction.index], places.build)
            return copies is not None and all(places.image_path(r) == t for r, t in copies)
        dest = posixpath.normpath(posixpath.join(places.workdir[instruction.index], instruction.paths[-1][1]))
        return not _overlaps(dest, places.dest)
    if keyword == "RUN":
        return all(reads_no_sources(c) and not _touches(c, places.dest) for c in instruction.commands)
    return False


def _overlaps(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/") or folder.startswith(path.rstrip("/") + "/")


def _touches(command, dest: str) -> bool:
    """A file utility working on the copied folder (or a folder holding it)."""
    return any(w.value.startswith("/") and _overlaps(posixpath.normpath(w.value), dest) for w in command.argv[1:])


def _plan(df, build, run, command, places):
    """(manifests, applicability, deps-only RUN text or None) for moving the install; None when the RUN reads
    more than the manifests (a local project, a path in a requirements file) or what it reads is unknown."""
    view = next((v for v in runs(df, build) if v.instruction is run), None)
    if view is None:
        return None
    cwd, manifests, unsafe = view.workdir, [], False
    deps = _DEPS_ONLY.get(_kind(project_install(command)))
    if deps is not None and any(w.value == deps[1] for w in command.argv):
        deps = None  # already deps-only: it moves like any manifest install
    for other in run.commands:
        if other.name == "cd" and len(other.argv) == 2:
            cwd = posixpath.normpath(posixpath.join(cwd, expand(other.argv[1].value, run.vars)[0]))
            continue
        if project_install(other):
            found = _reads(other, cwd, view, places)
            if found is None:
                return None  # an install of the project itself, or of files that cannot be traced
            manifests += [m for m in found if m not in manifests]
        elif deps is not None:
            return None  # the deps-only copy of the RUN would run this command twice
        elif reads_no_sources(other):
            continue
        elif _reads_context(other, cwd, places):
            return None
        else:
            unsafe = True
    if not manifests:
        return None
    deps_run = _deps_only_text(df, run, command, deps) if deps is not None else None
    if deps is not None and deps_run is None:
        return None
    return manifests, Applicability.UNSAFE if unsafe else Applicability.SAFE, deps_run


def _reads(command, cwd: str, view, places) -> list[str] | None:
    """The context files a manifest install reads (all under the copied folder), or None."""
    pip = pip_install(command)
    if pip is not None:
        if pip.editables or any(_local(w.value) for w in pip.packages + pip.option_values("--find-links")):
            return None
        files = []
        for word in pip.requirement_files + pip.constraint_files:
            relpath = _context_path(word.value, cwd, view)
            closure = view.build.requirements_closure(relpath) if relpath else []
            if not closure or any(_reads_local(parsed) for parsed in closure):
                return None
            files += [_relpath(view.build, parsed.source.path) for parsed in closure]
        return _under_copy(files, places)
    sync = uv_sync(command)
    if sync is not None or command.name == "poetry":
        folder = sync.option_values("--project") or sync.option_values("--directory") if sync else []
        project = _context_path(posixpath.join(folder[-1].value if folder else ".", "pyproject.toml"), cwd, view)
        if project is None or not _self_contained(view.build, project):
            return None
        extra = ("uv.lock", ".python-version", "uv.toml") if sync else ("poetry.lock", "poetry.toml")
        folder_rel = posixpath.dirname(project)
        files = [project] + [posixpath.join(folder_rel, name) for name in extra
                             if view.build.exists(posixpath.join(folder_rel, name))]
        return _under_copy([normalize_relpath(f) for f in files], places)
    return None


def _under_copy(files: list[str], places) -> list[str] | None:
    if not files or any(places.image_path(f) is None for f in files):
        return None
    return list(dict.fromkeys(files))


def _context_path(path: str, cwd: str, view) -> str | None:
    image_path = posixpath.normpath(posixpath.join(cwd, expand(path, view.instruction.vars)[0]))
    return context_file(image_path, view.placements, view.build)


def _relpath(build, path: str) -> str:
    return normalize_relpath(posixpath.relpath(path, str(build.root)))


def _local(value: str) -> bool:
    return value in (".", "..") or value.startswith(("./", "../", "/", "file:", ".["))


def _reads_local(parsed) -> bool:
    """A requirements file that installs local paths (which the manifests alone do not hold)."""
    return any(r.kind == "path" or r.editable or (r.url or "").startswith("file:") for r in parsed.requirements) or any(
        o.option == "--find-links" and o.value and "://" not in o.value for o in parsed.options)


def _self_contained(build, project: str) -> bool:
    """A pyproject.toml whose dependencies come from indexes only: no uv workspace, no path dependency."""
    import tomllib

    try:
        data = tomllib.loads(build.read(project).text)
    except Exception:  # noqa: BLE001 - unreadable or invalid: the install fails the same either way
        return False
    tool = data.get("tool") or {}
    uv = tool.get("uv") or {}
    sources = list((uv.get("sources") or {}).values())
    poetry = (tool.get("poetry") or {}).get("dependencies") or {}
    tables = [s for s in sources + list(poetry.values()) if isinstance(s, dict)]
    return "workspace" not in uv and not any("path" in t or t.get("workspace") for t in tables)


def _reads_context(command, cwd: str, places) -> bool:
    """A command that may read the copied sources: a build tool, a script, or an argument naming a file or
    folder the broad COPY puts in the image."""
    if command.unknown or command.name in ("make", "cmake", "ninja", "bash", "sh") or command.name.startswith(
            "python") and any(w.value.endswith(".py") for w in command.argv[1:]):
        return True
    for word in command.argv[1:]:
        value = word.value
        if value.startswith("-") or "://" in value:
            continue
        path = posixpath.normpath(posixpath.join(cwd, value))
        if path == places.dest or path.startswith(places.dest.rstrip("/") + "/"):
            inner = posixpath.relpath(path, places.dest)
            if inner == "." or places.build.exists(posixpath.normpath(posixpath.join(places.source, inner))):
                return True
    return False


def _deps_only_text(df, run, command, deps) -> str | None:
    """The RUN's text with the deps-only option after the subcommand (`uv sync` -> `uv sync --no-install-project`)."""
    subcommand, option = deps
    if any(w.value == option for w in command.argv):
        return None
    word = next((w for w in command.argv[1:] if w.value == subcommand), None)
    if word is None or run.json:
        return None
    text = df.source.text
    start, end = df.source.line_start(run.start_line), df.source.line_end(run.end_line)
    return text[start:word.end] + " " + option + text[word.end:end]
