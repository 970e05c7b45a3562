"""Helpers shared by the security rules (ML501–ML507): which user the final image's stages run as, the
variables ARG/ENV set and which names hold credentials, commit-pinned URLs, and whether an interpreter runs
the program it reads on standard input."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from dockerlint_ml.model import Dockerfile, ImageRef, Instruction, expand, unquote
from dockerlint_ml.shell import Command, parse_args

# ---------------------------------------------------------------------------------------------------------
# Users


def base_runs_as_nonroot(base: ImageRef) -> bool:
    """Base images known to set a non-root USER themselves. Kept deliberately small: everything else
    (python, ubuntu, nvidia/cuda, pytorch/pytorch, NGC images, ...) runs as root."""
    name, tag = base.repository.lower(), (base.tag or "").lower()
    if "nonroot" in tag:  # gcr.io/distroless/*:nonroot, *:debug-nonroot, and others following the convention
        return True
    if name.startswith("cgr.dev/chainguard/"):  # Chainguard images run as 65532, their -dev variants as root
        return not tag.endswith("-dev") and tag != "dev"
    # Jupyter docker-stacks run as jovyan (NB_UID 1000).
    return name.startswith(("jupyter/", "quay.io/jupyter/"))


_IMAGE_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")


@dataclass(frozen=True)
class User:
    """Who the build (and the image) runs as at some point: the last USER, or the base image's default."""

    value: str | None  # the USER argument after ARG/ENV substitution; None: no USER yet (base default)
    instruction: Instruction | None  # the USER instruction that set it
    base: ImageRef  # base image of the oldest stage of the lineage
    resolved: bool = True  # False: the USER argument holds a variable with no known value

    @property
    def is_root(self) -> bool | None:
        """True for root (uid 0), False for another user, None when it cannot be known from the Dockerfile."""
        if self.value is None:
            if self.base.unresolved or not _IMAGE_REFERENCE.fullmatch(self.base.value):
                return None  # `FROM $BASE` with no default (or a placeholder like `<jupyter>`): base unknown
            return not base_runs_as_nonroot(self.base)
        if not self.resolved:
            return None
        name = self.value.split(":", 1)[0].strip()
        return name in ("root", "0")


def user_of(instruction: Instruction) -> tuple[str, bool]:
    """A USER instruction's argument with ARG/ENV substituted, and whether every variable had a value."""
    raw = instruction.args[0] if instruction.args else ""
    value, resolved = expand(raw, instruction.vars)
    return value, resolved and bool(value)


def _after(user: User, instruction: Instruction) -> User:
    if instruction.keyword != "USER":
        return user
    value, resolved = user_of(instruction)
    return User(value, instruction, user.base, resolved)


def final_lineage_users(df: Dockerfile) -> Iterator[tuple[Instruction, User]]:
    """Every instruction of the stages that make the final image, oldest first, with the user it runs as.
    USER carries over `FROM <stage>` like the rest of the image config."""
    lineage = df.final_lineage
    if not lineage:
        return
    current = User(None, None, lineage[-1].base)
    for stage in reversed(lineage):
        for instruction in stage.instructions:
            yield instruction, current
            current = _after(current, instruction)


def final_user(df: Dockerfile) -> User | None:
    """The user the final image runs as; None for a Dockerfile without stages."""
    user = None
    for instruction, before in final_lineage_users(df):
        user = _after(before, instruction)
    return user


# ---------------------------------------------------------------------------------------------------------
# ARG and ENV


@dataclass(frozen=True)
class Setting:
    """One variable an ARG or ENV instruction declares."""

    name: str
    value: str | None  # quotes removed, variables not expanded; None for `ARG NAME` with no default
    start: int  # source span of `NAME=value` (`NAME value…` in the legacy ENV form)
    end: int


def settings(instruction: Instruction) -> list[Setting]:
    """The variables of an ARG or ENV instruction, located in the source; [] for other instructions."""
    if instruction.keyword == "ARG":
        pairs = [(name, value if eq else None) for name, eq, value in (a.partition("=") for a in instruction.args)]
    elif instruction.keyword == "ENV":
        pairs = list(zip(instruction.args[0::2], instruction.args[1::2]))
    else:
        return []
    return [Setting(name, unquote(value) if value is not None else None, *_span(instruction, name))
            for name, value in pairs]


