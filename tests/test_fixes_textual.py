"""The textual fixes (ML201, ML202, ML203, ML302, ML303, ML305, ML706, ML708, ML709, ML715, ML726) and the
edit helpers behind them (dockerlint_ml/edits.py): each fix gives the text shown, and the finding is gone."""
import pytest

from dockerlint_ml import edits
from dockerlint_ml.config import Config, from_mapping
from dockerlint_ml.engine import lint_source
from dockerlint_ml.finding import Applicability
from dockerlint_ml.fixer import fix_source
from dockerlint_ml.fixes import apply_edits
from dockerlint_ml.model import parse
from dockerlint_ml.text import SourceText


def parsed(text):
    return parse(SourceText("Dockerfile", text))


def runs(df):
    return [i for i in df.instructions if i.keyword == "RUN"]


def fixed(text, code, tmp_path, level=Applicability.SAFE, options=None):
    """`dlint fix` of `text` with only `code` selected; checks the fix loop ends and the finding is gone."""
    config = from_mapping({"options": {code: options}}) if options else Config()
    config.select = [code]
    path = tmp_path / "Dockerfile"
    path.write_bytes(text.encode())
    result = fix_source(SourceText(str(path), text), config, tmp_path, level)
    assert result.stop == "fixpoint"
    assert parse(result.source).error is None
    return result.source.text, [f for f in result.remaining if f.code == code]


def single_fix(text, code, tmp_path):
    """The text after applying the fixes of the first lint only (one pass, no loop)."""
    config = Config(select=[code])
    result = lint_source(SourceText(str(tmp_path / "Dockerfile"), text), config, tmp_path)
    findings = [f for f in result.findings if f.code == code and f.fix is not None]
    return apply_edits(text, [e for f in findings[:1] for e in f.fix.edits])


# --- append_command ----------------------------------------------------------------------------------


@pytest.mark.parametrize("run,expected", [
    ("RUN a && b\n", "RUN a && b && rm -rf /x\n"),
    ("RUN a && b; # note\n", "RUN a && b && rm -rf /x; # note\n"),
    ('RUN bash -c "a && b"\n', 'RUN bash -c "a && b && rm -rf /x"\n'),
    ("RUN if true; then a; fi\n", "RUN if true; then a; fi && rm -rf /x\n"),
    ("RUN a \\\n    && b\n", "RUN a \\\n    && b \\\n    && rm -rf /x\n"),
    ("RUN a && \\\n    b\n", "RUN a && \\\n    b && \\\n    rm -rf /x\n"),
    ("RUN a && b \\\n      c \\\n      d\n", "RUN a && b \\\n      c \\\n      d \\\n      && rm -rf /x\n"),
    ("RUN <<EOF\nset -e\n  a\nEOF\n", "RUN <<EOF\nset -e\n  a\n  rm -rf /x\nEOF\n"),
    ("RUN <<-EOF\n\tset -e\n\ta\nEOF\n", "RUN <<-EOF\n\tset -e\n\ta\n\trm -rf /x\nEOF\n"),
])
def test_append_command_after_the_last_command(run, expected):
    text = "FROM x\n" + run
    df = parsed(text)
    edit = edits.append_command(df, runs(df)[0], "rm -rf /x")
    assert apply_edits(text, [edit]) == "FROM x\n" + expected


@pytest.mark.parametrize("text", [
    "FROM x\nRUN a && b &\n",  # backgrounded
    'FROM x\nRUN ["a", "b"]\n',  # exec form
    "FROM x\nRUN python3 <<EOF\nprint(1)\nEOF\n",  # a heredoc for python, not a script
    "FROM x\nRUN <<EOF\na \\\nEOF\n",  # the script's last line continues
    'FROM x\nSHELL ["powershell", "-Command"]\nRUN a\n',  # not a POSIX shell
    "FROM x\nRUN if true; then a\n",  # an unclosed compound command
])
def test_append_command_refuses_where_the_end_is_unclear(text):
    df = parsed(text)
    assert edits.append_command(df, runs(df)[-1], "rm -rf /x") is None


def test_append_command_keeps_crlf_and_the_escape_character():
    text = "# escape=`\r\nFROM x\r\nRUN a `\r\n    && b\r\n"
    df = parsed(text)
    fixed_text = apply_edits(text, [edits.append_command(df, runs(df)[0], "c")])
    assert fixed_text == "# escape=`\r\nFROM x\r\nRUN a `\r\n    && b `\r\n    && c\r\n"


# --- add_flags / add_option ------------------------------------------------------------------------


def test_add_flags_inline_for_one_flag_on_one_line_else_a_line_each():
    text = "FROM x\nRUN --network=none a\nRUN a \\\n  && b\nRUN --mount=type=secret,id=x \\\n    a\n"
    df = parsed(text)
    one, multi, later = runs(df)
    assert apply_edits(text, [edits.add_flags(df, one, ["--mount=m"])]).split("\n")[1] == (
        "RUN --network=none --mount=m a")
    assert apply_edits(text, [edits.add_flags(df, multi, ["--mount=m"])]).split("\n")[2:5] == [
        "RUN --mount=m \\", "    a \\", "  && b"]
    assert apply_edits(text, [edits.add_flags(df, later, ["--mount=m", "--mount=n"])]).split("\n")[4:8] == [
        "RUN --mount=type=secret,id=x \\", "    --mount=m \\", "    --mount=n \\", "    a"]


