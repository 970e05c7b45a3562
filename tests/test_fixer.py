"""The fix engine (dockerlint_ml/fixer.py), with fake rules so that it is tested apart from any real rule's fix:
the loop, reverting passes that break the Dockerfile, the overlay of edited context files, cycles and limits,
and the file writing underneath (text.write_atomic)."""
import os
import stat

import pytest

from dockerlint_ml import registry
from dockerlint_ml.config import Config
from dockerlint_ml.context import BuildContext
from dockerlint_ml.finding import Applicability, Edit, Fix, Severity
from dockerlint_ml.fixer import MAX_PASSES, Workspace, fix_source, unified_diff
from dockerlint_ml.fixes import match_newlines, uses_crlf
from dockerlint_ml.registry import Rule
from dockerlint_ml.text import ChangedOnDisk, InputError, SourceText, read_source, write_atomic


def _instructions(df, keyword):
    return [i for i in df.instructions if i.keyword == keyword]


def add_to_copy(df, ctx):
    for instruction in _instructions(df, "ADD"):
        yield ctx.report(instruction.start, instruction.keyword_end, "ADD: use COPY",
                         fix=Fix("ADD -> COPY", (Edit(instruction.start, instruction.keyword_end, "COPY"),)))


def expose_tcp(df, ctx):
    for instruction in _instructions(df, "EXPOSE"):
        if "/" not in instruction.rest.text:
            yield ctx.report(instruction.start, instruction.end, "EXPOSE without protocol",
                             fix=Fix("add /tcp", (Edit(instruction.end, instruction.end, "/tcp"),),
                                     Applicability.UNSAFE))


def shell_cmd(df, ctx):
    for instruction in _instructions(df, "CMD"):
        if not instruction.json:
            yield ctx.report(instruction.start, instruction.end, "CMD in shell form",
                             fix=Fix("JSON form", (Edit(instruction.start, instruction.end, "CMD []"),),
                                     Applicability.DISPLAY))


def breaker(df, ctx):
    """`LABEL broken=heredoc` gets an unterminated heredoc after it; `LABEL broken=keyword` an unknown keyword."""
    for instruction in _instructions(df, "LABEL"):
        value = instruction.rest.text.strip()
        insert = {"broken=heredoc": "\nRUN <<EOF", "broken=keyword": "\nBOGUS x"}.get(value)
        if insert:
            yield ctx.report(instruction.start, instruction.end, "breaks the file",
                             fix=Fix("break", (Edit(instruction.end, instruction.end, insert),)))


def pin_requirements(df, ctx):
    """Every unpinned line of requirements.txt gets `==1.0`: an edit of another file of the context."""
    parsed = ctx.build.requirements("requirements.txt")
    if parsed is None:
        return
    for req in parsed.requirements:
        if "==" not in req.text:
            yield ctx.report(req.start, req.end, f"{req.text} unpinned", source=parsed.source,
                             fix=Fix("pin", (Edit(req.end, req.end, "==1.0", path=parsed.source.path),)))


def dockerignore(df, ctx):
    if not ctx.build.has_ignore_file and df.instructions:
        path = str(ctx.build.root / ".dockerignore")
        yield ctx.report(0, 0, "no .dockerignore", fix=Fix("create .dockerignore", (Edit(0, 0, ".git\n", path=path),)))


def noop(df, ctx):
    for instruction in _instructions(df, "STOPSIGNAL"):
        text = ctx.source.text[instruction.start:instruction.end]
        yield ctx.report(instruction.start, instruction.end, "no-op",
                         fix=Fix("same text", (Edit(instruction.start, instruction.end, text),)))


def flip_flop(df, ctx):
    for instruction in _instructions(df, "ENV"):
        for old, new in (("A=1", "A=2"), ("A=2", "A=1")):
            if instruction.rest.text == old:
                start = instruction.rest.offsets[0]
                yield ctx.report(start, start + 3, "flip", fix=Fix("flip", (Edit(start, start + 3, new),)))


def grow(df, ctx):
    for instruction in _instructions(df, "RUN"):
        if instruction.rest.text.startswith("echo grow"):
            yield ctx.report(instruction.start, instruction.end, "never fixed",
                             fix=Fix("grow", (Edit(instruction.end, instruction.end, " grow"),)))


