"""Reading and writing user files safely, and mapping character offsets to 1-based line/column positions.

Every file dlint reads (Dockerfile, requirements, .dockerignore) goes through `read_source`, so binary
files, invalid UTF-8 and unreadable paths fail the same way everywhere: one `InputError` line, exit 2.
Every file `dlint fix` writes goes through `write_atomic`: a temporary file in the same folder renamed over
the original, so a crash or a full disk never leaves half a file behind.
"""
from __future__ import annotations

import bisect
import codecs
import os
import tempfile
from dataclasses import dataclass, field

BOM = "\ufeff"


class InputError(Exception):
    """A user input dlint cannot read: reported as one line, exit code 2."""


@dataclass
class SourceText:
    """Decoded text of one file. Offsets index `text`, which excludes a UTF-8 BOM (kept in `bom`)."""

    path: str
    text: str
    bom: bool = False
    encoding: str = "utf-8"  # utf-16/utf-32 only for files that start with such a BOM (pip accepts them)
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        # Only "\n" ends a line (as in BuildKit); "\r" stays part of the line it ends.
        self._starts = [0] + [i + 1 for i, ch in enumerate(self.text) if ch == "\n"]

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        """Offset of the first character of 1-based `line` (clamped to the text)."""
        if line < 1:
            return 0
        if line > len(self._starts):
            return len(self.text)
        return self._starts[line - 1]

    def line_end(self, line: int) -> int:
        """Offset just past the last character of `line`, excluding its "\\r\\n" or "\\n"."""
        if line < 1:
            return 0
        # The "\n" that ends this line sits just before the next line's start.
        end = self._starts[line] - 1 if line < len(self._starts) else len(self.text)
        start = self.line_start(line)
        if end > start and self.text[end - 1] == "\r":
            end -= 1
        return end

    def line_text(self, line: int) -> str:
        return self.text[self.line_start(line) : self.line_end(line)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset; columns count characters."""
        offset = max(0, min(offset, len(self.text)))
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1

    def offset(self, line: int, column: int) -> int:
        return min(self.line_start(line) + column - 1, len(self.text))

    def encode(self, text: str | None = None) -> bytes:
        """Bytes to write back: the BOM is restored so a fix never loses a byte it did not mean to."""
        return ((BOM if self.bom else "") + (self.text if text is None else text)).encode(self.encoding)


_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
              (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode(path: str, data: bytes) -> SourceText:
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                return SourceText(path, data[len(bom):].decode(encoding), True, encoding)
            except UnicodeDecodeError:
                raise InputError(f"{path}: invalid {encoding.upper()} text") from None
    if b"\x00" in data:
        raise InputError(f"{path}: binary file (contains NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    bom = text.startswith(BOM)
    return SourceText(path, text[1:] if bom else text, bom)


class ChangedOnDisk(InputError):
    """A file `dlint fix` was about to write changed since dlint read it: it is left alone."""


def read_bytes(path: str) -> bytes:
    """A user file's bytes, or InputError with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_source(path: str) -> SourceText:
    """Read and decode a user file, or raise InputError with a one-line reason."""
    return decode(path, read_bytes(path))


def check_writable(path: str, expected: bytes | None) -> None:
    """Raise ChangedOnDisk unless the file holds `expected` (None: it must not exist), InputError if the user may
    not write it (a rename in a writable folder could replace it anyway; an editor would refuse, so dlint does)."""
    target = os.path.realpath(path)
    try:
        with open(target, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    if current != expected:
        raise ChangedOnDisk(f"{path}: changed on disk since dlint read it; not overwritten (run dlint fix again)")
    if current is not None and not os.access(target, os.W_OK):
        raise InputError(f"{path}: cannot write (read-only file)")


def write_atomic(path: str, data: bytes, expected: bytes | None) -> None:
    """Replace the file at `path` with `data`, or create it when `expected` is None.

    `expected` is what the file held when dlint read it: if the file holds anything else just before the
    rename (an editor saved it meanwhile, or a file to create appeared), ChangedOnDisk is raised and nothing is
    written (check_writable). The new content goes to a temporary file in the same folder (same file system,
    so the rename is atomic), gets the old file's permission bits (a new file: 0666 less the umask, like any
    editor's), and is renamed over the original. A symbolic link is written through: its target changes, the
    link stays.
    """
    target = os.path.realpath(path)
    folder = os.path.dirname(target) or "."
    check_writable(path, expected)
    try:
        info = os.stat(target) if expected is not None else None
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".dlint")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, info.st_mode & 0o7777 if info is not None else _default_mode())
        if info is not None:
            _keep_owner(temporary, info)
        check_writable(path, expected)  # again, as late as possible
        os.replace(temporary, target)
    except OSError as exc:
        _remove(temporary)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        _remove(temporary)
        raise


def _keep_owner(path: str, info: os.stat_result) -> None:
    """Keep the owner too where dlint may (run as root on a user's files, say); elsewhere it is the writer's."""
    created = os.stat(path)
    if (created.st_uid, created.st_gid) != (info.st_uid, info.st_gid):
        try:
            os.chown(path, info.st_uid, info.st_gid)
        except OSError:
            pass


def _default_mode() -> int:
    umask = os.umask(0o022)  # reading the umask means setting it; it is put back at once
    os.umask(umask)
    return 0o666 & ~umask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@dataclass
class Mapped:
    """Text assembled from pieces of a source, with the source offset of every character.

    `offsets[i]` is the source offset of `text[i]`; `offsets[len(text)]` is the offset just past the end.
    """

    text: str
    offsets: list[int]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Source offsets [a, b) covering text[start:end]."""
        if end <= start:
            return self.offsets[start], self.offsets[start]
        return self.offsets[start], self.offsets[end - 1] + 1

    def slice(self, start: int, end: int | None = None) -> "Mapped":
        end = len(self.text) if end is None else end
        return Mapped(self.text[start:end], self.offsets[start:end] + [self.offsets[end] if end < len(self.offsets) else self.offsets[-1]])

    @classmethod
    def plain(cls, text: str, base: int = 0) -> "Mapped":
        return cls(text, list(range(base, base + len(text) + 1)))


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def logical_line(src: SourceText, line: int, escape: str = "\\") -> tuple[Mapped, int]:
    """Join physical `line` and its continuation lines the way BuildKit's parser does.

    BuildKit drops a trailing escape character (and blanks after it), skips comment lines and blank
    lines inside a continuation, strips leading blanks of the first line only. Returns the joined
    text with source offsets and the last physical line consumed.
    """
    pieces_text: list[str] = []
    offsets: list[int] = []
    current = line
    first = True
    while current <= src.line_count:
        start, end = src.line_start(current), src.line_end(current)
        raw = src.text[start:end]
        if not first and _is_comment(raw):
            current += 1
            continue
        if not first and not raw.strip(" \t\r\f\v"):
            current += 1
            continue
        if first:
            stripped = raw.lstrip(" \t\r\n\f\v")
            start += len(raw) - len(stripped)
            raw = stripped
        body = raw.rstrip(" \t")
        continues = body.endswith(escape) and escape != ""
        if continues:
            raw = body[: -len(escape)]
        pieces_text.append(raw)
        offsets.extend(range(start, start + len(raw)))
        first = False
        if not continues:
            break
        current += 1
    else:
        current = src.line_count
    text = "".join(pieces_text)
    end_offset = offsets[-1] + 1 if offsets else src.line_start(line)
    return Mapped(text, offsets + [end_offset]), min(current, src.line_count)


def human_size(count: float) -> str:
    """'812 B', '3.4 MB', '4.7 GB' (decimal units, as image sizes are shown)."""
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count} B"
