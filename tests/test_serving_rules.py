"""serving.py: the effective CMD/ENTRYPOINT, the commands they start, the servers and their options."""
import pytest

from dockerlint_ml.config import Config
from dockerlint_ml.context import BuildContext
from dockerlint_ml.engine import lint_source
from dockerlint_ml.model import parse
from dockerlint_ml.serving import (bind_port, launch, process_commands, runtime_env, server_of, servers, unwrap,
                                   word_value)
from dockerlint_ml.shell import parse_shell
from dockerlint_ml.text import Mapped, SourceText


def model(text):
    return parse(SourceText("Dockerfile", text))


def lines(df):
    current = launch(df)
    return tuple(i.start_line if i else None for i in (current.entrypoint, current.cmd))


def test_launch_follows_lineage_and_entrypoint_resets_inherited_cmd():
    # The last CMD of the lineage wins; a builder stage's does not count.
    assert lines(model("FROM a AS base\nCMD x\nFROM b AS builder\nCMD y\nFROM base\n")) == (None, 2)
    # An ENTRYPOINT in a later stage resets the CMD it inherits...
    assert lines(model("FROM a AS base\nCMD x\nFROM base\nENTRYPOINT [\"e\"]\n")) == (4, None)
    # ...but not a CMD set before it in its own stage (BuildKit's cmd.IsSet).
    assert lines(model("FROM a\nCMD x\nENTRYPOINT [\"e\"]\n")) == (3, 2)
    # `CMD []` / `ENTRYPOINT []` clear the setting.
    assert lines(model("FROM a\nENTRYPOINT []\nCMD [\"bash\"]\n")) == (None, 3)


def test_runtime_env_is_env_not_arg():
    df = model("FROM a AS base\nARG P=1\nENV PORT=$P\nFROM base\nARG Q=2\n")
    assert runtime_env(df) == {"PORT": "1"}


def words(text):
    return parse_shell(Mapped.plain(text))[0].argv


@pytest.mark.parametrize("text,program", [
    ("tini -- gunicorn app:app", "gunicorn"),
    ("tini -s -p SIGTERM -- uv run --with x python app.py", "python"),
    ("gosu app uvicorn main:app", "uvicorn"),
    ("conda run -n serve --no-capture-output python -m uvicorn m:a", "python"),
    ("dumb-init --rewrite 15:2 -- poetry run streamlit run app.py", "streamlit"),
    ("uv sync", "uv"),  # not a runner invocation: stays as written
])
def test_unwrap_skips_runners(text, program):
    assert unwrap(words(text))[0].value == program


@pytest.mark.parametrize("text,port", [
    ("0.0.0.0:8000", 8000), (":9000", 9000), ("[::]:7000", 7000), ("[::1]", 8000), ("localhost", 8000),
    ("unix:/tmp/s.sock", None), ("fd://3", None), ("0.0.0.0:http", None), (None, None),
])
def test_bind_port(text, port):
    assert bind_port(text) == port


def test_word_value_expands_only_through_a_shell():
    env = {"PORT": "9000"}
    shell_form = process_commands(model("FROM a\nENV PORT=9000\nCMD uvicorn m:a --port $PORT\n"))[0]
    exec_form = process_commands(model('FROM a\nENV PORT=9000\nCMD ["uvicorn", "m:a", "--port", "$PORT"]\n'))[0]
    assert word_value(shell_form.command.argv[-1], shell_form, env) == "9000"
    assert word_value(exec_form.command.argv[-1], exec_form, env) is None  # exec form: the literal "$PORT"
    substitution = process_commands(model("FROM a\nCMD exec uvicorn m:a --workers $(nproc)\n"))[0]
    assert word_value(substitution.command.argv[-1], substitution, env) is None
    sh_c = process_commands(model('FROM a\nCMD ["sh", "-c", "exec uvicorn m:a --port ${PORT:-8000}"]\n'))[0]
    assert sh_c.shell and word_value(sh_c.command.argv[-1], sh_c, {}) == "8000"


def programs(text, build=None):
    return [(unwrap(p.command.argv)[0].value, p.instruction.keyword) for p in process_commands(model(text), build)]


