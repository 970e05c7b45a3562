"""ML207 removed-in-later-layer: a RUN deletes what an earlier layer created, so the bytes stay in the image."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import (ARTIFACT_SUFFIXES, SMALL_SUFFIXES, TAR_SUFFIXES, UNKNOWN_WORKDIR, creations,
                                  has_suffix, is_remote, resolve, run_steps, sources)
from dockerlint_ml.model import unquote
from dockerlint_ml.paths import glob_relation
from dockerlint_ml.registry import rule
from dockerlint_ml.text import human_size


@dataclass
class Layer:
    """Something an earlier instruction left in its layer."""

    kind: str  # 'copy', 'copy-from', 'download', 'extract', 'clone', 'apt-lists', 'pip', 'uv', 'conda'
    paths: tuple[str, ...]  # where it is (alternatives when COPY's destination may be a directory)
    instruction: object
    whole: bool = False  # a cache: everything under the path is its content
    origin: str | None = None  # COPY from the context: the context path copied to paths[0]
    name: str = ""  # the copied source's file name


@rule("ML207", "removed-in-later-layer", Severity.WARNING,
      "A RUN deletes files an earlier layer created: their bytes stay in that layer and in the image.",
      options={"min_size_mb": 1.0})
def check(df, ctx):
    minimum = ctx.options["min_size_mb"] * 1_000_000
    alive: list[Layer] = []
    workdir: str | None = UNKNOWN_WORKDIR
    for stage in reversed(df.final_lineage):  # oldest ancestor first: its layers are under the later ones
        for instruction in stage.instructions[1:]:
            keyword = instruction.effective_keyword
            if keyword == "WORKDIR" and instruction.words:
                workdir = _resolve_arg(instruction, instruction.words[0], workdir)
            elif keyword in ("COPY", "ADD") and instruction.keyword == keyword:
                alive.extend(_copied(instruction, workdir, ctx.build))
            elif keyword == "RUN" and instruction.keyword == keyword:
                yield from _run(instruction, workdir, alive, ctx, minimum)


def _run(instruction, workdir, alive: list[Layer], ctx, minimum: float):
    fresh: list[Layer] = []  # created by this RUN: deleting them here is the right way
    for step in run_steps(instruction, workdir):
        for deletion in step.deletions:
            undone = [layer for layer in fresh if _match(deletion, layer)[0] == ""]
            fresh = [layer for layer in fresh if layer not in undone]
            hits = []
            for layer in list(alive):
                rest, path = _match(deletion, layer)
                if rest is None:
                    continue
                if rest == "":
                    alive.remove(layer)  # gone from here on: report it once
                recreated = any(set(layer.paths) & set(other.paths) for other in undone)
                size = _bytes(layer, rest, ctx.build, minimum)
                if not recreated and size is not False:
                    hits.append((layer, size, deletion.pattern if rest else path))
            if hits:
                yield ctx.report(deletion.start, deletion.end, _message(deletion, hits))
        fresh.extend(Layer(c.kind, c.paths, instruction, c.whole) for c in creations(instruction, step))
    alive.extend(fresh)


def _match(deletion, layer: Layer) -> tuple[str | None, str | None]:
    """('', path) when the deletion removes the layer's files at path, (rest of the pattern, path) when it
    removes something inside them, (None, None) when it does not touch them."""
    if deletion.kind is not None:
        return ("", layer.paths[-1]) if deletion.kind == layer.kind else (None, None)
    found = (None, None)
    for path in layer.paths:
        rest = glob_relation(deletion.pattern, path)
        if rest in ("", "*"):  # `rm -rf dir/*` empties what was copied or unpacked into dir
            return "", path
        found = found if rest is None else (rest, path)
    return found


def _bytes(layer: Layer, rest: str, build, minimum: float):
    """What the deletion frees in the earlier layer: a byte count, None when unknown but worth a report,
    False when not worth one (too small, not there, or not certainly created by that layer)."""
    if layer.kind == "copy" and layer.origin is not None and build is not None:
        if rest and not build.is_dir(layer.origin):
            return False
        target = posixpath.join(layer.origin, rest) if rest else layer.origin
        size = sum(build.size_of(rel) for rel in build.match(target))
        return size if size >= minimum and size > 0 else False
    if rest:
        return None if layer.whole else False  # inside a copy or an unpacked archive: it may be new
    if layer.kind == "copy" and not has_suffix(layer.name, ARTIFACT_SUFFIXES):
        return False  # not in the context we see, and nothing says it is big
    if layer.kind == "copy-from" and has_suffix(layer.name, SMALL_SUFFIXES):
        return False  # a requirements file or a script: a few KB
    return None


def _resolve_arg(instruction, word, cwd):
    value = word.value if instruction.json else unquote(word.value)
    return resolve(value, instruction.vars, cwd)


def _copied(instruction, workdir, build) -> list[Layer]:
    """Where a COPY/ADD puts each source, and for context sources what it copies."""
    if instruction.heredocs or len(instruction.paths) < 2:
        return []
    dest_word = instruction.paths[-1][0]
    dest = _resolve_arg(instruction, dest_word, workdir)
    if dest is None:
        return []
    into_dir = dest_word.value.endswith("/") or len(instruction.paths) > 2
    layers = []
    if instruction.keyword == "ADD":
        layers += _added_remote(instruction, dest, dest_word.value.endswith("/"))
    source_from = instruction.flag("from")
    for word, value in sources(instruction):
        name = posixpath.basename(value.rstrip("/")) or value
        if instruction.keyword == "ADD" and has_suffix(name, TAR_SUFFIXES):
            layers.append(Layer("extract", (dest,), instruction))  # ADD unpacks it into dest
            continue
        if source_from is not None or build is None or not build.match(value):
            kind = "copy-from" if source_from is not None else "copy"
            layers.append(Layer(kind, _file_destinations(dest, name, into_dir or "*" in value), instruction, name=name))
            continue
        for rel in build.match(value):
            paths = (dest,) if build.is_dir(rel) else _file_destinations(dest, posixpath.basename(rel), into_dir)
            layers.append(Layer("copy", paths, instruction, origin=rel, name=posixpath.basename(rel)))
    return layers


def _file_destinations(dest: str, name: str, into_dir: bool) -> tuple[str, ...]:
    """A file lands in dest/name when dest is a directory, which it may already be in the image."""
    inside = posixpath.join(dest, name)
    return (inside,) if into_dir else (dest, inside)


def _added_remote(instruction, dest: str, into_dir: bool) -> list[Layer]:
    """ADD of URLs (downloads) and git repositories (clones)."""
    layers = []
    for word, value in instruction.paths[:-1]:
        if not is_remote(value):
            continue
        if "://" in value and not value.endswith(".git") and ".git#" not in value:
            name = value.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            layers.append(Layer("download", (posixpath.join(dest, name) if into_dir else dest,), instruction))
        else:
            layers.append(Layer("clone", (dest,), instruction))
    return layers


def _message(deletion, hits) -> str:
    layer, size, path = hits[0]
    first = _what(layer, path) + (f" ({human_size(size)})" if size else "")
    lines = sorted({other.instruction.start_line for other, _, _ in hits[1:]} - {layer.instruction.start_line})
    more = f", and files from line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}" if lines else ""
    return (f"`{deletion.shown}` deletes {first}{more}: the bytes stay in that earlier layer, so the image gets no "
            f"smaller; {_advice(layer)}")


def _what(layer: Layer, path: str) -> str:
    if path.startswith(UNKNOWN_WORKDIR + "/"):
        path = path[len(UNKNOWN_WORKDIR) + 1:]  # relative to the base image's WORKDIR
    line = layer.instruction.start_line
    keyword = layer.instruction.keyword
    return {
        "copy": f"{path}, which {keyword} on line {line} brought in",
        "copy-from": f"{path}, which COPY --from on line {line} copied",
        "download": f"{path}, which the {keyword} on line {line} downloaded",
        "extract": f"{path}, which the {keyword} on line {line} unpacked",
        "clone": f"{path}, which the {keyword} on line {line} cloned",
        "apt-lists": f"the apt package lists that `apt-get update` on line {line} wrote",
        "pip": f"the pip cache {path} that pip install on line {line} filled",
        "uv": f"the uv cache {path} that uv on line {line} filled",
        "conda": f"the conda package cache {path} that the install on line {line} filled",
    }[layer.kind]


def _advice(layer: Layer) -> str:
    return {
        "copy": "leave it out with .dockerignore, or use it through RUN --mount=type=bind instead of copying it",
        "copy-from": "use it through RUN --mount=type=bind,from=<stage> instead of COPY --from",
        "download": "download, use and delete it in one RUN",
        "extract": "unpack, use and delete it in one RUN",
        "clone": "clone, build and delete it in one RUN (or in a builder stage)",
        "apt-lists": "add `rm -rf /var/lib/apt/lists/*` to the RUN that runs apt-get update",
        "pip": "use --no-cache-dir or a cache mount in that RUN",
        "uv": "use --no-cache or a cache mount in that RUN",
        "conda": "end that RUN with `conda clean -afy`",
    }[layer.kind]
