"""Pinning fixes: exact versions, commits and hashes from a lock source, digests of local images.

dlint never invents a version. A pin comes from a lock source the user names:
- `--pin-from FILE`: a `pip freeze` or `uv pip compile` (`pip-compile`) output, read as a requirements file;
- `--pin-from-image IMAGE`: `pip freeze --all` run (with `--network none`) in an image already built from
  this Dockerfile, through the docker CLI (`DLINT_DOCKER`, else `docker` on PATH).
The CLI hands them to ML102, ML103 and ML105 as the rule options `pin_from` / `pin_from_image` (see
`options_from_args`); a configuration file may set the same options. Without a source the fixes are
display-only, showing where the version goes. ML101 pins a base image to the digest of the local image
of that name (`--pin-digests`, `docker image inspect`).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion

from dockerlint_ml.finding import Applicability, Edit, Fix
from dockerlint_ml.requirements import Requirement, parse_requirements, url_hash, vcs_commit
from dockerlint_ml.text import InputError, SourceText, read_source

PIN_RULES = ("ML102", "ML103", "ML105")
PIN_OPTIONS = {"pin_from": "", "pin_from_image": ""}  # the options each of PIN_RULES declares
DOCKER_TIMEOUT = 300  # seconds: a first `docker run` may have to unpack a large ML image
# Ways to ask an image for its installed packages, tried in order: an image may have pip only as a module,
# or a uv-made virtualenv with no pip at all.
_FREEZE_COMMANDS = (("pip", "freeze", "--all"), ("python3", "-m", "pip", "freeze", "--all"),
                    ("python", "-m", "pip", "freeze", "--all"), ("uv", "pip", "freeze"))
_NAMED = re.compile(r"(?P<head>\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\s*(?:\[[^\]]*\])?)"
                    r"(?P<spec>[^;]*?)(?P<tail>\s*(?:;.*)?)", re.S)
# A version range glued to an unquoted word is a shell redirection: `pip install torch>=2.0` installs
# `torch` and writes pip's output to a file named `=2.0`. The pin replaces both.
_GLUED_RANGE = re.compile(r"[<>]=?\d[\w.*+!-]*(?=$|[\s;&|)\\\"'])")


class PinSourceError(InputError):
    """A lock source cannot be read (no such file, no docker, no such image): one line, exit 2."""


# --- lock sources ---------------------------------------------------------------------------------------


@dataclass
class Lock:
    """What a lock source says was installed: versions by name, commits by repository, hashes by URL."""

    label: str  # for fix titles: the file, or `pip freeze in IMAGE`
    versions: dict[str, str] = field(default_factory=dict)  # canonical name -> exact version
    commits: dict[str, str] = field(default_factory=dict)  # repository key -> full commit
    hashes: dict[str, str] = field(default_factory=dict)  # URL without fragment -> "sha256=<hex>"

    def merged(self, other: "Lock") -> "Lock":
        """Both sources, this one winning where they disagree."""
        return Lock(f"{self.label} and {other.label}", {**other.versions, **self.versions},
                    {**other.commits, **self.commits}, {**other.hashes, **self.hashes})


def parse_lock(source: SourceText, label: str | None = None) -> Lock:
    """A lock from `pip freeze` / `uv pip compile` text: `name==1.0`, `name @ git+…@<commit>`,
    `-e git+…@<commit>#egg=name`, `name @ https://…` with `--hash` or `#sha256=`."""
    lock = Lock(label or source.path)
    for req in parse_requirements(source).requirements:
        if req.kind == "invalid":
            continue
        version = req.exact_version
        if req.name and version:
            lock.versions[req.name] = version
        if req.kind == "vcs" and vcs_commit(req.url):
            lock.commits[repository_key(req.url)] = vcs_commit(req.url)
        elif req.kind == "url":
            digest = _sha256(req)
            if digest:
                lock.hashes[_without_fragment(req.url)] = digest
    return lock


def _sha256(req: Requirement) -> str | None:
    """`sha256=<hex>` of a URL requirement: its `#sha256=` fragment or a `--hash=sha256:` option."""
    found = url_hash(req.url)
    if found and found.startswith("sha256="):
        return found
    for value in req.hashes:
        algorithm, _, digest = value.partition(":")
        if algorithm == "sha256" and re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            return f"sha256={digest}"
    return None


_cache: dict[tuple, object] = {}


def clear_cache() -> None:
    """Forget lock files and docker answers read so far (tests; a long-lived process)."""
    _cache.clear()


def load_lock_file(path: str) -> Lock:
    """The lock in `path`, read once per content (the fix engine re-lints up to ten times)."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        raise PinSourceError(f"--pin-from {path}: no such file") from None
    key = ("file", path, stamp)
    if key not in _cache:
        _cache[key] = parse_lock(read_source(path), os.path.basename(path))
    return _cache[key]