def _span(instruction: Instruction, name: str) -> tuple[int, int]:
    words = instruction.words
    for word in words:
        if word.value.startswith(name + "="):
            return word.start, word.end
        if word.value == name:  # `ARG NAME`, or `ENV NAME value…`, whose value is the rest of the line
            return word.start, words[-1].end if instruction.keyword == "ENV" else word.end
    return instruction.start, instruction.end


# ---------------------------------------------------------------------------------------------------------
# Credentials in variable names

# Exact names whose suffix alone would not tell.
_SECRET_NAMES = frozenset({"AWS_SECRET_ACCESS_KEY", "KAGGLE_KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD",
                           "API_KEY", "APIKEY", "SECRET_KEY", "PRIVATE_KEY"})
# HF_TOKEN, HUGGING_FACE_HUB_TOKEN, GITHUB_TOKEN, AWS_SESSION_TOKEN, WANDB_API_KEY, OPENAI_API_KEY, ...
_SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_SECRET_KEY", "_PASSWORD", "_PASSWD", "_API_KEY", "_APIKEY",
                    "_PRIVATE_KEY")
# Names ending like a secret that are not one: tokenizer special tokens and token counts (MAX_NEW_TOKEN).
# Names like TOKENIZERS_PARALLELISM, MAX_TOKENS, HF_TOKEN_PATH, *_TOKEN_URL or *_PASSWORD_FILE do not end
# with a secret suffix, so they need no exclusion.
_SPECIAL_TOKENS = re.compile(r"(^|_)(PAD|BOS|EOS|UNK|SEP|CLS|MASK|START|END|STOP)_TOKEN$")
_COUNTS = re.compile(r"^(MAX|MIN|NUM|N)_")


def is_secret_name(name: str) -> bool:
    """Whether an ARG/ENV name conventionally holds a credential (case-insensitive)."""
    upper = name.upper()
    if "TOKENIZER" in upper or _SPECIAL_TOKENS.search(upper) or _COUNTS.match(upper):
        return False
    return upper in _SECRET_NAMES or upper.endswith(_SECRET_SUFFIXES)


_REFERENCE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*(?::?-)?\})")


def is_reference(value: str) -> bool:
    """`$VAR`, `${VAR}` or `${VAR:-}`: a value that only passes another variable on (quotes removed)."""
    return _REFERENCE.fullmatch(value) is not None


# ---------------------------------------------------------------------------------------------------------
# Downloads

COMMIT = re.compile(r"[0-9a-fA-F]{40}")


def commit_pinned(url: str) -> bool:
    """A URL addressing a git commit by its full hash (raw.githubusercontent.com/o/r/<sha>/…,
    huggingface.co/o/r/resolve/<sha>/…): what it serves cannot change."""
    path = url.partition("://")[2].partition("?")[0]
    return any(COMMIT.fullmatch(segment) for segment in path.split("/")[1:])


# ---------------------------------------------------------------------------------------------------------
# Interpreters

_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
_PYTHON = re.compile(r"python(\d+(\.\d+)*)?")


def interpreter(cmd: Command) -> str | None:
    """'shell', 'python' or 'perl' for a command that runs a program, else None."""
    name = cmd.name
    if name in _SHELLS:
        return "shell"
    if _PYTHON.fullmatch(name):
        return "python"
    return "perl" if name == "perl" else None


# Per interpreter: options that take a value, and the options whose value is the program (so stdin is not).
_INTERPRETER_OPTIONS = {
    "shell": (frozenset({"-o", "-O", "-c"}), frozenset({"-c"})),
    "python": (frozenset({"-c", "-m", "-W", "-X"}), frozenset({"-c", "-m"})),
    "perl": (frozenset({"-e", "-E", "-I", "-M"}), frozenset({"-e", "-E"})),
}


def reads_program_from_stdin(cmd: Command) -> bool:
    """`bash`, `sh -s -- args`, `python3 -`, `perl`: an interpreter with no script file and no -c/-e/-m code."""
    kind = interpreter(cmd)
    if kind is None:
        return False
    valued, program = _INTERPRETER_OPTIONS[kind]
    options, rest = parse_args(cmd.argv[1:], valued, interleaved=False)
    if any(o.name in program for o in options):
        return False
    if kind == "shell" and any(o.name == "-s" for o in options):
        return True
    return not rest or rest[0].value == "-"


def program_option(cmd: Command) -> str | None:
    """The option whose value is the program text: '-c' (shells, python) or '-e' (perl)."""
    kind = interpreter(cmd)
    return None if kind is None else ("-e" if kind == "perl" else "-c")