def test_add_option_in_exec_form_inserts_a_json_element():
    text = 'FROM x\nRUN ["pip", "install", "torch"]\n'
    df = parsed(text)
    run = runs(df)[0]
    word = run.commands[0].argv[1]
    assert apply_edits(text, [edits.add_option(run, word, "--no-cache-dir")]).endswith(
        'RUN ["pip", "install", "--no-cache-dir", "torch"]\n')


def test_add_option_refuses_words_inside_an_exec_form_shell_string():
    df = parsed('FROM x\nRUN ["bash", "-c", "pip install torch"]\n')
    run = runs(df)[0]
    assert edits.add_option(run, run.commands[0].argv[1], "--no-cache-dir") is None


def test_joins_neighbour_only_when_the_flags_would_become_equal():
    df = parsed("FROM x\nRUN --mount=m a\nRUN b\nRUN c\n")
    _, second, third = runs(df)
    assert edits.joins_neighbour(second, ["--mount=m"])
    assert not edits.joins_neighbour(third, ["--mount=m"])  # its neighbour has no mount yet
    assert not edits.joins_neighbour(second, ["--mount=other"])


# --- merge_runs ----------------------------------------------------------------------------------------


def merged(text, first=0):
    df = parsed(text)
    found = edits.merge_runs(df, runs(df)[first], runs(df)[first + 1])
    return None if found is None else apply_edits(text, list(found))


def test_merge_keeps_comments_drops_blank_lines_and_joins_flags_once():
    text = "FROM x AS b\nRUN --network=none a\n# why\n\n  # more\nRUN --network=none b \\\n    && c\n"
    assert merged(text) == "FROM x AS b\nRUN --network=none a && \\\n# why\n  # more\n    b \\\n    && c\n"


@pytest.mark.parametrize("first,second", [
    ("cd /app", "make"), ("export A=1", "echo $A"), ("A=1", "echo $A"), (". /env.sh", "run"),
    ("set -u", "echo $UNSET"), ("umask 077", "touch f"), ("exec a", "b"), ("a # note", "b"), ("a;", "b"),
    ("a", "b; c"), ("a", "b || c"), ("a", "b & c"), ("a &", "b"), ("f() { a; }", "f"),
])
def test_merge_refuses_what_could_change_what_runs(first, second):
    assert merged(f"FROM x AS b\nRUN {first}\nRUN {second}\n") is None


def test_merge_accepts_tracing_and_errexit():
    assert merged("FROM x AS b\nRUN set -ex && a\nRUN b\n") == "FROM x AS b\nRUN set -ex && a && \\\n    b\n"


@pytest.mark.parametrize("text", [
    "FROM x\nRUN a\n# dlint ignore=ML201\nRUN pip install b\n",  # a pragma for the second
    "FROM x\nRUN <<EOF\na\nEOF\nRUN b\n",  # heredoc
    'FROM x\nRUN ["a"]\nRUN b\n',  # exec form
    "FROM x\nRUN a\nRUN \\\n    b\n",  # the second's command on a later line
])
def test_merge_refuses_pragmas_heredocs_exec_form(text):
    assert merged(text) is None


def test_merge_removes_the_apt_lists_in_a_shipped_stage_only():
    text = "FROM x AS builder\nRUN apt-get update\nRUN apt-get install -y gcc\nFROM x\nRUN apt-get update\n" \
           "RUN apt-get install -y curl\n"
    builder = text.replace("update\nRUN apt-get install -y gcc", "update && \\\n    apt-get install -y gcc")
    assert merged(text, 0) == builder  # a builder stage: its lists never ship
    assert merged(text, 2).endswith(
        "RUN apt-get update && \\\n    apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n")


def test_lists_read_later_until_the_next_update():
    df = parsed("FROM x AS base\nRUN apt-get update\nRUN echo\nFROM base\nRUN apt-get install -y a\n"
                "RUN apt-get update && apt-get install -y b\nRUN apt-get install -y c\n")
    first, _, install, update, last = runs(df)
    assert edits.lists_read_later(df, first)  # the stage built FROM it installs without updating
    assert edits.lists_read_later(df, update)  # the last RUN installs without updating
    assert edits.lists_read_later(df, install) is False  # the next RUN updates first
    assert not edits.lists_read_later(df, last)


# --- the rules' fixes ----------------------------------------------------------------------------------


def test_ml201_mount_then_no_cache_dir(tmp_path):
    text = "FROM python:3.11-slim\nRUN pip install torch\nUSER app\nRUN pip install numpy\n"
    out, left = fixed(text, "ML201", tmp_path)
    assert out == ("FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/pip pip install torch\n"
                   "USER app\nRUN pip install --no-cache-dir numpy\n")
    assert not left
    out, _ = fixed(text, "ML201", tmp_path, options={"pip_cache": "no-cache-dir"})
    assert "RUN pip install --no-cache-dir torch\n" in out


