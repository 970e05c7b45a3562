"""ML712 undefined-variable: a `$VAR` that Docker expands to nothing, because no ARG or ENV in scope defines it
(Docker's UndefinedVar, UndefinedArgInFrom and InvalidDefaultArgInFrom; hadolint's DL3044)."""
import re
from dataclasses import dataclass

from dockerlint_ml.finding import Severity
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import settings
from dockerlint_ml.text import Mapped

# Instructions whose arguments Docker itself expands. RUN, CMD, ENTRYPOINT and HEALTHCHECK are not: a
# shell-form command is expanded by the shell at run time (where the base image's env also counts), an
# exec-form one never. ARG defaults are expanded but Docker does not check them; ONBUILD runs in a later build.
EXPANDED = frozenset({"ENV", "LABEL", "COPY", "ADD", "WORKDIR", "USER", "VOLUME", "STOPSIGNAL", "EXPOSE"})
# Flags whose values are expanded too (`RUN --mount=target=$X`, `COPY --chown=$USER`).
EXPANDED_FLAGS = {"COPY": ("chown", "chmod"), "ADD": ("chown", "chmod", "checksum"), "RUN": ("mount",)}

# The build args BuildKit defines for FROM lines. Inside a stage they exist only once `ARG NAME` declares them.
PLATFORM_ARGS = frozenset({"BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
                           "TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT",
                           "TARGETSTAGE"})
# Typical values, to evaluate `FROM` lines as a plain `docker build` on amd64 would.
_PLATFORM_DEFAULTS = {"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64",
                      "TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64"}

# Variables that base images commonly set in their ENV. Docker reports a variable only when the base image's
# config does not define it either; dlint cannot read that config offline, so these names count as defined
# (a missed finding is better than a false one). PATH is always defined: BuildKit adds it when missing.
BASE_ENV = frozenset({
    "PATH", "HOME", "HOSTNAME", "USER", "SHELL", "TERM", "TZ", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE",
    "DEBIAN_FRONTEND", "LD_LIBRARY_PATH", "LIBRARY_PATH", "CPATH", "PKG_CONFIG_PATH", "MANPATH",
    "GPG_KEY", "SSL_CERT_FILE", "SSL_CERT_DIR", "JAVA_HOME", "GOPATH", "GOROOT", "CARGO_HOME", "RUSTUP_HOME",
    "PYTHONPATH", "VIRTUAL_ENV", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK", "UV_PYTHON",
})
# Prefixes of the variables official and vendor images set: python (PYTHON_VERSION), nvidia/cuda (CUDA_VERSION,
# NV_CUDA_LIB_VERSION, NVIDIA_VISIBLE_DEVICES, NCCL_VERSION), NGC and pytorch images, conda/mamba images
# (CONDA_DIR, MAMBA_ROOT_PREFIX), Jupyter docker-stacks (NB_USER, NB_UID), ROCm, OpenVINO (INTEL_OPENVINO_DIR).
BASE_ENV_PREFIXES = ("PYTHON_", "CUDA", "CUDNN", "NCCL", "NV_", "NVIDIA_", "NVARCH", "TENSORRT", "TRT_", "CUBLAS",
                     "PYTORCH", "TORCH", "TF_", "TENSORFLOW", "CONDA", "MAMBA", "MINIFORGE", "NB_", "JUPYTER",
                     "ROCM", "HIP", "HSA_", "INTEL_", "OPENVINO", "ONEAPI", "NODE_", "YARN_", "GOLANG", "RUST",
                     "JAVA_", "JDK_", "RUBY", "GEM_", "BUNDLE_", "PHP", "DOTNET", "ASPNETCORE")


# Variables a shell sets but Docker's expansion does not know, with what the author probably expected.
SHELL_ONLY = {"PWD": "the WORKDIR", "OLDPWD": "the previous WORKDIR", "UID": "the user id", "EUID": "the user id",
              "GID": "the group id", "RANDOM": "a random number", "PPID": "a process id"}


@dataclass(frozen=True)
class Reference:
    """One `$NAME` / `${NAME...}` in Dockerfile text, as BuildKit's shell lexer reads it."""

    name: str
    start: int  # source offsets of the whole reference
    end: int
    guarded: bool  # ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME?word}: written for an unset NAME


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def references(text: Mapped, escape: str = "\\") -> list[Reference]:
    """Variable references that BuildKit substitutes: none inside single quotes or after the escape character.
    The word of a `${NAME:-word}` is not scanned: it only counts when NAME is unset."""
    found, s, i, double = [], text.text, 0, False
    while i < len(s):
        ch = s[i]
        if ch == escape:
            i += 2
            continue
        if ch == "'" and not double:
            closing = s.find("'", i + 1)
            i = len(s) if closing < 0 else closing + 1
            continue
        if ch == '"':
            double = not double
        elif ch == "$":
            reference, i = _reference(text, i)
            if reference is not None:
                found.append(reference)
            continue
        i += 1
    return found


