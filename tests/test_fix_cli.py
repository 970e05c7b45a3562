"""`dlint fix` and `dlint check --fix` end to end, with fake rules: what is written, the diff, the summary
worded as ruff words it, exit codes, and the user's files never damaged."""
import json
import os
import stat

import pytest

from dockerlint_ml import cli, fixer, registry
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.registry import Rule


def add_to_copy(df, ctx):
    for i in df.instructions:
        if i.keyword == "ADD":
            yield ctx.report(i.start, i.keyword_end, "ADD: use COPY",
                             fix=Fix("ADD -> COPY", (Edit(i.start, i.keyword_end, "COPY"),)))


def expose_tcp(df, ctx):
    for i in df.instructions:
        if i.keyword == "EXPOSE" and "/" not in i.rest.text:
            yield ctx.report(i.start, i.end, "EXPOSE without protocol",
                             fix=Fix("add /tcp", (Edit(i.end, i.end, "/tcp"),), Applicability.UNSAFE))


def maintainer(df, ctx):
    for i in df.instructions:
        if i.keyword == "MAINTAINER":
            yield ctx.report(i.start, i.end, "MAINTAINER is deprecated", severity=Severity.INFO)


def dockerignore(df, ctx):
    if not ctx.build.has_ignore_file:
        path = str(ctx.build.root / ".dockerignore")
        yield ctx.report(0, 0, "no .dockerignore", fix=Fix("create", (Edit(0, 0, ".git\n", path=path),)))


@pytest.fixture(autouse=True)
def fake_rules(monkeypatch, tmp_path):
    registry.all_rules()
    for code, check in {"ML980": add_to_copy, "ML981": expose_tcp, "ML982": maintainer,
                        "ML983": dockerignore}.items():
        rule = Rule(code, f"fake-{code.lower()}", Severity.WARNING, "x", check, default_enabled=False,
                    fix=Applicability.SAFE)
        monkeypatch.setitem(registry.RULES, code, rule)
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path, data: bytes | str):
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def test_fix_writes_and_reports_what_remains(tmp_path, capsys):
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\nADD x /x\nEXPOSE 80\n")
    code, out, err = run(capsys, "fix", "--select", "ML980,ML981", dockerfile)
    assert (tmp_path / "Dockerfile").read_text() == "FROM a\nCOPY x /x\nEXPOSE 80\n"
    assert out.splitlines()[-2:] == [
        "Found 2 findings (1 fixed, 1 remaining).",
        "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).",
    ]
    assert "Dockerfile:3:1: ML981" in out and code == 1 and err == ""


def test_check_fix_is_fix_and_unsafe_fixes_apply_unsafe_ones(tmp_path, capsys):
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\nADD x /x\nEXPOSE 80\n")
    code, out, _ = run(capsys, "check", "--fix", "--unsafe-fixes", "--select", "ML980,ML981", dockerfile)
    assert (tmp_path / "Dockerfile").read_text() == "FROM a\nCOPY x /x\nEXPOSE 80/tcp\n"
    assert out.splitlines() == ["Found 2 findings (2 fixed, 0 remaining)."] and code == 0


def test_nothing_to_fix(tmp_path, capsys):
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\n")
    assert run(capsys, "fix", "--select", "ML980", dockerfile) == (0, "All checks passed.\n", "")
    write(tmp_path / "Dockerfile", "FROM a\nMAINTAINER me\n")
    code, out, _ = run(capsys, "fix", "--select", "ML980,ML982", dockerfile)
    assert code == 1 and out.endswith("Found 1 finding.\n")
    assert run(capsys, "fix", "--select", "ML982", "--exit-zero", dockerfile)[0] == 0
    assert run(capsys, "fix", "--select", "ML982", "--failure-threshold", "warning", dockerfile)[0] == 0


def test_diff_writes_nothing(tmp_path, capsys):
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\nADD x /x\nEXPOSE 80\n")
    code, out, err = run(capsys, "fix", "--diff", "--select", "ML980,ML981,ML983", dockerfile)
    assert code == 1
    assert out == ("--- /dev/null\n+++ .dockerignore\n@@ -0,0 +1 @@\n+.git\n"
                   "--- Dockerfile\n+++ Dockerfile\n@@ -1,3 +1,3 @@\n FROM a\n-ADD x /x\n+COPY x /x\n EXPOSE 80\n")
    assert err == "Would fix 2 findings (1 additional fix available with `--unsafe-fixes`).\n"
    assert (tmp_path / "Dockerfile").read_text() == "FROM a\nADD x /x\nEXPOSE 80\n"
    assert not (tmp_path / ".dockerignore").exists()
    code, out, err = run(capsys, "check", "--diff", "--select", "ML981", dockerfile)
    assert (code, out, err) == (0, "", "No findings would be fixed (1 fix available with `--unsafe-fixes`).\n")


def test_the_dockerignore_a_fix_creates_is_written(tmp_path, capsys):
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\n")
    code, out, _ = run(capsys, "fix", "--select", "ML983", dockerfile)
    assert code == 0 and (tmp_path / ".dockerignore").read_text() == ".git\n"
    assert out == "Found 1 finding (1 fixed, 0 remaining).\n"


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path, capsys, monkeypatch):
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\nADD x /x\n")
    real = fixer.fix_source

    def concurrent_edit(*args, **kwargs):
        result = real(*args, **kwargs)
        write(tmp_path / "Dockerfile", "FROM b\nADD x /x\n")  # an editor saves while dlint works
        return result

    monkeypatch.setattr(fixer, "fix_source", concurrent_edit)
    code, out, err = run(capsys, "fix", "--select", "ML980", dockerfile)
    assert code == 2 and out == ""
    assert err == (f"dlint: error: {dockerfile}: changed on disk since dlint read it; not overwritten "
                   "(run dlint fix again)\n")
    assert (tmp_path / "Dockerfile").read_text() == "FROM b\nADD x /x\n"


