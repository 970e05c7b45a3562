"""What Python (and conda) packages each stage installs, wherever they are written.

A package counts the same whether it is a RUN argument (`pip install torch==2.5.1`), a line of a requirements
file the RUN reads, a dependency of an `environment.yml` (`conda env create`) or of a `pyproject.toml`
(`pip install .`, `uv sync`, `poetry install`). Each `Package` remembers where it is written, so a rule reports
it at its own file and line. The inventory is computed once per Dockerfile and shared by every rule.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterator

from dockerlint_ml.installs import conda_command, pip_install, uv_sync
from dockerlint_ml.model import Dockerfile, Instruction, Stage, expand
from dockerlint_ml.reach import RunView, runs
from dockerlint_ml.requirements import Requirement, make_requirement, wheel_pin
from dockerlint_ml.shell import Command, parse_args
from dockerlint_ml.text import InputError, SourceText

_CONDA_SPEC = re.compile(r"^(?:(?P<channel>[\w.-]+)::)?(?P<name>[A-Za-z0-9_][\w.-]*)\s*(?P<spec>.*)$")
_CONDA_URL = re.compile(r"/(?P<name>[^/]+)-(?P<version>[^-/]+)-[^-/]+\.(?:conda|tar\.bz2)(?:#[0-9a-fA-F]*)?$")
_INDEX_ENV = {"PIP_INDEX_URL": "index", "UV_INDEX_URL": "index", "UV_DEFAULT_INDEX": "index",
              "PIP_EXTRA_INDEX_URL": "extra", "UV_EXTRA_INDEX_URL": "extra", "UV_INDEX": "extra",
              "PIP_FIND_LINKS": "links", "UV_FIND_LINKS": "links"}


@dataclass
class Package:
    name: str  # canonical PyPI name, or the conda package name in lower case
    text: str  # the requirement as written, ARG/ENV expanded
    specifier: str  # "==2.5.1+cu121", ">=1.0", "" (conda: "=1.0", "1.0.*", ...)
    manager: str  # 'pip', 'uv', 'conda' (also mamba/micromamba), 'poetry'
    stage: Stage
    instruction: Instruction  # the RUN that installs it
    start: int  # offsets of the requirement in `source`
    end: int
    source: SourceText | None = None  # None: written in the Dockerfile itself
    extras: tuple[str, ...] = ()
    url: str | None = None
    index_urls: tuple[str, ...] = ()  # --index-url / -i / PIP_INDEX_URL: replaces PyPI
    extra_index_urls: tuple[str, ...] = ()  # --extra-index-url / PIP_EXTRA_INDEX_URL: added to PyPI
    find_links: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # conda channels
    requirement: Requirement | None = None  # pip-style requirements only

    @property
    def version(self) -> str | None:
        """The exact version pinned with == (or a wheel file's version), local tag included; else None."""
        match = re.fullmatch(r"\s*===?\s*([^,;\s*]+)\s*", self.specifier)
        if match:
            return match.group(1)
        if self.manager == "conda":
            match = re.fullmatch(r"\s*=?=?\s*([0-9][^,|*\s]*)\s*", self.specifier)
            return match.group(1) if match else None
        return None

    @property
    def local_tag(self) -> str | None:
        """`cu121` of `2.5.1+cu121`, also from a wheel URL or file name; None if there is no local tag."""
        version = self.version or ""
        if "+" in version:
            return version.split("+", 1)[1].lower()
        match = re.search(r"\+(cu\d+|cpu|rocm[\d.]+)\b", self.text)  # `torch==${V}+cu121`
        return match.group(1).lower() if match else None

    @property
    def release(self) -> tuple[int, ...] | None:
        """(2, 5, 1) of an exact pin, ignoring pre/post/local parts; None if not pinned."""
        match = re.match(r"(\d+(?:\.\d+)*)", self.version or "")
        return tuple(int(p) for p in match.group(1).split(".")) if match else None

    @property
    def locked(self) -> bool:
        """A pyproject.toml dependency installed by `uv sync` / `poetry install` beside its lock file: the lock,
        not the dependency's specifier, decides what is installed."""
        if self.source is None or posixpath.basename(self.source.path) != "pyproject.toml":
            return False
        folder = posixpath.dirname(self.source.path)
        if self.manager == "poetry":
            return os.path.isfile(posixpath.join(folder, "poetry.lock"))
        syncs = any(uv_sync(command) for command in self.instruction.commands)
        return syncs and os.path.isfile(posixpath.join(folder, "uv.lock"))


@dataclass
class _Indexes:
    index: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def merged(self, other: "_Indexes") -> "_Indexes":
        return _Indexes(other.index or self.index, self.extra + other.extra, self.links + other.links)


def installed_packages(df: Dockerfile, build) -> list[Package]:
    """Every package every RUN installs, in Dockerfile order; cached on the Dockerfile."""
    cached = df.__dict__.get("_packages")
    if cached is None:
        cached = list(_collect(df, build))
        df.__dict__["_packages"] = cached
    return cached


def stage_packages(df: Dockerfile, build, stages: list[Stage]) -> list[Package]:
    """The packages installed by the given stages (e.g. `df.final_lineage`: what ships)."""
    return [p for p in installed_packages(df, build) if p.stage in stages]


def report(ctx, package: Package, message: str):
    """A finding at the package, in whichever file it is written."""
    return ctx.report(package.start, package.end, message, source=package.source)


def _collect(df: Dockerfile, build) -> Iterator[Package]:
    views = {id(v.instruction): v for v in runs(df, build)}
    for stage in df.stages:
        for instruction in stage.instructions:
            if instruction.keyword != "RUN":
                continue
            view = views.get(id(instruction))
            for command in instruction.commands:
                yield from _from_command(stage, instruction, command, view)


def _from_command(stage, instruction, command: Command, view: RunView | None) -> Iterator[Package]:
    pip = pip_install(command)
    if pip is not None:
        indexes = _env_indexes(instruction, command).merged(_Indexes(
            [w.value for w in pip.option_values("--index-url") + pip.option_values("--default-index") if w],
            [w.value for w in pip.option_values("--extra-index-url") + pip.option_values("--index") if w],
            [w.value for w in pip.option_values("--find-links") if w]))
        for word in pip.packages + pip.editables:
            value = _expanded(word.value, instruction)
            if _is_project(value):
                yield from _from_project(stage, instruction, view, value, pip.tool, indexes, _extras_of(value))
            else:
                yield _pip_package(stage, instruction, value, word.start, word.end, None, pip.tool, indexes)
        for word in pip.requirement_files:
            if view is None:
                continue
            relpath = view.context_path(word.value)
            if relpath is None:
                continue
            if posixpath.basename(relpath) == "pyproject.toml":
                yield from _from_pyproject(stage, instruction, view, relpath, pip.tool, indexes, ())
            else:
                yield from _from_requirements(stage, instruction, view, relpath, pip.tool, indexes)
        return
    sync = uv_sync(command)
    if sync is not None:
        if view is not None:
            project = sync.option_values("--project") or sync.option_values("--directory")
            folder = project[-1].value if project and project[-1] else "."
            groups = () if sync.has_option("--no-dev") or sync.has_option("--only-group") else ("dev",)
            yield from _from_project(stage, instruction, view, folder, "uv", _env_indexes(instruction, command),
                                     (), groups)
        return
    if command.name == "poetry":
        _, positionals = parse_args(command.argv[1:], frozenset({"-C", "--directory", "-P", "--project", "--only",
                                                                 "--with", "--without", "-E", "--extras"}))
        if positionals and positionals[0].value in ("install", "sync") and view is not None:
            values = [w.value for w in command.argv]
            groups = () if any(v in ("--only", "--without") or v.startswith(("--only=", "--without="))
                               for v in values) else ("dev",)
            yield from _from_project(stage, instruction, view, ".", "poetry", _Indexes(), (), groups)
        return
    conda = conda_command(command)
    if conda is None or conda.action not in ("install", "create", "update", "env create", "env update"):
        return
    channels = tuple(w.value for w in conda.channels)
    for word in conda.packages:
        value = _expanded(word.value, instruction)
        package = _conda_package(stage, instruction, value, word.start, word.end, None, conda.tool, channels)
        if package is not None:
            yield package
    files = [w.value for w in conda.files]
    if conda.action.startswith("env") and not files:
        files = ["environment.yml"]  # what `conda env create` reads by default
    for name in files:
        relpath = view.context_path(name) if view is not None else None
        if relpath is not None:
            yield from _from_conda_file(stage, instruction, view, relpath, conda.tool, channels)


def _expanded(value: str, instruction: Instruction) -> str:
    """ARG/ENV substituted; as written when a variable is unknown (its text still tells `+cu121`)."""
    text, resolved = expand(value, instruction.vars)
    return text if resolved else value


def _env_indexes(instruction: Instruction, command: Command) -> _Indexes:
    env = dict(instruction.vars)
    for word in command.assignments:
        name, _, value = word.value.partition("=")
        env[name] = value
    found = _Indexes()
    for name, kind in _INDEX_ENV.items():
        if env.get(name):
            getattr(found, kind).extend(env[name].split())
    return found


def _is_project(value: str) -> bool:
    return value in (".", "..") or value.startswith(("./", ".[", "/")) and not value.endswith(".whl")


def _extras_of(value: str) -> tuple[str, ...]:
    match = re.search(r"\[([^\]]*)\]$", value)
    return tuple(e.strip().lower() for e in match.group(1).split(",")) if match else ()


def _pip_package(stage, instruction, text, start, end, source, tool, indexes: _Indexes,
                 requirement: Requirement | None = None) -> Package:
    req = requirement or make_requirement(text, 1, start, end)
    name, specifier = req.name, req.specifier
    if req.url and not name or text.endswith(".whl"):
        wheel_name, wheel_version = wheel_pin(req.url or text)
        name, specifier = wheel_name or name, specifier or wheel_version
    return Package(name=name or text, text=text, specifier=specifier, manager=tool, stage=stage,
                   instruction=instruction, start=start, end=end, source=source, extras=req.extras,
                   url=req.url, index_urls=tuple(indexes.index), extra_index_urls=tuple(indexes.extra),
                   find_links=tuple(indexes.links), requirement=req)


def _from_requirements(stage, instruction, view, relpath, tool, indexes) -> Iterator[Package]:
    try:
        files = view.build.requirements_closure(relpath, kinds=("requirement",))
    except InputError:
        return  # an unreadable requirements file is reported where it is parsed
    file_indexes = indexes
    for parsed in files:  # options anywhere in the closure apply to the whole install, as in pip
        for option in parsed.options:
            kind = {"--index-url": "index", "--extra-index-url": "extra", "--find-links": "links"}.get(option.option)
            if kind and option.value:
                file_indexes = file_indexes.merged(_Indexes(**{kind: [option.value]}))
    for parsed in files:
        for req in parsed.requirements:  # unparsable lines too: ML103 reports them
            yield _pip_package(stage, instruction, req.text, req.start, req.end, parsed.source, tool,
                                   file_indexes, req)


def _conda_package(stage, instruction, text, start, end, source, tool, channels) -> Package | None:
    if "://" in text:  # an explicit package URL (`@EXPLICIT` lock files): its file name gives name and version
        found = _CONDA_URL.search(text.strip())
        if found is None:
            return None
        return Package(name=found.group("name").lower(), text=text, specifier=f"=={found.group('version')}",
                       manager="conda", stage=stage, instruction=instruction, start=start, end=end, source=source,
                       url=text.strip(), channels=tuple(channels))
    match = _CONDA_SPEC.match(text.strip())
    if match is None:
        return None
    spec = match.group("spec").strip()
    channel = (match.group("channel"),) if match.group("channel") else ()
    return Package(name=match.group("name").lower(), text=text, specifier=spec, manager="conda", stage=stage,
                   instruction=instruction, start=start, end=end, source=source,
                   channels=channel + tuple(channels))


def _read(view: RunView, relpath: str) -> SourceText | None:
    build = view.build
    if not build.exists(relpath) or build.is_dir(relpath) or build.ignored(relpath):
        return None
    try:
        return build.read(relpath)  # through the context: `dlint fix` re-lints files it edited in memory
    except (InputError, OSError):
        return None


def _from_conda_file(stage, instruction, view, relpath, tool, channels) -> Iterator[Package]:
    """environment.yml dependencies (conda specs, and pip requirements under `- pip:`), or a plain spec list."""
    source = _read(view, relpath)
    if source is None:
        return
    if not relpath.endswith((".yml", ".yaml")):
        for offset, line in _lines(source.text):
            text = line.split("#", 1)[0].strip()
            if text and not text.startswith("@"):
                start = offset + line.index(text)
                package = _conda_package(stage, instruction, text, start, start + len(text), source, tool, channels)
                if package is not None:
                    yield package
        return
    import yaml

    try:
        root = yaml.compose(source.text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # a broken environment file fails the build; not this module's finding
    if not isinstance(root, yaml.MappingNode):
        return
    sections = {key.value: value for key, value in root.value if isinstance(key, yaml.ScalarNode)}
    file_channels = tuple(n.value for n in getattr(sections.get("channels"), "value", []) or []
                          if isinstance(n, yaml.ScalarNode))
    dependencies = sections.get("dependencies")
    if not isinstance(dependencies, yaml.SequenceNode):
        return
    for node in dependencies.value:
        if isinstance(node, yaml.ScalarNode):
            start, end = _scalar_span(source.text, node)
            package = _conda_package(stage, instruction, str(node.value), start, end, source, tool,
                                     file_channels + channels)
            if package is not None:
                yield package
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == "pip" and isinstance(value, yaml.SequenceNode):
                    for item in value.value:
                        if isinstance(item, yaml.ScalarNode) and not str(item.value).startswith("-"):
                            start, end = _scalar_span(source.text, item)
                            yield _pip_package(stage, instruction, str(item.value), start, end, source, "pip",
                                               _Indexes())


def _scalar_span(text: str, node) -> tuple[int, int]:
    """Offsets of a YAML scalar's value, without its quotes."""
    start, end = node.start_mark.index, node.end_mark.index
    if end > start and text[start] in "'\"":
        return start + 1, end - 1
    return start, end


def _lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line.rstrip("\r\n")
        offset += len(line)


def _from_project(stage, instruction, view, folder, tool, indexes, extras=(), groups=()) -> Iterator[Package]:
    relpath = view.context_path(posixpath.join(folder.split("[", 1)[0], "pyproject.toml"))
    if relpath is not None:
        yield from _from_pyproject(stage, instruction, view, relpath, tool, indexes, extras, groups)


def _from_pyproject(stage, instruction, view, relpath, tool, indexes, extras=(), groups=()) -> Iterator[Package]:
    """[project] dependencies (plus the extras and dependency groups being installed) and Poetry's tables."""
    import tomllib

    source = _read(view, relpath)
    if source is None:
        return
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError:
        return
    project = data.get("project") or {}
    specs = list(project.get("dependencies") or [])
    for extra in extras:
        specs += (project.get("optional-dependencies") or {}).get(extra) or []
    for group in groups:
        specs += [s for s in (data.get("dependency-groups") or {}).get(group) or [] if isinstance(s, str)]
        if group == "dev":
            specs += ((data.get("tool") or {}).get("uv") or {}).get("dev-dependencies") or []
    uv_sources = _uv_sources(data) if tool == "uv" else {}
    cursor = 0
    for spec in specs:
        if not isinstance(spec, str):
            continue
        start = _find_string(source.text, spec, cursor)
        cursor = max(cursor, start)
        package = _pip_package(stage, instruction, spec, start, start + len(spec), source, tool, indexes)
        package.index_urls, package.url = uv_sources.get(package.name, (package.index_urls, package.url))
        yield package
    poetry = (data.get("tool") or {}).get("poetry") or {}
    tables = [poetry.get("dependencies") or {}]
    if "dev" in groups:
        tables += [poetry.get("dev-dependencies") or {},
                   ((poetry.get("group") or {}).get("dev") or {}).get("dependencies") or {}]
    sources = {s.get("name"): s.get("url") for s in poetry.get("source") or [] if isinstance(s, dict)}
    sources.setdefault("pypi", "https://pypi.org/simple")
    for table in tables:
        for name, constraint in table.items():
            if name.lower() == "python":
                continue
            # a string, a table ({version = ..., source = ...}) or a list of tables (per-marker constraints)
            version = constraint if isinstance(constraint, str) else (
                constraint.get("version", "") if isinstance(constraint, dict) else "")
            start = _find_key(source.text, name)
            spec = f"=={version}" if re.fullmatch(r"\d[\w.+!-]*", version or "") else ""
            # a `source = "..."` takes the package from that [[tool.poetry.source]] only, as --index-url would
            tables_of = constraint if isinstance(constraint, list) else [constraint]
            named = [sources.get(t["source"], t["source"]) for t in tables_of if isinstance(t, dict) and "source" in t]
            yield Package(name=name.lower().replace("_", "-"), text=f"{name} {version}".strip(), specifier=spec,
                          manager="poetry", stage=stage, instruction=instruction, start=start,
                          end=start + len(name), source=source,
                          index_urls=tuple(dict.fromkeys(named)) or tuple(indexes.index),
                          extra_index_urls=tuple(indexes.extra))


def _uv_sources(data: dict) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """[tool.uv.sources] as (index URLs, direct URL) per canonical name: `{ index = "pytorch-cpu" }` takes the
    package from that [[tool.uv.index]] only; git/url/path sources from there (a list: one per marker)."""
    uv = (data.get("tool") or {}).get("uv") or {}
    urls = {i.get("name"): i.get("url") for i in uv.get("index") or [] if isinstance(i, dict)}
    found = {}
    for name, entries in (uv.get("sources") or {}).items():
        entries = entries if isinstance(entries, list) else [entries]
        named = [urls.get(e["index"], e["index"]) for e in entries if isinstance(e, dict) and "index" in e]
        direct = next((e.get("git") or e.get("url") or e.get("path") for e in entries
                       if isinstance(e, dict) and not e.get("index")), None)
        found[re.sub(r"[-_.]+", "-", name).lower()] = (tuple(dict.fromkeys(named)), direct)
    return found


def _find_string(text: str, value: str, cursor: int) -> int:
    for quote in ('"', "'"):
        found = text.find(quote + value + quote, cursor)
        if found >= 0:
            return found + 1
    found = text.find(value)
    return max(found, 0)


def _find_key(text: str, name: str) -> int:
    match = re.search(rf"^\s*([\"']?{re.escape(name)}[\"']?)\s*=", text, re.MULTILINE)
    return match.start(1) if match else 0