def test_ml201_uv_mount_sets_copy_link_mode_for_every_uv_command(tmp_path):
    text = "FROM python:3.11-slim\nRUN uv pip install --system torch && uv sync\n"
    out, left = fixed(text, "ML201", tmp_path)
    assert out.endswith("RUN --mount=type=cache,target=/root/.cache/uv uv pip install --link-mode=copy --system "
                        "torch && uv sync --link-mode=copy\n")
    assert not left


def test_ml201_rejects_an_unknown_style(tmp_path):
    from dockerlint_ml.text import InputError

    with pytest.raises(InputError, match="pip_cache"):
        fixed("FROM x\nRUN pip install a\n", "ML201", tmp_path, options={"pip_cache": "nope"})


def test_ml202_crlf_and_lists_needed_later(tmp_path):
    text = "FROM x\r\nRUN apt-get update \\\r\n    && apt-get install -y a\r\n"
    out, left = fixed(text, "ML202", tmp_path)
    assert out == ("FROM x\r\nRUN apt-get update \\\r\n    && apt-get install -y a \\\r\n"
                   "    && rm -rf /var/lib/apt/lists/*\r\n")
    assert not left
    text = "FROM x\nRUN apt-get update && apt-get install -y a\nRUN apt-get install -y b\n"
    out, left = fixed(text, "ML202", tmp_path)
    assert out == text and len(left) == 1 and left[0].fix is None


def test_ml203_is_unsafe(tmp_path):
    text = "FROM x\nRUN apt-get install -y curl\n"
    assert fixed(text, "ML203", tmp_path)[0] == text
    assert fixed(text, "ML203", tmp_path, Applicability.UNSAFE)[0] == (
        "FROM x\nRUN apt-get install --no-install-recommends -y curl\n")


def test_ml302_chain_joins_in_one_pass(tmp_path):
    out, left = fixed("FROM x\nRUN a\nRUN b\nRUN c\n", "ML302", tmp_path)
    assert out == "FROM x\nRUN a && \\\n    b && \\\n    c\n" and not left


def test_ml303_joins_update_and_install(tmp_path):
    out, left = fixed("FROM x\nRUN apt-get update\nRUN apt-get install -y curl\n", "ML303", tmp_path)
    assert out == "FROM x\nRUN apt-get update && \\\n    apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
    assert not left


def test_ml305_keeps_case_and_leaves_mixed_adds(tmp_path):
    (tmp_path / "app.py").write_text("print(1)\n")
    text = "FROM x\nadd --chown=1:1 app.py /srv/\nADD app.py model.tar.gz /srv/\n"
    out, left = fixed(text, "ML305", tmp_path)
    assert out == "FROM x\ncopy --chown=1:1 app.py /srv/\nADD app.py model.tar.gz /srv/\n"
    assert len(left) == 1 and left[0].fix is None


def test_ml706_label_reads_back_the_maintainer_text(tmp_path):
    out, _ = fixed('FROM x\nMAINTAINER A "B" \\C $D\n', "ML706", tmp_path)
    label = parse(SourceText("Dockerfile", out)).instructions[1]
    assert label.keyword == "LABEL" and label.args == ("org.opencontainers.image.authors", '"A \\"B\\" \\\\C \\$D"')


def test_ml708_and_ml709_together(tmp_path):
    config = Config(select=["ML708", "ML709"])
    text = "FROM x\nRUN apt install curl && apt upgrade && apt search x\n"
    result = fix_source(SourceText(str(tmp_path / "Dockerfile"), text), config, tmp_path)
    assert result.source.text == ("FROM x\nRUN apt-get install -y curl && apt-get upgrade --with-new-pkgs -y "
                                  "&& apt search x\n")
    assert [f.code for f in result.remaining] == ["ML709"]  # apt search: no apt-get equivalent


def test_ml715_quotes_several_words_and_pairs_are_unsafe(tmp_path):
    text = "FROM x\nENV OPTS -a -b\nENV A /a B /b\n"
    out, left = fixed(text, "ML715", tmp_path)
    assert out == 'FROM x\nENV OPTS="-a -b"\nENV A /a B /b\n' and len(left) == 1
    out, left = fixed(text, "ML715", tmp_path, Applicability.UNSAFE)
    assert out == 'FROM x\nENV OPTS="-a -b"\nENV A=/a B=/b\n' and not left


def test_ml726_deletes_empty_lines_and_only_shows_the_swallowing_fix(tmp_path):
    text = "FROM x\nRUN a \\\n\n  b\nRUN c \\\n\nRUN d\n"
    out, left = fixed(text, "ML726", tmp_path, Applicability.UNSAFE)
    assert out == "FROM x\nRUN a \\\n  b\nRUN c \\\n\nRUN d\n"
    assert len(left) == 1 and left[0].fix.applicability == Applicability.DISPLAY
    assert apply_edits(out, left[0].fix.edits) == "FROM x\nRUN a \\\n  b\nRUN c\n\nRUN d\n"
