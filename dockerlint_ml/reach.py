"""Follow files from the build context into the image: which context file a `pip install -r PATH` reads.

A RUN sees what COPY/ADD (from the context, not `--from` a stage) put into its stage or the stages it is
built FROM, and what its own `--mount=type=bind` mounts. Paths are resolved against WORKDIR.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from dockerlint_ml.installs import PipInstall, pip_install
from dockerlint_ml.model import Dockerfile, Instruction, Stage, expand


@dataclass
class Placement:
    source: str  # context relpath ("." for the whole context)
    dest: str  # absolute image path: the file, or the directory receiving a directory's contents
    is_dir: bool


@dataclass
class InstalledRequirements:
    instruction: Instruction
    install: PipInstall
    relpath: str  # context path of the requirements file


def _lineage(stage: Stage) -> list[Stage]:
    chain = []
    while stage is not None and stage not in chain:
        chain.insert(0, stage)
        stage = stage.parent
    return chain


def _resolve(path: str, workdir: str) -> str:
    return posixpath.normpath(posixpath.join(workdir, path))


def _copy_placements(instruction: Instruction, workdir: str, build) -> list[Placement]:
    if instruction.flag("from") is not None or instruction.heredocs or len(instruction.words) < 2:
        return []
    values = [value for _, value in instruction.paths]
    sources, dest = values[:-1], values[-1]
    into_dir = dest.endswith("/") or dest in (".", "./") or len(sources) > 1
    dest = _resolve(dest, workdir)
    placed = []
    for pattern in sources:
        if "://" in pattern:
            continue
        matches = build.match(pattern) if build is not None else []
        if any(ch in pattern for ch in "*?["):
            into_dir = True
        for rel in matches:
            if build.is_dir(rel):
                placed.append(Placement(rel, dest, True))
            else:
                target = posixpath.join(dest, posixpath.basename(rel)) if into_dir else dest
                placed.append(Placement(rel, target, False))
    return placed


def _bind_placements(instruction: Instruction, workdir: str, build) -> list[Placement]:
    placed = []
    for fields in instruction.mounts:
        if fields.get("type") != "bind" or "from" in fields:
            continue
        source, target = fields.get("source", "."), fields.get("target")
        if not target:
            continue
        rel = source.strip("/") or "."
        placed.append(Placement(rel, _resolve(target, workdir), build is not None and build.is_dir(rel)))
    return placed


def context_file(image_path: str, placements: list[Placement], build) -> str | None:
    """The context relpath that ends up at `image_path`, the latest placement winning."""
    for place in reversed(placements):
        if place.is_dir and (image_path == place.dest or image_path.startswith(place.dest.rstrip("/") + "/")):
            inner = image_path[len(place.dest.rstrip("/")) + 1:]
            candidate = posixpath.normpath(posixpath.join(place.source, inner))
            if build.exists(candidate):
                return candidate
        elif not place.is_dir and image_path == place.dest:
            return place.source
    return None


@dataclass
class RunView:
    """A RUN with what it sees of the build context: the files COPY/ADD placed and its own bind mounts."""
    stage: Stage
    instruction: Instruction
    workdir: str
    placements: list[Placement]
    build: object

    def context_path(self, path: str) -> str | None:
        """The context relpath behind `path` as this RUN names it (ARG/ENV expanded, relative to WORKDIR)."""
        image_path = _resolve(expand(path, self.instruction.vars)[0], self.workdir)
        return context_file(image_path, self.placements, self.build)


def runs(df: Dockerfile, build) -> list[RunView]:
    """Every RUN of every stage, with the context files visible to it; [] without a build context."""
    views = []
    if build is None:
        return views
    for stage in df.stages:
        placements: list[Placement] = []
        workdir = "/"
        for ancestor in _lineage(stage):
            for instruction in ancestor.instructions:
                if ancestor is not stage or instruction.keyword in ("COPY", "ADD", "WORKDIR"):
                    workdir = track(instruction, workdir, placements, build)
                elif instruction.keyword == "RUN":
                    visible = placements + _bind_placements(instruction, workdir, build)
                    views.append(RunView(stage, instruction, workdir, visible, build))
    return views


def installed_requirements(df: Dockerfile, build) -> list[InstalledRequirements]:
    """Every `pip install -r FILE` whose FILE can be traced back to a file of the build context."""
    found = []
    for view in runs(df, build):
        for command in view.instruction.commands:
            install = pip_install(command)
            if install is None:
                continue
            for word in install.requirement_files:
                relpath = view.context_path(word.value)
                if relpath is not None:
                    found.append(InstalledRequirements(view.instruction, install, relpath))
    return found


def track(instruction: Instruction, workdir: str, placements: list[Placement], build) -> str:
    if instruction.keyword == "WORKDIR" and instruction.paths:
        return _resolve(instruction.paths[0][1], workdir)
    if instruction.keyword in ("COPY", "ADD"):
        placements.extend(_copy_placements(instruction, workdir, build))
    return workdir