def load_image_lock(image: str) -> Lock:
    """The packages installed in `image`, as `pip freeze --all` run inside it lists them."""
    key = ("image", docker_cli(), image)
    if key not in _cache:
        _cache[key] = parse_lock(SourceText(f"<pip freeze in {image}>", image_freeze(image)),
                                 f"pip freeze in {image}")
    return _cache[key]


def lock_for(ctx) -> Lock | None:
    """The lock source the rule's options name (`pin_from`, relative to the build context, and/or
    `pin_from_image`), or None when there is none."""
    path = ctx.options.get("pin_from") or ""
    image = ctx.options.get("pin_from_image") or ""
    locks = []
    if path:
        if not os.path.isabs(path) and ctx.build is not None:
            path = str(Path(ctx.build.root) / path)
        locks.append(load_lock_file(path))
    if image:
        locks.append(load_image_lock(image))
    if not locks:
        return None
    return locks[0] if len(locks) == 1 else locks[0].merged(locks[1])


# --- the docker CLI -------------------------------------------------------------------------------------


def docker_cli() -> str | None:
    """The docker client to run: `DLINT_DOCKER`, else `docker` on PATH; None if there is none."""
    configured = os.environ.get("DLINT_DOCKER")
    if configured:
        return configured
    return shutil.which("docker")


def _docker(args: list[str], what: str) -> subprocess.CompletedProcess:
    """Run the docker CLI; a missing client is a PinSourceError, a failed command is returned as is."""
    cli = docker_cli()
    if cli is None:
        raise PinSourceError(f"{what}: no docker client found (install docker, or set DLINT_DOCKER to its path)")
    try:
        return subprocess.run([cli, *args], capture_output=True, text=True, timeout=DOCKER_TIMEOUT)
    except FileNotFoundError:
        raise PinSourceError(f"{what}: {cli}: no such program (DLINT_DOCKER or PATH)") from None
    except subprocess.TimeoutExpired:
        raise PinSourceError(f"{what}: `{cli} {' '.join(args)}` took more than {DOCKER_TIMEOUT} s") from None


def _first_line(completed: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (completed.stderr or completed.stdout or "").splitlines() if line.strip()]
    return lines[0] if lines else f"exit status {completed.returncode}"


def image_freeze(image: str) -> str:
    """`pip freeze --all` output of a local image (or `python -m pip`, or `uv pip freeze`)."""
    what = f"--pin-from-image {image}"
    found = _docker(["image", "inspect", "--format", "{{.Id}}", image], what)
    if found.returncode != 0:  # no daemon, or no such image: docker's own words say which
        raise PinSourceError(f"{what}: {_first_line(found)}")
    failures = []
    for command in _FREEZE_COMMANDS:
        ran = _docker(["run", "--rm", "--network", "none", "--entrypoint", command[0], image, *command[1:]], what)
        if ran.returncode == 0:
            return ran.stdout
        failures.append(f"{' '.join(command)}: {_first_line(ran)}")
    raise PinSourceError(f"{what}: cannot list its Python packages ({'; '.join(failures[:2])})")


def docker_available() -> str | None:
    """None when a docker daemon answers, else why not (one line)."""
    ran = _docker(["version", "--format", "{{.Server.Version}}"], "--pin-digests")
    return None if ran.returncode == 0 else _first_line(ran)


def repo_digests(image: str) -> list[str]:
    """RepoDigests of the local image `image` (`python@sha256:…`); [] if there is none, no such image,
    or no docker to ask."""
    key = ("digests", docker_cli(), image)
    if key not in _cache:
        try:
            ran = _docker(["image", "inspect", "--format", "{{json .RepoDigests}}", image], "--pin-digests")
            digests = json.loads(ran.stdout) if ran.returncode == 0 else []
        except (PinSourceError, ValueError):
            digests = []
        _cache[key] = [d for d in digests or [] if isinstance(d, str)]
    return _cache[key]


def local_digest(image) -> str | None:
    """`sha256:<hex>` of the local image named like ImageRef `image`, when its RepoDigests hold exactly one
    digest for that repository (an image pulled from a registry; a locally built one has none)."""
    wanted = _normal_repository(image.repository)
    found = {d.split("@", 1)[1] for d in repo_digests(image.value)
             if "@" in d and _normal_repository(d.split("@", 1)[0]) == wanted}
    if len(found) != 1:
        return None
    digest = found.pop()
    return digest if re.fullmatch(r"sha256:[0-9a-f]{64}", digest) else None


