"""pip requirements files, parsed the way pip reads them, keeping line numbers and source offsets.

pip's steps (pip/_internal/req/req_file.py) are followed in order: join backslash continuations, drop
comments, split the requirement from its options at the first word starting with "-", then classify the
requirement as a name, a URL, a VCS URL or a local path. `${VAR}` references are left as written: they
are expanded by pip inside the image, not here. Nothing here raises on bad content: a line pip would
reject becomes a Requirement of kind "invalid".
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from packaging.markers import Marker
from packaging.requirements import Requirement as _PackagingRequirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from dockerlint_ml.text import Mapped, SourceText

# Long option -> (short alias or None, takes a value). The options pip accepts in a requirements file.
OPTIONS: dict[str, tuple[str | None, bool]] = {
    "--requirement": ("-r", True),
    "--constraint": ("-c", True),
    "--editable": ("-e", True),
    "--index-url": ("-i", True),
    "--extra-index-url": (None, True),
    "--no-index": (None, False),
    "--find-links": ("-f", True),
    "--trusted-host": (None, True),
    "--pre": (None, False),
    "--prefer-binary": (None, False),
    "--no-binary": (None, True),
    "--only-binary": (None, True),
    "--require-hashes": (None, False),
    "--use-feature": (None, True),
    "--hash": (None, True),
    "--config-settings": ("-C", True),
    "--global-option": (None, True),
}
SHORT_OPTIONS = {short: long for long, (short, _) in OPTIONS.items() if short}
PER_REQUIREMENT_OPTIONS = {"--hash", "--config-settings", "--global-option"}

VCS_SCHEMES = {
    "git", "git+http", "git+https", "git+ssh", "git+git", "git+file",
    "hg+file", "hg+http", "hg+https", "hg+ssh", "hg+static-http",
    "svn", "svn+ssh", "svn+http", "svn+https", "svn+svn", "svn+file",
    "bzr+http", "bzr+https", "bzr+ssh", "bzr+sftp", "bzr+ftp", "bzr+lp", "bzr+file",
}  # fmt: skip
URL_SCHEMES = {"http", "https", "file", "ftp"} | VCS_SCHEMES
ARCHIVE_EXTENSIONS = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz",
                      ".tlz", ".tar.lz", ".tar.lzma")
HASH_NAMES = ("sha1", "sha224", "sha256", "sha384", "sha512", "md5")

_COMMENT = re.compile(r"(^|\s+)#")  # pip: "#" at the start or after whitespace; "url#egg=" is not one
_OPTION_START = re.compile(r"(?:^| )-")  # pip splits on single spaces: the first word starting with "-"
_TOKEN = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")
_ENV_VAR = re.compile(r"\$\{[A-Za-z0-9_]+\}")  # pip expands only this POSIX form
_EXTRAS_SUFFIX = re.compile(r"^(.+?)(\[[^\]]+\])$")
_COMMIT = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


@dataclass
class Requirement:
    line: int  # 1-based line of the requirement's first character
    start: int  # source offsets of the requirement text, without trailing options or comment
    end: int
    text: str
    name: str | None = None  # canonical name; None for a URL or path without #egg= (or a wheel name)
    specifier: str = ""
    extras: tuple[str, ...] = ()
    marker: str | None = None
    url: str | None = None
    hashes: tuple[str, ...] = ()
    editable: bool = False
    kind: str = "name"  # 'name' | 'url' | 'vcs' | 'path' | 'invalid'
    error: str | None = None

    @property
    def exact_version(self) -> str | None:
        """X of a lone `==X` (no wildcard) or `===X`."""
        parts = [p.strip() for p in self.specifier.split(",") if p.strip()]
        if len(parts) != 1:
            return None
        match = re.fullmatch(r"(===|==(?!=))\s*(\S+)", parts[0])
        if not match or (match.group(1) == "==" and match.group(2).endswith(".*")):
            return None
        return match.group(2)

    @property
    def pinned(self) -> bool:
        """Does this line always install the same thing? (A local directory never counts.)"""
        if self.kind == "invalid":
            return False
        if self.exact_version is not None:  # includes wheel files and wheel URLs: their name fixes the version
            return True
        if self.kind in ("url", "path") and (self.hashes or url_hash(self.url)):
            return True
        return self.kind == "vcs" and vcs_commit(self.url) is not None


@dataclass
class OptionLine:
    line: int
    start: int  # source offsets of the option and its value
    end: int
    option: str  # long form, e.g. "--index-url"
    value: str | None


@dataclass
class Include:
    line: int
    start: int  # source offsets of the option and its value
    end: int
    kind: str  # 'requirement' (-r) | 'constraint' (-c)
    target: str


@dataclass
class RequirementsFile:
    path: str
    source: SourceText
    requirements: list[Requirement] = field(default_factory=list)
    options: list[OptionLine] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)


def pin_problem(req: Requirement) -> str | None:
    """Why a requirement does not always install the same thing, or None (pinned, or a local path)."""
    if req.kind == "invalid":
        return f"pip cannot parse this requirement: {req.error}"
    if req.kind == "path" or req.pinned:
        return None
    if req.kind in ("url", "vcs"):
        return f"{req.text} is a URL without a hash or commit"
    if req.specifier:
        return f"{req.name}{req.specifier} is a range, not an exact version"
    return f"{req.name or req.text} has no exact version"


# --- URL helpers ------------------------------------------------------------------------------------


def url_scheme(text: str) -> str | None:
    """pip's is_url: a known scheme before the first ":"."""
    if ":" not in text:
        return None
    scheme = text.split(":", 1)[0].lower()
    return scheme if scheme in URL_SCHEMES else None