def comment_workdir(df, ctx):
    """A WORKDIR without `# workdir` on the line before gets that line inserted with "\\n" line breaks."""
    for instruction in _instructions(df, "WORKDIR"):
        line = instruction.start_line
        if line == 1 or ctx.source.line_text(line - 1) != "# workdir":
            yield ctx.report(instruction.start, instruction.end, "WORKDIR without comment",
                             fix=Fix("comment", (Edit(instruction.start, instruction.start, "# workdir\n"),)))


FAKES = {"ML980": add_to_copy, "ML981": expose_tcp, "ML982": shell_cmd, "ML983": breaker, "ML984": pin_requirements,
         "ML985": dockerignore, "ML986": noop, "ML987": flip_flop, "ML988": grow, "ML989": comment_workdir}


@pytest.fixture(autouse=True)
def fake_rules(monkeypatch):
    registry.all_rules()  # the real rules first, so that later imports do not clash with the fakes
    for code, check in FAKES.items():
        rule = Rule(code, f"fake-{check.__name__.replace('_', '-')}", Severity.WARNING, "x", check,
                    default_enabled=False, fix=Applicability.SAFE)
        monkeypatch.setitem(registry.RULES, code, rule)


def fix(tmp_path, text, *codes, level=Applicability.SAFE, workspace=None, name="Dockerfile", **kwargs):
    path = tmp_path / name
    path.write_bytes(text.encode()) if isinstance(text, str) else path.write_bytes(text)
    workspace = workspace or Workspace()
    source = workspace.read(str(path))
    return fix_source(source, Config(select=list(codes)), tmp_path, level, workspace, **kwargs), workspace


def test_safe_fix_applies_and_keeps_every_other_byte(tmp_path):
    text = "FROM python:3.12-slim\n# keep me  \nADD  a.py /app/\nadd b.py /b/\nCMD python a.py"
    result, workspace = fix(tmp_path, text, "ML980")
    assert result.source.text == "FROM python:3.12-slim\n# keep me  \nCOPY  a.py /app/\nCOPY b.py /b/\nCMD python a.py"
    assert [f.line for f in result.fixed] == [3, 4] and result.remaining == []
    assert result.stop == "fixpoint" and len(result.passes) == 1
    assert (tmp_path / "Dockerfile").read_text() == text  # nothing written until the workspace is
    assert workspace.write() == [str(tmp_path / "Dockerfile")]
    assert (tmp_path / "Dockerfile").read_text() == result.source.text


def test_unsafe_fixes_only_on_request_and_display_fixes_never(tmp_path):
    text = "FROM a\nEXPOSE 80\nCMD run it\n"
    safe, _ = fix(tmp_path, text, "ML981", "ML982")
    assert safe.source.text == text and not safe.fixed and len(safe.remaining) == 2
    unsafe, _ = fix(tmp_path, text, "ML981", "ML982", level=Applicability.UNSAFE)
    assert unsafe.source.text == "FROM a\nEXPOSE 80/tcp\nCMD run it\n"
    assert [f.code for f in unsafe.remaining] == ["ML982"]


@pytest.mark.parametrize("label", ["broken=heredoc", "broken=keyword"])
def test_a_fix_that_breaks_the_dockerfile_is_taken_back_and_the_others_kept(tmp_path, label):
    text = f"FROM a\nADD x /x\nLABEL {label}\nADD y /y\n"
    result, _ = fix(tmp_path, text, "ML980", "ML983")
    assert result.source.text == f"FROM a\nCOPY x /x\nLABEL {label}\nCOPY y /y\n"
    assert [f.code for f in result.rejected] == ["ML983"]
    assert [(f.code, f.fix) for f in result.remaining] == [("ML983", None)]  # reported, no longer offered
    assert result.stop == "fixpoint"


def test_a_file_buildkit_rejects_is_not_fixed(tmp_path):
    text = "FROM a\nADD x /x\nRUN <<EOF\necho\n"
    result, _ = fix(tmp_path, text, "ML980")
    assert result.stop == "unparsable" and result.source.text == text and not result.passes