def _normal_repository(name: str) -> str:
    """`docker.io/library/python` and `python` are one repository."""
    name = name.lower()
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name[len("library/"):] if name.startswith("library/") else name


# --- the command line -----------------------------------------------------------------------------------


def options_from_args(args) -> dict[str, dict]:
    """Rule options for the lock-source flags, checked now so that a bad source is one error, not one per
    Dockerfile: {"ML102": {"pin_from": "/abs/lock.txt"}, ..., "ML101": {"pin_digests": True}}."""
    options: dict[str, dict] = {}
    pin_from = getattr(args, "pin_from", None)
    image = getattr(args, "pin_from_image", None)
    if pin_from:
        pin_from = os.path.abspath(pin_from)
        load_lock_file(pin_from)
        for code in PIN_RULES:
            options.setdefault(code, {})["pin_from"] = pin_from
    if image:
        load_image_lock(image)
        for code in PIN_RULES:
            options.setdefault(code, {})["pin_from_image"] = image
    if getattr(args, "pin_digests", False):
        problem = docker_available()
        if problem:
            raise PinSourceError(f"--pin-digests: {problem}")
        options["ML101"] = {"pin_digests": True}
    return options


# --- text of pinned requirements ------------------------------------------------------------------------


def pinned_text(text: str, version: str) -> str | None:
    """`text`, a requirement by name (`torch`, `uvicorn[standard] >= 0.30; python_version < "3.12"`), with
    its version specifier replaced by `==version`; None if it is not one."""
    match = _NAMED.fullmatch(text)
    if match is None or match.group("spec").strip()[:1] not in ("", "<", ">", "=", "!", "~", "("):
        return None  # a URL, a path: not a name with a specifier
    return f"{match.group('head').rstrip()}=={version}{match.group('tail')}"


def satisfies(version: str, specifier: str) -> bool:
    """Whether the locked version is one the requirement allows (a lock of another build might not be)."""
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def repository_key(url: str) -> str:
    """A VCS URL's repository, whatever its revision, user, scheme or `.git` suffix:
    `git+ssh://git@github.com/org/repo.git@main#egg=x` -> `github.com/org/repo`."""
    base = url.split("#", 1)[0].split("?", 1)[0]
    rest = base.split("://", 1)[1] if "://" in base else base
    host, _, path = rest.partition("/")
    if "@" in path:
        path = path.rsplit("@", 1)[0]
    host = host.rsplit("@", 1)[-1].lower()
    path = path.rstrip("/")
    if path.endswith(".git"):
        path = path[:-len(".git")]
    return f"{host}/{path}"


def with_commit(url: str, commit: str) -> str:
    """The VCS URL at `commit`: the revision after the path replaced (or added), the fragment kept."""
    base, hash_sign, fragment = url.partition("#")
    scheme, sep, rest = base.partition("://")
    host, slash, path = rest.partition("/")
    if "@" in path:
        path = path.rsplit("@", 1)[0]
    return f"{scheme}{sep}{host}{slash}{path}@{commit}{hash_sign}{fragment}"


def with_hash(url: str, digest: str) -> str:
    """The URL with `sha256=<hex>` in its fragment (pip checks it; unlike `--hash` in a requirements file,
    it does not switch the whole file to hash-checking mode)."""
    return f"{url}&{digest}" if "#" in url else f"{url}#{digest}"


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


# --- fixes ----------------------------------------------------------------------------------------------


def edit_within(text: str, start: int, end: int, old: str, new: str, path: str | None = None) -> Edit | None:
    """Replace the one occurrence of `old` in text[start:end] (a requirement inside its quotes, a URL inside
    a requirement); None if it is not there exactly once (escapes, a variable, a continuation)."""
    span = text[start:end]
    index = span.find(old)
    if not old or index < 0 or span.find(old, index + 1) >= 0:
        return None
    return Edit(start + index, start + index + len(old), new, path)