def url_hash(url: str | None) -> str | None:
    """`sha256=...` from a URL fragment such as `#sha256=abc` (pip's Link hash)."""
    if not url or "#" not in url:
        return None
    match = re.search(rf"\b({'|'.join(HASH_NAMES)})=([0-9a-fA-F]+)", url.split("#", 1)[1])
    return f"{match.group(1)}={match.group(2)}" if match else None


def vcs_commit(url: str | None) -> str | None:
    """The full commit hash of `git+https://host/repo@<sha>`, or None (a branch or tag can move)."""
    if not url:
        return None
    path = url.split("#", 1)[0].split("?", 1)[0]
    if "://" in path:  # skip "scheme://user@host/": that "@" is not a revision
        after_host = path.split("://", 1)[1].split("/", 1)
        path = after_host[1] if len(after_host) == 2 else ""
    if "@" not in path:
        return None
    rev = path.rsplit("@", 1)[1]
    return rev if _COMMIT.fullmatch(rev) else None


def egg_name(url: str) -> tuple[str | None, tuple[str, ...]]:
    """Name and extras of a `#egg=name[extra]` fragment."""
    match = re.search(r"[#&]egg=([^&]+)", url)
    if not match:
        return None, ()
    egg = match.group(1).strip()
    extras: tuple[str, ...] = ()
    split = _EXTRAS_SUFFIX.match(egg)
    if split:
        egg, extras = split.group(1), _split_extras(split.group(2))
    return (canonicalize_name(egg) if egg else None), extras


