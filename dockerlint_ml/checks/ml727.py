"""ML727 label-schema: LABEL keys that break Docker's key format, and, with a `label_schema`, labels that are
missing, superfluous, empty or not of their declared type (hadolint DL3048–DL3058 but DL3057)."""
import re
from dataclasses import dataclass
from datetime import datetime

from dockerlint_ml.finding import Severity
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule

# Docker's label key guideline as hadolint 2.15 applies it: lower-case alphanumerics and ". - _ /", starting with
# a letter, ending with a letter or digit, no ".." or "--"; com.docker.*, io.docker.*, org.dockerproject.* are
# Docker's.
_KEY = re.compile(r"[a-z](?:[a-z0-9._/-]*[a-z0-9])?")
_RESERVED = ("com.docker.", "io.docker.", "org.dockerproject.")

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")  # an absolute URI: scheme, then no blank
_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_GIT_HASH = re.compile(r"[0-9a-f]{7}|[0-9a-f]{40}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")

TYPES = ("text", "url", "semver", "hash", "rfc3339", "spdx", "email")


@dataclass(frozen=True)
class Label:
    key: str | None  # quotes removed, ARG/ENV expanded; None when a variable in it has no known value
    value: str  # quotes removed, ARG/ENV expanded
    resolved: bool  # False: the value holds a variable with no known value (set by --build-arg)
    start: int  # source span of `key=value`
    end: int
    key_end: int


@rule("ML727", "label-schema", Severity.WARNING,
      "A LABEL key breaks Docker's key format, or a label the `label_schema` option requires is missing or invalid.",
      aliases=("DL3048", "DL3049", "DL3050", "DL3051", "DL3052", "DL3053", "DL3054", "DL3055", "DL3056", "DL3058"),
      options={"label_schema": {}, "strict_labels": False})
def check(df, ctx):
    schema = {str(key): str(kind).lower() for key, kind in (ctx.options.get("label_schema") or {}).items()}
    strict = bool(ctx.options.get("strict_labels"))
    for instruction in df.instructions:
        if instruction.effective_keyword != "LABEL":
            continue
        for label in labels(instruction):
            yield from _check_label(ctx, label, schema, strict)
    if schema and df.final_stage is not None:
        present = {label.key for stage in df.final_lineage for i in stage.instructions
                   if i.keyword == "LABEL" for label in labels(i)}
        start, end = _from_span(df.final_stage.from_instruction)
        for key in schema:
            if key not in present:
                yield _at(ctx, Severity.INFO, start, end,
                          f"the final image has no label {key}, which the label schema requires, so the tools "
                          f"that look it up find nothing; add `LABEL {key}=...` to the final stage")


def _from_span(instruction) -> tuple[int, int]:
    words = instruction.words
    return (words[0].start, words[0].end) if words else (instruction.start, instruction.keyword_end)


def labels(instruction) -> list[Label]:
    """The key/value pairs of a LABEL (`k=v k2=v2`, or the legacy `k value with blanks`), located in the source."""
    words = instruction.words
    if not words:
        return []
    if "=" not in words[0].value:  # legacy form: one pair, the value is the rest of the line
        return [_label(instruction, words[0].value, " ".join(w.value for w in words[1:]), words[0].start,
                       words[-1].end, words[0].end)]
    found = []
    for word in words:
        key, _, value = word.value.partition("=")
        found.append(_label(instruction, key, value, word.start, word.end, word.start + len(key)))
    return found


def _label(instruction, key: str, value: str, start: int, end: int, key_end: int) -> Label:
    name, known = expand(unquote(key), instruction.vars)
    expanded, resolved = expand(unquote(value), instruction.vars)
    # `ARG GIT_SHA` with no default reads as "": a value left to --build-arg, not an empty label.
    resolved = resolved and (bool(expanded) or "$" not in value)
    key_known = known and (bool(name) or "$" not in key)
    return Label(name if key_known else None, expanded, resolved, start, end, key_end)


def _check_label(ctx, label: Label, schema: dict[str, str], strict: bool):
    if label.key is None:
        return  # the key comes from --build-arg
    problem = key_problem(label.key)
    if problem:
        yield _at(ctx, Severity.INFO, label.start, label.key_end,
                  f"label key {label.key!r} {problem}, against Docker's key format that tools reading labels rely on; "
                  f"use a lower-case reverse-DNS key such as org.opencontainers.image.source")
    if label.key not in schema:
        if strict and schema:
            yield _at(ctx, Severity.INFO, label.start, label.key_end,
                      f"label {label.key} is not in the label schema, and strict_labels allows no other label; "
                      "add it to label_schema or remove it")
        return
    kind = schema[label.key]
    if not label.resolved:
        return  # the value comes from --build-arg
    if not label.value:
        yield _at(ctx, Severity.WARNING, label.start, label.end,
                  f"label {label.key} is empty, but the label schema requires it to hold a {kind} value")
    elif not valid_value(kind, label.value):
        yield _at(ctx, Severity.WARNING, label.start, label.end,
                  f"label {label.key}={label.value!r} is not a valid {_DESCRIPTIONS.get(kind, kind)}, as the label "
                  "schema requires; tools reading this label will reject or misread it")


def key_problem(key: str) -> str | None:
    """Why a label key breaks Docker's key guideline, or None."""
    if key.startswith(_RESERVED):
        return f"uses the namespace {key.split('.')[0]}.{key.split('.')[1]}. that Docker reserves for itself"
    if ".." in key or "--" in key:
        return "has consecutive separators"
    if not _KEY.fullmatch(key):
        return ("must start with a lower-case letter, end with a letter or digit, and hold only lower-case "
                "letters, digits, \".\", \"-\", \"_\" and \"/\"")
    return None


_DESCRIPTIONS = {"url": "absolute URL", "semver": "semantic version (MAJOR.MINOR.PATCH)",
                 "hash": "git commit hash (7 or 40 lower-case hex digits)",
                 "rfc3339": "RFC 3339 time (2024-05-01T12:00:00Z)", "spdx": "SPDX license identifier",
                 "email": "email address"}


def valid_value(kind: str, value: str) -> bool:
    """Whether `value` is of schema type `kind`; "text", and types dlint does not know, take anything."""
    if kind == "url":
        return bool(_URL.fullmatch(value))
    if kind == "semver":
        return bool(_SEMVER.fullmatch(value))
    if kind == "hash":
        return bool(_GIT_HASH.fullmatch(value))
    if kind == "rfc3339":
        return _is_rfc3339(value)
    if kind == "spdx":
        ids = _spdx_ids()
        return ids is None or value in ids
    if kind == "email":
        return bool(_EMAIL.fullmatch(value)) and len(value) <= 254
    return True


def _is_rfc3339(value: str) -> bool:
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # month 13, hour 25, ...
        return False
    return True


_spdx_cache: list = []


def _spdx_ids() -> frozenset[str] | None:
    """The current (not deprecated) SPDX license identifiers, from `packaging`; None if it has no list (< 24.2)."""
    if not _spdx_cache:
        try:
            from packaging.licenses._spdx import LICENSES

            ids = frozenset(entry["id"] for entry in LICENSES.values() if not entry["deprecated"])
        except (ImportError, AttributeError, KeyError, TypeError):  # an older or reshaped packaging
            ids = None
        _spdx_cache.append(ids)
    return _spdx_cache[0]


def _at(ctx, severity: Severity, start: int, end: int, message: str):
    """A finding with its own severity; a severity configured for the rule wins."""
    return ctx.report(start, end, message, severity=severity)