@pytest.mark.parametrize("data,message", [(b"FROM a\x00\n", "binary file"), (b"FROM \xff\n", "invalid UTF-8")])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, data, message):
    dockerfile = write(tmp_path / "Dockerfile", data)
    code, _, err = run(capsys, "fix", "--select", "ML980", dockerfile)
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert (tmp_path / "Dockerfile").read_bytes() == data


def test_one_unreadable_dockerfile_means_nothing_written(tmp_path, capsys):
    write(tmp_path / "Dockerfile", "FROM a\nADD x /x\n")
    write(tmp_path / "Dockerfile.bad", b"FROM \xff\n")
    code, out, err = run(capsys, "fix", "--select", "ML980", ".")
    assert code == 2 and out == "" and (tmp_path / "Dockerfile").read_text() == "FROM a\nADD x /x\n"
    assert err.splitlines()[-1] == "dlint: error: nothing written: 1 Dockerfile could not be fixed (see above)"


def test_missing_path_and_bad_context_are_errors(tmp_path, capsys):
    assert run(capsys, "fix", "nope/Dockerfile")[0] == 2
    write(tmp_path / "Dockerfile", "FROM a\n")
    assert run(capsys, "fix", "--context", "nope", "Dockerfile")[0] == 2


def test_the_users_bytes_are_kept(tmp_path, capsys):
    data = "\ufeffFROM a\r\n# café\r\nADD x /x\r\nEXPOSE 80".encode()
    dockerfile = write(tmp_path / "Dockerfile", data)
    os.chmod(dockerfile, 0o640)
    run(capsys, "fix", "--select", "ML980", dockerfile)
    assert (tmp_path / "Dockerfile").read_bytes() == data.replace(b"ADD", b"COPY")
    assert stat.S_IMODE(os.stat(dockerfile).st_mode) == 0o640


def test_standard_input_prints_the_fixed_text(tmp_path, capsys, monkeypatch):
    import io

    class Stdin:
        buffer = io.BytesIO(b"FROM a\nADD x /x\n")

    monkeypatch.setattr("sys.stdin", Stdin)
    code = cli.main(["fix", "--select", "ML980,ML983", "-"])
    out, err = capsys.readouterr()
    assert out == "FROM a\nCOPY x /x\n"
    assert "Found 2 findings (1 fixed, 1 remaining)." in err  # the .dockerignore is not created from stdin
    assert not (tmp_path / ".dockerignore").exists() and code == 1


def test_machine_formats_keep_stdout_parseable(tmp_path, capsys):
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\nADD x /x\nEXPOSE 80\n")
    code, out, err = run(capsys, "fix", "--format", "json", "--select", "ML980,ML981", dockerfile)
    assert [f["code"] for f in json.loads(out)] == ["ML981"]
    assert err.startswith("Found 2 findings (1 fixed, 1 remaining).") and code == 1


def test_a_folder_with_two_dockerfiles_sharing_a_context(tmp_path, capsys):
    write(tmp_path / "Dockerfile", "FROM a\nADD x /x\n")
    write(tmp_path / "Dockerfile.gpu", "FROM b\nADD y /y\n")
    code, out, _ = run(capsys, "fix", "--select", "ML980,ML983", ".")
    assert code == 0 and out == "Found 3 findings (3 fixed, 0 remaining).\n"  # one .dockerignore for both
    assert (tmp_path / "Dockerfile.gpu").read_text() == "FROM b\nCOPY y /y\n"


def test_a_fix_that_never_settles_is_reported(tmp_path, capsys, monkeypatch):
    def grow(df, ctx):
        for i in df.instructions:
            if i.keyword == "RUN":
                yield ctx.report(i.start, i.end, "never fixed", fix=Fix("grow", (Edit(i.end, i.end, " x"),)))

    monkeypatch.setitem(registry.RULES, "ML984", Rule("ML984", "fake-grow", Severity.INFO, "x", grow,
                                                      default_enabled=False, fix=Applicability.SAFE))
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\nRUN echo\n")
    code, _, err = run(capsys, "fix", "--select", "ML984", dockerfile)
    assert err == (f"dlint: warning: {dockerfile}: fixes stopped, still changing after 10 passes "
                   "(a bug in dlint, please report it)\n")
    assert code == 1 and (tmp_path / "Dockerfile").read_text() == "FROM a\nRUN echo" + " x" * 10 + "\n"


def test_a_fix_that_breaks_the_file_is_reported_and_not_applied(tmp_path, capsys, monkeypatch):
    def breaker(df, ctx):
        for i in df.instructions:
            if i.keyword == "LABEL":
                yield ctx.report(i.start, i.end, "breaks", fix=Fix("break", (Edit(i.end, i.end, "\nRUN <<EOF"),)))

    monkeypatch.setitem(registry.RULES, "ML984", Rule("ML984", "fake-breaker", Severity.INFO, "x", breaker,
                                                      default_enabled=False, fix=Applicability.SAFE))
    dockerfile = write(tmp_path / "Dockerfile", "FROM a\nLABEL a=b\nADD x /x\n")
    code, out, err = run(capsys, "fix", "--select", "ML980,ML984", dockerfile)
    assert err == (f"dlint: warning: {dockerfile}:2: the ML984 fix was not applied: it would make the Dockerfile "
                   "invalid (a bug in dlint, please report it)\n")
    assert (tmp_path / "Dockerfile").read_text() == "FROM a\nLABEL a=b\nCOPY x /x\n"
    assert out.endswith("Found 2 findings (1 fixed, 1 remaining).\n") and code == 1  # no "[*] fixable" hint