def wheel_pin(location: str) -> tuple[str | None, str]:
    """(name, "==version") from a wheel file name at the end of a path or URL; (None, "") otherwise."""
    filename = unquote(location.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    if not filename.endswith(".whl"):
        return None, ""
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except ValueError:  # pip would refuse it at install time; that is not what a linter should stop on
        return None, ""
    return str(name), f"=={version}"


def _split_extras(bracketed: str) -> tuple[str, ...]:
    return tuple(sorted(canonicalize_name(e.strip()) for e in bracketed.strip("[]").split(",") if e.strip()))


def _looks_like_path(text: str) -> bool:
    return "/" in text or text.startswith(".")  # pip on Linux: os.sep only, no altsep


# --- classifying one requirement ------------------------------------------------------------------


def _packaging_parse(text: str) -> tuple[str, str, tuple[str, ...], str | None, str | None]:
    """(name, specifier, extras, marker, url) by packaging, tolerating `${VAR}` (pip expands it later):
    variables become digit runs, valid in names and versions, and are put back afterwards."""
    variables: dict[str, str] = {}

    def hide(match: re.Match) -> str:
        token = f"9{len(variables):04d}8"
        variables[token] = match.group(0)
        return token

    def restore(value: str) -> str:
        return re.sub(r"9\d{4}8", lambda m: variables.get(m.group(0), m.group(0)), value) if variables else value

    parsed = _PackagingRequirement(_ENV_VAR.sub(hide, text))
    name = restore(parsed.name)
    name = canonicalize_name(name) if "${" not in name else name
    return (name, restore(str(parsed.specifier)), tuple(sorted(parsed.extras)),
            restore(str(parsed.marker)) if parsed.marker else None, restore(parsed.url) if parsed.url else None)


def _split_marker(text: str, separator: str) -> tuple[str, str | None]:
    if separator not in text:
        return text.strip(), None
    body, marker = text.split(separator, 1)
    marker = marker.strip()
    if marker:
        Marker(_ENV_VAR.sub("0", marker))  # validate; raises InvalidMarker (a ValueError)
    return body.strip(), marker or None


def classify(text: str, req: Requirement) -> None:
    """Fill `req`'s parsed fields from requirement `text` (pip's parse_req_from_line); may raise ValueError."""
    scheme = url_scheme(text)
    before_at = text.split("@", 1)[0]
    pep508_url = "@" in text and not _looks_like_path(before_at) and scheme is None
    if scheme:
        body, req.marker = _split_marker(text, "; ")  # a URL may contain ";", so pip wants "; "
        req.url = body
        req.kind = "vcs" if scheme in VCS_SCHEMES else "path" if scheme == "file" else "url"
        req.name, req.extras = egg_name(body)
    elif not pep508_url and (_looks_like_path(text) or text.lower().endswith(ARCHIVE_EXTENSIONS)):
        body, req.marker = _split_marker(text, ";")
        split = _EXTRAS_SUFFIX.match(body)
        if split:
            body, req.extras = split.group(1), _split_extras(split.group(2))
        req.url, req.kind = body, "path"
    else:
        req.name, req.specifier, req.extras, req.marker, req.url = _packaging_parse(text)
        if req.url:
            url_kind = url_scheme(req.url)
            req.kind = "vcs" if url_kind in VCS_SCHEMES else "path" if url_kind == "file" else "url"
    if req.url and req.kind != "vcs" and not req.specifier:
        wheel_name, req.specifier = wheel_pin(req.url)  # pip turns a wheel into name==version
        req.name = req.name or (canonicalize_name(wheel_name) if wheel_name else None)


def make_requirement(text: str, line: int, start: int, end: int, *, hashes=(), editable=False) -> Requirement:
    req = Requirement(line, start, end, text, hashes=tuple(hashes), editable=editable)
    try:
        classify(text, req)
    except ValueError as exc:  # InvalidRequirement, InvalidMarker, ...
        return Requirement(line, start, end, text, kind="invalid", error=str(exc).splitlines()[0])
    if editable and req.kind not in ("path", "vcs"):
        return Requirement(line, start, end, text, editable=True, kind="invalid",
                           error=f"{text} is not a valid editable requirement: use a local path or a VCS URL")
    return req


# --- lines ----------------------------------------------------------------------------------------


def logical_lines(source: SourceText):
    """(first physical line, Mapped text) per logical line: continuations joined, comments removed."""
    text: list[str] = []
    offsets: list[int] = []
    first = 0
    for number in range(1, source.line_count + 1):
        start = source.line_start(number)
        raw = source.line_text(number).rstrip("\r")
        is_comment = raw.lstrip().startswith("#")
        if is_comment and text:
            # pip ends a continuation at a comment line, which itself contributes nothing
            yield first, _uncomment(text, offsets, start)
            text, offsets = [], []
            continue
        if not text:
            first = number
        continues = raw.endswith("\\") and not is_comment
        piece = raw.rstrip("\\") if continues else raw
        text.append(piece)
        offsets.extend(range(start, start + len(piece)))
        if not continues:
            yield first, _uncomment(text, offsets, start + len(piece))
            text, offsets = [], []
    if text:
        yield first, _uncomment(text, offsets, offsets[-1] + 1 if offsets else 0)


def _uncomment(pieces: list[str], offsets: list[int], end: int) -> Mapped:
    mapped = Mapped("".join(pieces), offsets + [end])
    comment = _COMMENT.search(mapped.text)
    if comment:
        mapped = mapped.slice(0, comment.start())
    return _strip(mapped)


def _strip(mapped: Mapped) -> Mapped:
    left = len(mapped.text) - len(mapped.text.lstrip())
    right = len(mapped.text.rstrip())
    return mapped.slice(left, max(left, right))


def _tokens(mapped: Mapped) -> list[tuple[str, int, int]]:
    """Shell-like words with their (start, end) index in `mapped.text`; quotes removed, never fails."""
    return [(_QUOTED.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), m.group(0)),
             m.start(), m.end()) for m in _TOKEN.finditer(mapped.text)]