def test_process_commands_join_entrypoint_and_cmd():
    # CMD as arguments of an exec-form ENTRYPOINT; the program is reported at the CMD it is written in.
    assert programs('FROM a\nENTRYPOINT ["tini", "--"]\nCMD ["gunicorn", "app:app"]\n') == [("gunicorn", "CMD")]
    assert programs('FROM a\nENTRYPOINT ["python"]\nCMD ["app.py"]\n') == [("python", "ENTRYPOINT")]
    # A wrapper script gets the CMD as a command to run: the CMD is read on its own as well.
    assert programs('FROM a\nENTRYPOINT ["/entrypoint.sh"]\nCMD ["gunicorn", "app:app"]\n') == [
        ("/entrypoint.sh", "ENTRYPOINT"), ("gunicorn", "CMD")]
    # A shell-form ENTRYPOINT ignores CMD.
    assert programs('FROM a\nENTRYPOINT exec python app.py\nCMD ["x"]\n') == [("python", "ENTRYPOINT")]


def test_entrypoint_script_from_the_context_is_read(tmp_path):
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "start.sh").write_text("#!/bin/sh\nexec gunicorn -w 4 app:app\n")
    build = BuildContext(tmp_path)
    text = "FROM a\nWORKDIR /srv\nCOPY docker/ ./bin/\nENTRYPOINT [\"bin/start.sh\"]\n"
    found = servers(model(text), build)
    assert [(s.name, s.option("-w").value.value, s.process.source.path.endswith("start.sh")) for s in found] == [
        ("gunicorn", "4", True)]
    # Not copied from the context (or ignored by .dockerignore): not read.
    assert servers(model("FROM a\nENTRYPOINT [\"/start.sh\"]\n"), build) == []
    (tmp_path / ".dockerignore").write_text("docker/start.sh\n")
    assert servers(model(text), BuildContext(tmp_path)) == []


@pytest.mark.parametrize("text,name", [
    ('CMD ["python3", "-m", "uvicorn", "m:a"]', "uvicorn"),
    ('CMD ["flask", "--app", "m", "run", "--port", "5001"]', "flask"),
    ('CMD ["flask", "db", "upgrade"]', None),  # not a server subcommand
    ('CMD ["streamlit", "hello"]', None),
    ('CMD ["mlflow", "models", "serve", "-m", "runs:/x/model"]', "mlflow"),
    ('CMD ["python", "-m", "http.server", "9000"]', "http.server"),
    ('CMD ["python", "app.py"]', None),
])
def test_server_of(text, name):
    process = process_commands(model(f"FROM a\n{text}\n"))[0]
    server = server_of(process)
    assert (server.name if server else None) == name


def lint(text, code):
    result = lint_source(SourceText("Dockerfile", text), Config(select=[code]))
    return [(f.line, f.message) for f in result.findings]


def test_ml601_message_gives_the_exec_form_or_exec_advice():
    [(_, plain)] = lint("FROM a\nCMD gunicorn -w 4 app:app\n", "ML601")
    assert 'write CMD ["gunicorn", "-w", "4", "app:app"]' in plain
    [(_, variable)] = lint("FROM a\nCMD gunicorn -b :$PORT app:app\n", "ML601")
    assert "`exec`" in variable and "[" not in variable.split("write", 1)[1]
    [(_, piped)] = lint("FROM a\nCMD gunicorn app:app | tee log\n", "ML601")
    assert "SIGTERM on to gunicorn" in piped


def test_ml603_resolves_defaults_and_env():
    assert lint("FROM a\nEXPOSE 80\nCMD [\"uvicorn\", \"m:a\", \"--uds\", \"/tmp/s\"]\n", "ML603") == []
    [(line, message)] = lint("FROM a\nENV UVICORN_PORT=7000\nEXPOSE 80\nCMD [\"uvicorn\", \"m:a\"]\n", "ML603")
    assert line == 4 and "port 7000 (UVICORN_PORT=7000 from ENV)" in message
    assert lint("FROM a\nEXPOSE 53/udp 8000/tcp\nCMD [\"uvicorn\", \"m:a\"]\n", "ML603") == []
    [(_, message)] = lint("FROM a\nEXPOSE 8000/udp\nCMD [\"uvicorn\", \"m:a\"]\n", "ML603")
    assert "lists no TCP port" in message