def _reference(text: Mapped, dollar: int) -> tuple[Reference | None, int]:
    """The reference starting at text.text[dollar] (a "$") and the index past it."""
    s = text.text
    braced = s.startswith("{", dollar + 1)
    match = _NAME.match(s, dollar + 2 if braced else dollar + 1)
    if match is None:  # "$", "$1", "$@", "${": not a variable Docker would look up by name
        return None, dollar + 1
    end, guarded = match.end(), False
    if braced:
        closing = _closing_brace(s, end)
        guarded = s[end:end + 1] in ("-", "+", "?") or s[end:end + 2] in (":-", ":+", ":?")
        end = closing
    start, stop = text.source_span(dollar, end)
    return Reference(match.group(), start, stop, guarded), end


def _closing_brace(s: str, i: int) -> int:
    """Index past the "}" closing a `${`, nested `${...}` included; the end of the text if there is none."""
    depth = 1
    while i < len(s):
        if s.startswith("${", i):
            depth += 1
            i += 1
        elif s[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _mapped(source: str, start: int, end: int) -> Mapped:
    return Mapped.plain(source[start:end], start)


def _from_args(df) -> set[str]:
    """What a FROM line may use: the ARGs declared before the first FROM, and BuildKit's platform args."""
    return set(df.global_args) | PLATFORM_ARGS


@rule("ML712", "undefined-variable", Severity.WARNING,
      "A variable is used where no ARG or ENV in scope defines it, so Docker substitutes an empty string.",
      aliases=("UndefinedVar", "UndefinedArgInFrom", "InvalidDefaultArgInFrom", "DL3044"))
def check(df, ctx):
    for stage in df.stages:
        yield from _check_from(df, stage, ctx)
        for instruction in stage.instructions[1:]:
            yield from _check_instruction(df, instruction, ctx)


# --- FROM ------------------------------------------------------------------------------------------------


def _check_from(df, stage, ctx):
    instruction = stage.from_instruction
    image = instruction.words[0] if instruction.words else None
    spans = [(image.start, image.end)] if image else []
    platform = instruction.flag("platform")
    if platform is not None:
        spans.append((platform.start, platform.end))
    declared = _from_args(df)
    undefined = False
    for start, end in spans:
        for reference in _unique(references(_mapped(df.source.text, start, end), df.escape)):
            if reference.name not in declared:
                undefined = True
                yield ctx.report(reference.start, reference.end, _from_message(reference, df))
    if image is not None and "$" in image.value and not undefined:
        value = _image_with_defaults(df, image.value)
        if not valid_reference(value):
            yield ctx.report(image.start, image.end,
                             f"with the ARG defaults, `FROM {image.value}` names {value or 'no image'!r}, which is "
                             "not a valid image reference: the build fails unless every `docker build` passes "
                             "--build-arg; give the ARG a default that makes a valid image")


def _from_message(reference, df) -> str:
    name = reference.name
    suggestion = _suggest(name, _from_args(df))
    hint = f" (did you mean ${suggestion}?)" if suggestion else ""
    if reference.guarded:
        return (f"FROM uses ${{{name}}}{hint} but no ARG {name} is declared before the first FROM: --build-arg "
                f"cannot set it, so the default always applies; declare `ARG {name}` at the top of the file")
    return (f"FROM uses ${name}{hint} but no ARG {name} is declared before the first FROM, so it is empty and "
            f"--build-arg cannot set it; declare `ARG {name}=<default>` at the top of the file")


def _image_with_defaults(df, raw: str) -> str:
    """`raw` expanded as a plain `docker build` would: global ARG defaults, which may use the platform args."""
    values = dict(_PLATFORM_DEFAULTS)
    for instruction in df.instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            for item in instruction.args:
                name, eq, default = item.partition("=")
                values[name] = expand(unquote(default), values)[0] if eq else values.get(name, "")
    return expand(raw, values)[0]


# Docker's reference grammar (github.com/distribution/reference): [domain[:port]/]path[:tag][@digest], with
# lower-case path components; a first component with ".", ":" or upper case, or "localhost", is the domain.
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                     r"|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REMOTE = re.compile(rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)(?::[\w][\w.-]{{0,127}})?"
                     r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?")


def valid_reference(value: str) -> bool:
    """Whether `docker build` accepts `value` as a FROM image (ParseNormalizedNamed)."""
    if not value or re.fullmatch(r"[a-f0-9]{64}", value):
        return False
    first, slash, rest = value.partition("/")
    if slash and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        if not _DOMAIN.fullmatch(first):
            return False
        value = rest
    match = _REMOTE.fullmatch(value)
    return match is not None and len(match.group("path")) <= 255


# --- other instructions ----------------------------------------------------------------------------------


def _check_instruction(df, instruction, ctx):
    keyword = instruction.keyword
    texts = [_mapped(df.source.text, f.start, f.end) for f in instruction.flags
             if f.name in EXPANDED_FLAGS.get(keyword, ())]
    if keyword in EXPANDED:
        texts.append(instruction.rest)  # continuation-joined, comment lines dropped
    visible = instruction.vars
    own = {s.name: s for s in settings(instruction)} if keyword == "ENV" else {}
    for text in texts:
        for reference in _unique(references(text, df.escape)):
            name = reference.name
            if name in visible:
                continue
            owner = next((s for s in own.values() if s.start <= reference.start < s.end), None)
            if owner is not None and owner.name == name and reference.guarded:
                continue  # `ENV X=${X:-default}`: keeps a value the base image may set
            if name in own and owner is not None and owner.name != name:
                yield ctx.report(reference.start, reference.end, _same_env_message(name, owner.name),
                                 severity=Severity.ERROR)
            elif _maybe_from_base(name, visible):
                continue
            else:
                yield ctx.report(reference.start, reference.end, _undefined_message(df, instruction, reference))


def _maybe_from_base(name: str, visible) -> bool:
    """A name the base image may set; but one a typo away from a variable this stage defines is a typo
    ($PYTHON_VERISON next to ARG PYTHON_VERSION)."""
    if name in BASE_ENV:
        return True
    return name.startswith(BASE_ENV_PREFIXES) and _suggest(name, set(visible)) is None


def _unique(found: list[Reference]) -> list[Reference]:
    """The first reference to each name: one finding per variable and instruction."""
    seen, unique = set(), []
    for reference in found:
        if reference.name not in seen:
            seen.add(reference.name)
            unique.append(reference)
    return unique


def _same_env_message(name: str, owner: str) -> str:
    return (f"${name} refers to {name} set in this same ENV, but every value of an ENV is expanded before any "
            f"of its variables is set: {owner} gets an empty ${name}; set {name} in an earlier ENV")


def _undefined_message(df, instruction, reference) -> str:
    name, keyword = reference.name, instruction.keyword
    if name in df.global_args or name in PLATFORM_ARGS:
        where = "declared before the first FROM" if name in df.global_args else "a predefined build arg"
        return (f"${name} is {where}, which a stage does not see until it declares it: {keyword} gets an empty "
                f"value here; add `ARG {name}` in this stage before the {keyword}")
    if name in SHELL_ONLY:
        return (f"${name} is a shell variable that Docker does not set, so {keyword} gets an empty string here "
                f"(not {SHELL_ONLY[name]}); write the value itself, or set it with ARG or ENV")
    suggestion = _suggest(name, set(instruction.vars) | set(df.global_args) | BASE_ENV)
    hint = f" (did you mean ${suggestion}?)" if suggestion else ""
    if reference.guarded:
        return (f"${{{name}…}}{hint} is never set by an ARG or ENV in this stage, so {keyword} always takes the "
                f"fallback and --build-arg cannot change it; declare `ARG {name}` if it is meant to be set")
    return (f"${name}{hint} is not defined by any ARG or ENV in scope, so {keyword} gets an empty string here; "
            f"declare it with ARG or ENV before this line, or fix the name")


def _suggest(name: str, candidates: set[str]) -> str | None:
    """The closest defined name: the same name in other case, else an edit distance under 3 as in BuildKit,
    and at most half the name (so $E does not suggest $A)."""
    best, best_distance = None, min(3, len(name) // 2 + 1)
    for candidate in sorted(candidates):
        if candidate.lower() == name.lower():
            return candidate
        distance = _distance(name, candidate)
        if distance < best_distance:
            best, best_distance = candidate, distance
    return best


def _distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]