def version_fix(lock: Lock | None, req: Requirement, text: str, start: int, end: int,
                path: str | None = None, written: str | None = None) -> Fix | None:
    """Pin requirement `req`, written as `written` (default `req.text`) in text[start:end], to the lock's
    version: safe (unsafe for a local version such as `+cu121`, which exists only on the index that built
    it); display-only when the lock has no version, or one the requirement excludes."""
    name = req.name or req.text
    written = written or req.text
    version = lock.versions.get(req.name or "") if lock else None
    if version and satisfies(version, req.specifier):
        new = pinned_text(written, version)
        edit = edit_within(text, start, end, written, new, path) if new else None
        if edit is not None:
            local = "+" in version
            title = f"pin {name}=={version} (from {lock.label})"
            if local:
                title += f"; the local version +{version.split('+', 1)[1]} exists only on the index that built it"
            return Fix(title, (edit,), Applicability.UNSAFE if local else Applicability.SAFE)
    if lock is None:
        why = "give a lock source (dlint fix --pin-from FILE or --pin-from-image IMAGE)"
    elif version and not satisfies(version, req.specifier):
        why = f"{lock.label} has {name}=={version}, which {req.specifier} excludes"
    elif version:
        why = f"{lock.label} has {name}=={version}, but the requirement is not written literally here: pin it by hand"
    else:
        why = f"{lock.label} has no exact version of {name}"
    return display_fix(f"pin {name}==<version from your lock>: {why}", text, start, end, written,
                       pinned_text(written, "<version from your lock>"), path)


def vcs_fix(lock: Lock | None, req: Requirement, text: str, start: int, end: int,
            path: str | None = None) -> Fix | None:
    """Pin a VCS requirement to the full commit the lock records for its repository."""
    commit = lock.commits.get(repository_key(req.url)) if lock else None
    if commit:
        edit = edit_within(text, start, end, req.url, with_commit(req.url, commit), path)
        if edit is not None:
            return Fix(f"pin {repository_key(req.url)} at commit {commit} (from {lock.label})", (edit,))
    if lock is None:
        why = "give a lock source (dlint fix --pin-from FILE or --pin-from-image IMAGE)"
    elif commit:
        why = f"{lock.label} has commit {commit}, but the URL is not written literally here: pin it by hand"
    else:
        why = f"{lock.label} has no commit of {repository_key(req.url)} (`pip freeze` of the image records it)"
    return display_fix(f"pin the full commit: {why}", text, start, end, req.url,
                       with_commit(req.url, "<40-hex commit>"), path)


def url_fix(lock: Lock | None, req: Requirement, text: str, start: int, end: int,
            path: str | None = None) -> Fix | None:
    """Add the sha256 the lock records for this URL (`uv pip compile --generate-hashes` writes them)."""
    digest = lock.hashes.get(_without_fragment(req.url)) if lock else None
    if digest:
        edit = edit_within(text, start, end, req.url, with_hash(req.url, digest), path)
        if edit is not None:
            return Fix(f"add the {digest.split('=')[0]} of {_without_fragment(req.url)} (from {lock.label})", (edit,))
    if lock is None:
        why = "give a lock source with hashes (dlint fix --pin-from FILE)"
    elif digest:
        why = f"{lock.label} has {digest}, but the URL is not written literally here: add it by hand"
    else:
        why = f"{lock.label} has no hash for this URL (`uv pip compile --generate-hashes` writes them)"
    return display_fix(f"add the file's sha256: {why}", text, start, end, req.url,
                       with_hash(req.url, "sha256=<digest>"), path)


def batched(fix: Fix | None, fixes: list[Fix | None]) -> Fix | None:
    """`fix` joined by the other fixes of one instruction that have its applicability, so that one pass of
    the fix engine (which fixes an instruction once per pass) pins every package of a long RUN."""
    if fix is None or fix.applicability == Applicability.DISPLAY:
        return fix
    same = [f for f in fixes if f is not None and f.applicability == fix.applicability]
    if len(same) == 1:
        return fix
    edits = tuple(sorted({e for f in same for e in f.edits}, key=lambda e: (e.start, e.end)))
    return Fix(f"{fix.title}, and {len(same) - 1} more pins in this instruction", edits, fix.applicability)


def display_fix(title: str, text: str, start: int, end: int, old: str, new: str | None,
                path: str | None = None) -> Fix | None:
    """A fix that is only shown: where the pin goes, with a placeholder for the value only a lock knows."""
    edit = edit_within(text, start, end, old, new, path) if new else None
    return Fix(title, (edit,) if edit else (), Applicability.DISPLAY)


def glued_range(text: str, end: int) -> str:
    """The version range written right after an unquoted word at `end` (`>=4.40` of `transformers>=4.40`),
    which the shell reads as a redirection; '' if there is none."""
    match = _GLUED_RANGE.match(text, end)
    return match.group(0) if match else ""
