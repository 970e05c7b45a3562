"""The command line: targets, selection, config, pragmas, formats, exit codes and bad input."""
import json
import subprocess
import sys

import pytest

from dockerlint_ml.cli import main

BAD = "FROM python:3.11-slim\nRUN pip install torch\n"


def run(args, cwd, stdin=None):
    """dlint in a subprocess: exit code, stdout, stderr exactly as a user sees them."""
    proc = subprocess.run([sys.executable, "-m", "dockerlint_ml", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Dockerfile").write_text(BAD)
    return tmp_path


def test_findings_exit_1_with_text_lines(project):
    code, out, err = run(["check", "Dockerfile"], project)
    assert code == 1, err
    assert "Dockerfile:2:17: ML102 [warning] torch has no exact version" in out
    assert "Dockerfile:2:5: ML201 [warning]" in out


def test_folder_search_finds_dockerfile_variants(tmp_path):
    for name in ("Dockerfile", "Dockerfile.gpu", "serve.Dockerfile", "train.dockerfile", "Containerfile"):
        (tmp_path / "sub" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "sub" / name).write_text(BAD)
    (tmp_path / "sub" / "Dockerfile.dockerignore").write_text(".git\n")
    (tmp_path / "README.md").write_text("not a Dockerfile")
    code, out, _ = run(["check", "--select", "ML102", "."], tmp_path)
    assert code == 1
    assert {line.split(":")[0] for line in out.splitlines() if "ML102" in line} == {
        "sub/Dockerfile", "sub/Dockerfile.gpu", "sub/serve.Dockerfile", "sub/train.dockerfile", "sub/Containerfile"}


def test_stdin(tmp_path):
    code, out, _ = run(["check", "--select", "ML102", "-"], tmp_path, stdin=BAD)
    assert code == 1 and "<stdin>:2:17: ML102" in out


def test_select_ignore_by_code_name_prefix_and_alias(project):
    assert run(["check", "--select", "ML2", "Dockerfile"], project)[1].count("ML102") == 0
    assert "ML102" not in run(["check", "--ignore", "unpinned-pip-install", "Dockerfile"], project)[1]
    assert "ML201" not in run(["check", "--ignore", "DL3042", "Dockerfile"], project)[1]
    out = run(["check", "--select", "ALL", "Dockerfile"], project)[1]
    assert "ML102" in out and "ML201" in out


def test_unknown_selector_is_usage_error(project):
    code, out, err = run(["check", "--select", "ML999", "Dockerfile"], project)
    assert code == 2 and "ML999" in err and "Traceback" not in err


def test_severity_threshold_and_exit_zero(project):
    (project / "Dockerfile").write_text("FROM python:3.11-slim\nUSER 1000\nRUN echo a\nRUN echo b\n")
    assert run(["check", "Dockerfile"], project)[0] == 1  # ML302 is info
    assert run(["check", "--failure-threshold", "warning", "Dockerfile"], project)[0] == 0
    code, out, _ = run(["check", "--severity", "warning", "Dockerfile"], project)
    assert code == 0 and "ML302" not in out
    assert run(["check", "--exit-zero", "Dockerfile"], project)[0] == 0


def test_config_file_found_upward(project):
    sub = project / "svc"
    sub.mkdir()
    (sub / "Dockerfile").write_text(BAD)
    (project / ".dlint.yaml").write_text("ignore: [ML102]\nseverity:\n  pip-cache-in-layer: error\n")
    code, out, _ = run(["check", "svc/Dockerfile"], project)
    assert "ML102" not in out and "ML201 [error]" in out and code == 1


def test_pyproject_config_and_failure_threshold(project):
    (project / "pyproject.toml").write_text('[tool.dlint]\nfailure-threshold = "error"\n')
    assert run(["check", "Dockerfile"], project)[0] == 0


@pytest.mark.parametrize("content,needle", [
    ("selct: [ML102]\n", "unknown key 'selct'"),
    ("ignore: [ML9999]\n", "ML9999"),
    ("options:\n  ML102:\n    nope: 1\n", "unknown option 'nope'"),
    ("severity:\n  ML102: fatal\n", "unknown severity"),
    ("select: [\n", "cannot read YAML"),
])
def test_bad_config_exit_2_naming_the_problem(project, content, needle):
    (project / ".dlint.yaml").write_text(content)
    code, _, err = run(["check", "Dockerfile"], project)
    assert code == 2 and needle in err and "Traceback" not in err


def test_pragmas_dlint_and_hadolint(project):
    (project / "Dockerfile").write_text(
        "FROM python:3.11-slim\n"
        "# dlint ignore=ML102\n"
        "RUN pip install --no-cache-dir torch\n"
        "# hadolint ignore=DL3013\n"
        "RUN pip install --no-cache-dir numpy\n"
        "RUN pip install --no-cache-dir scipy\n")
    out = run(["check", "--select", "ML102", "Dockerfile"], project)[1]
    assert "torch" not in out and "numpy" not in out and "scipy" in out
    (project / "Dockerfile").write_text("# hadolint global ignore=DL3013\n" + BAD)
    assert "ML102" not in run(["check", "--select", "ML102", "Dockerfile"], project)[1]


@pytest.mark.parametrize("data,needle", [
    (b"FROM a\x00\n", "binary file"),
    (b"FROM python\xff\n", "invalid UTF-8"),
])
def test_bad_input_exit_2_and_file_untouched(project, data, needle):
    (project / "Dockerfile").write_bytes(data)
    code, out, err = run(["check", "Dockerfile"], project)
    assert code == 2 and needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert (project / "Dockerfile").read_bytes() == data


def test_missing_and_unreadable_paths(project):
    code, _, err = run(["check", "nope/Dockerfile"], project)
    assert code == 2 and "no such file" in err and "Traceback" not in err
    code, _, err = run(["check", str(project / "Dockerfile"), "--context", "missing-dir"], project)
    assert code == 2 and "--context" in err


def test_syntax_error_is_a_finding_not_a_crash(project):
    (project / "Dockerfile").write_text("FROM a:1\nRUN <<EOF\necho\n")
    code, out, err = run(["check", "Dockerfile"], project)
    assert code == 1 and "ML001 [error]" in out and "unterminated heredoc" in out and not err


@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab"])
def test_machine_formats_are_json(project, fmt):
    code, out, _ = run(["check", "--format", fmt, "Dockerfile"], project)
    assert code == 1
    data = json.loads(out)
    assert data


def test_json_schema_keys(project):
    findings = json.loads(run(["check", "--format", "json", "Dockerfile"], project)[1])
    assert set(findings[0]) == {"code", "name", "severity", "path", "line", "column", "end_line", "end_column",
                                "message", "fix"}


def test_github_format(project):
    out = run(["check", "--format", "github", "--select", "ML102", "Dockerfile"], project)[1]
    assert out.startswith("::warning file=Dockerfile,line=2,")


def test_output_file(project):
    code, out, _ = run(["check", "--format", "json", "-o", "report.json", "Dockerfile"], project)
    assert code == 1 and out == "" and json.loads((project / "report.json").read_text())


def test_statistics(project):
    out = run(["check", "--statistics", "Dockerfile"], project)[1]
    assert "ML102" in out and "unpinned-pip-install" in out


def test_rules_table_grouped_by_category_and_json(tmp_path):
    code, out, _ = run(["rules"], tmp_path)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["code", "name", "severity", "default", "fix", "aliases"]
    headings = [line for line in lines[1:] if line and not line.startswith(" ")]
    assert headings[:3] == ["syntax and pragmas", "reproducibility", "image size"]
    assert lines.index("reproducibility") < next(i for i, l in enumerate(lines) if "ML101" in l) < lines.index(
        "image size")
    rows = json.loads(run(["rules", "--format", "json"], tmp_path)[1])
    ml101 = next(row for row in rows if row["code"] == "ML101")
    assert {k: ml101[k] for k in ("name", "category", "severity", "default", "fix", "aliases")} == {
        "name": "base-image-unpinned", "category": "reproducibility", "severity": "warning", "default": True,
        "fix": "unsafe", "aliases": ["DL3006", "DL3007"]}


def test_rule_doc_by_code_and_name(tmp_path):
    assert run(["rule", "ML201"], tmp_path)[1].startswith("# ML201 `pip-cache-in-layer`")
    assert run(["rule", "pip-cache-in-layer"], tmp_path)[1].startswith("# ML201")
    code, _, err = run(["rule", "ML999"], tmp_path)
    assert code == 2 and "unknown rule" in err


def test_in_process_main_returns_codes(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert main(["check", "--select", "ML102", "Dockerfile"]) == 1
    assert "ML102" in capsys.readouterr().out


# --- hadolint compatibility, checkstyle / junit --------------------------------------------------------


def test_hadolint_config_read_when_no_dlint_config(project):
    (project / ".hadolint.yaml").write_text(
        "ignored: [DL3013, SC2086, DL9999]\noverride:\n  error: [DL3042]\nfailure-threshold: error\n")
    (project / "Dockerfile.b").write_text(BAD)
    code, out, err = run(["check", "Dockerfile", "Dockerfile.b"], project)
    assert code == 1 and "ML102" not in out and "Dockerfile:2:5: ML201 [error]" in out
    # told once per run, however many Dockerfiles use it
    assert err.count("dlint: using hadolint config") == 1
    assert f"dlint: using hadolint config {project / '.hadolint.yaml'} (translated: 2 ignores, 1 override, " \
           "failure-threshold, system package pins as in hadolint)" in err
    assert err.count("no dlint rule covers DL9999") == 1


def test_hadolint_config_never_fail_and_explicit_config(project):
    (project / "ci").mkdir()
    (project / "ci" / "lint.yaml").write_text("failure-threshold: none\nignored: [DL3042]\n")
    code, out, err = run(["check", "--config", "ci/lint.yaml", "Dockerfile"], project)
    assert code == 0 and "ML102" in out and "ML201" not in out and "using hadolint config ci/lint.yaml" in err
    # the command line still decides
    assert run(["check", "--config", "ci/lint.yaml", "--failure-threshold", "info", "Dockerfile"], project)[0] == 1


def test_dlint_config_beats_hadolint_config(project):
    (project / ".hadolint.yaml").write_text("ignored: [DL3042]\n")
    (project / ".dlint.yaml").write_text("ignore: [ML102]\n")
    code, out, err = run(["check", "Dockerfile"], project)
    assert "ML201" in out and "ML102" not in out and "hadolint" not in err


def test_docker_check_skip_directive(project):
    from dockerlint_ml.registry import resolve

    rules = resolve("MaintainerDeprecated")
    if not rules:
        pytest.skip("no rule covers Docker's MaintainerDeprecated check yet")
    code = rules[0].code
    body = "FROM python:3.11-slim\nMAINTAINER me\n"
    (project / "Dockerfile").write_text(body)
    assert f"Dockerfile:2:1: {code}" in run(["check", "--select", code, "Dockerfile"], project)[1]
    (project / "Dockerfile").write_text("# check=skip=MaintainerDeprecated;error=true\n" + body)
    assert run(["check", "--select", code, "Dockerfile"], project)[:2] == (0, "All checks passed.\n")


@pytest.mark.parametrize("fmt, root", [("checkstyle", "checkstyle"), ("junit", "testsuites")])
def test_xml_formats(project, fmt, root):
    import xml.etree.ElementTree as ET

    code, out, _ = run(["check", "--format", fmt, "Dockerfile"], project)
    assert code == 1 and ET.fromstring(out).tag == root and "ML102" in out


def test_binary_context_file_is_an_input_error_not_a_rule_crash(project):
    """A requirements file a RUN reads that is not text: one line naming the file, exit 2, not 'internal error'."""
    (project / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY requirements.txt .\n"
                                        "RUN pip install --no-cache-dir -r requirements.txt\n")
    (project / "requirements.txt").write_bytes(b"torch\x00\xff\xfe\n")
    code, out, err = run(["check", "Dockerfile"], project)
    assert code == 2 and "requirements.txt" in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1