def test_requirements_edits_are_relinted_through_the_overlay(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch\nnumpy==2.0\nfastapi  # web\n")
    text = "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    result, workspace = fix(tmp_path, text, "ML984")
    assert result.source.text == text
    assert len(result.fixed) == 2 and result.remaining == [] and result.stop == "fixpoint"
    assert (tmp_path / "requirements.txt").read_text() == "torch\nnumpy==2.0\nfastapi  # web\n"
    ((before, after),) = workspace.changes()
    assert before.text == "torch\nnumpy==2.0\nfastapi  # web\n"
    assert after.text == "torch==1.0\nnumpy==2.0\nfastapi==1.0  # web\n"
    workspace.write()
    assert (tmp_path / "requirements.txt").read_text() == after.text


def test_a_shared_workspace_lets_the_next_dockerfile_see_the_edits(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch\n")
    text = "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    first, workspace = fix(tmp_path, text, "ML984")
    second, _ = fix(tmp_path, text, "ML984", workspace=workspace, name="Dockerfile.gpu")
    assert len(first.fixed) == 1 and not second.fixed and second.remaining == []


def test_standard_input_applies_only_fixes_of_the_dockerfile(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch\n")
    text = "FROM python:3.12\nADD requirements.txt .\nRUN pip install -r requirements.txt\n"
    result = fix_source(SourceText("<stdin>", text), Config(select=["ML980", "ML984"]), tmp_path,
                        context_edits=False)
    assert result.source.text == text.replace("ADD", "COPY")
    assert [f.code for f in result.remaining] == ["ML984"]


def test_a_created_dockerignore_is_seen_by_the_relint_and_written_new(tmp_path):
    old_umask = os.umask(0o027)
    try:
        result, workspace = fix(tmp_path, "FROM a\n", "ML985")
        assert len(result.fixed) == 1 and result.remaining == []
        assert not (tmp_path / ".dockerignore").exists()
        ((before, after),) = workspace.changes()
        assert before is None and after.text == ".git\n"
        workspace.write()
    finally:
        os.umask(old_umask)
    assert (tmp_path / ".dockerignore").read_text() == ".git\n"
    assert stat.S_IMODE((tmp_path / ".dockerignore").stat().st_mode) == 0o640


def test_a_fix_that_changes_nothing_is_dropped(tmp_path):
    result, _ = fix(tmp_path, "FROM a\nSTOPSIGNAL SIGTERM\n", "ML986")
    assert not result.fixed and result.stop == "fixpoint" and [f.code for f in result.rejected] == ["ML986"]


def test_a_cycle_stops_the_loop(tmp_path):
    result, _ = fix(tmp_path, "FROM a\nENV A=1\n", "ML987")
    assert result.stop == "cycle" and result.source.text == "FROM a\nENV A=1\n" and len(result.passes) == 2


def test_the_loop_stops_after_max_passes(tmp_path):
    result, _ = fix(tmp_path, "FROM a\nRUN echo grow\n", "ML988")
    assert result.stop == "limit" and len(result.passes) == MAX_PASSES
    assert result.source.text == "FROM a\nRUN echo grow" + " grow" * MAX_PASSES + "\n"


def test_crlf_files_stay_crlf_even_when_a_fix_inserts_lf(tmp_path):
    text = "FROM a\r\nWORKDIR /app\r\nADD x /x"
    result, workspace = fix(tmp_path, text, "ML989", "ML980")
    assert result.source.text == "FROM a\r\n# workdir\r\nWORKDIR /app\r\nCOPY x /x"
    assert result.remaining == []
    workspace.write()
    assert (tmp_path / "Dockerfile").read_bytes() == result.source.text.encode()  # no trailing newline added


@pytest.mark.parametrize("encoding,bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe")])
def test_bom_and_encoding_are_kept(tmp_path, encoding, bom):
    text = "FROM a\nADD x /x\n"
    result, workspace = fix(tmp_path, bom + text.encode(encoding), "ML980")
    workspace.write()
    assert (tmp_path / "Dockerfile").read_bytes() == bom + "FROM a\nCOPY x /x\n".encode(encoding)


# --- writing -------------------------------------------------------------------------------------------


def test_write_atomic_keeps_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("old")
    path.chmod(0o751)
    write_atomic(str(path), b"new", b"old")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o751
    assert os.listdir(tmp_path) == ["Dockerfile"]


def test_write_atomic_writes_through_a_symlink(tmp_path):
    (tmp_path / "real").write_text("old")
    (tmp_path / "Dockerfile").symlink_to("real")
    write_atomic(str(tmp_path / "Dockerfile"), b"new", b"old")
    assert (tmp_path / "Dockerfile").is_symlink() and (tmp_path / "real").read_text() == "new"


def test_write_atomic_refuses_a_file_changed_meanwhile(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("edited by someone else")
    with pytest.raises(ChangedOnDisk, match="changed on disk"):
        write_atomic(str(path), b"new", b"old")
    assert path.read_text() == "edited by someone else"
    with pytest.raises(ChangedOnDisk):
        write_atomic(str(path), b"new", None)  # to create, but it appeared
    assert os.listdir(tmp_path) == ["Dockerfile"]


def test_workspace_checks_every_file_before_writing_any(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch\n")
    text = "FROM python:3.12\nADD requirements.txt .\nRUN pip install -r requirements.txt\n"
    result, workspace = fix(tmp_path, text, "ML980", "ML984")
    assert len(result.fixed) == 2
    (tmp_path / "requirements.txt").write_text("torch>=2\n")  # an editor saved it meanwhile
    with pytest.raises(ChangedOnDisk, match="requirements.txt: changed on disk"):
        workspace.write()
    assert (tmp_path / "Dockerfile").read_text() == text  # the Dockerfile was not written either


# --- helpers -------------------------------------------------------------------------------------------


def test_match_newlines_only_in_all_crlf_files():
    edits = [Edit(0, 0, "a\nb\r\nc"), Edit(1, 1, "x")]
    assert [e.text for e in match_newlines("l1\r\nl2\r\n", edits)] == ["a\r\nb\r\nc", "x"]
    assert match_newlines("l1\r\nl2\n", edits) == edits  # mixed: left as the fix wrote it
    assert uses_crlf("a\r\n") and not uses_crlf("a\n") and not uses_crlf("a")


def test_unified_diff_of_new_and_unterminated_files():
    before = SourceText("Dockerfile", "FROM a\nCMD x")
    after = SourceText("Dockerfile", "FROM a\nCMD [\"x\"]")
    assert unified_diff(before, after) == ("--- Dockerfile\n+++ Dockerfile\n@@ -1,2 +1,2 @@\n FROM a\n-CMD x\n"
                                           "\\ No newline at end of file\n+CMD [\"x\"]\n\\ No newline at end of file\n")
    assert unified_diff(None, SourceText(".dockerignore", ".git\n")).startswith("--- /dev/null\n+++ .dockerignore\n")


def test_build_context_reads_through_the_overlay(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch\n")
    overlay = {str(tmp_path / "requirements.txt"): SourceText("x", "torch==2.5.1\n"),
               str(tmp_path / ".dockerignore"): SourceText("y", "*.ckpt\n")}
    (tmp_path / "model.ckpt").write_text("weights")
    build = BuildContext(tmp_path, tmp_path / "Dockerfile", overlay)
    assert build.read("requirements.txt").text == "torch==2.5.1\n"
    assert build.read("requirements.txt").path == str(tmp_path / "requirements.txt")  # named as asked
    assert [r.text for r in build.requirements("requirements.txt").requirements] == ["torch==2.5.1"]
    assert build.ignore_file == tmp_path / ".dockerignore" and build.exists(".dockerignore")
    assert build.ignored("model.ckpt")
    assert dict(build.files()) == {".dockerignore": 7, "requirements.txt": 13}
    assert read_source(str(tmp_path / "requirements.txt")).text == "torch\n"  # the disk is untouched


def test_a_read_only_file_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "Dockerfile"
    path.write_text("old")
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)  # as a user without write permission
    with pytest.raises(InputError, match="read-only file"):
        write_atomic(str(path), b"new", b"old")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["Dockerfile"]