@dataclass
class _Option:
    option: str  # long form
    value: str | None
    start: int  # indexes into the options text: the whole option, and its value alone
    end: int
    value_start: int


def _parse_options(words: list[tuple[str, int, int]]) -> tuple[list[_Option], str | None]:
    """optparse-like parse of the option words; returns what parsed and an error message, if any."""
    found: list[_Option] = []
    index = 0
    while index < len(words):
        word, start, end = words[index]
        index += 1
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            matches = [o for o in OPTIONS if o == name] or [o for o in OPTIONS if o.startswith(name)]
            if len(matches) != 1:  # optparse accepts an unambiguous prefix of a long option
                return found, f"no such option: {name}" if not matches else f"ambiguous option: {name}"
            option, inline, value_start = matches[0], (value if equals else None), start + len(name) + 1
        elif word.startswith("-") and len(word) > 1:
            option = SHORT_OPTIONS.get(word[:2], "")
            if not option:
                return found, f"no such option: {word[:2]}"
            inline, value_start = word[2:] or None, start + 2
        else:
            continue  # a stray word after the options: optparse leaves it as an argument, pip ignores it
        takes_value = OPTIONS[option][1]
        if takes_value and inline is None:
            if index >= len(words):
                return found, f"{option} option requires an argument"
            inline, value_start, end = words[index][0], words[index][1], words[index][2]
            index += 1
        elif not takes_value and inline is not None:
            return found, f"{option} option does not take a value"
        found.append(_Option(option, inline, start, end, value_start))
    return found, None


def parse_line(mapped: Mapped, source: SourceText, result: RequirementsFile) -> None:
    """One logical line: a requirement (with per-requirement options) or option lines."""
    split = _OPTION_START.search(mapped.text)
    args = _strip(mapped.slice(0, split.start())) if split else mapped
    option_text = mapped.slice(split.end() - 1) if split else Mapped.plain("", mapped.offsets[-1])
    options, error = _parse_options(_tokens(option_text))
    if error:
        start, end = mapped.source_span(0, len(mapped.text))
        result.requirements.append(Requirement(source.position(start)[0], start, end, mapped.text,
                                               kind="invalid", error=error))
        return
    if args.text:
        start, end = args.source_span(0, len(args.text))
        hashes = [o.value for o in options if o.option == "--hash" and o.value]
        result.requirements.append(make_requirement(args.text, source.position(start)[0], start, end, hashes=hashes))
        return  # pip ignores global options written after a requirement
    for opt in options:
        start, end = option_text.source_span(opt.start, opt.end)
        line = source.position(start)[0]
        if opt.option in ("--requirement", "--constraint"):
            kind = "requirement" if opt.option == "--requirement" else "constraint"
            result.includes.append(Include(line, start, end, kind, opt.value or ""))
        elif opt.option == "--editable":
            start, end = option_text.source_span(opt.value_start, opt.end)
            result.requirements.append(make_requirement(opt.value or "", source.position(start)[0], start, end,
                                                        editable=True))
        else:
            result.options.append(OptionLine(line, start, end, opt.option, opt.value))


def parse_requirements(source: SourceText) -> RequirementsFile:
    """Parse a requirements file; every line pip would reject becomes a Requirement(kind='invalid')."""
    result = RequirementsFile(source.path, source)
    for _, mapped in logical_lines(source):
        if mapped.text:
            parse_line(mapped, source, result)
    return result


def include_path(including: str, target: str) -> str | None:
    """Context-relative path of `-r target` written in file `including`; None for URLs and absolute paths."""
    if url_scheme(target) or target.startswith("/") or not target:
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(including), target))
