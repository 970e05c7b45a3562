"""On every real-world Dockerfile, what model.py locates in the source reads back as BuildKit's parse."""
import dockerfile as buildkit
import pytest

from conftest import corpus_params
from dockerlint_ml.model import parse
from dockerlint_ml.text import read_source

# Instructions whose BuildKit values are the whitespace-separated words of the argument text.
WORD_SPLIT = {"FROM", "COPY", "ADD", "EXPOSE", "VOLUME", "USER", "WORKDIR", "STOPSIGNAL", "ARG"}
SHELL_FORM = {"RUN", "CMD", "ENTRYPOINT"}


def assert_matches_buildkit(text: str, path: str = "Dockerfile") -> None:
    from dockerlint_ml.text import SourceText

    source = SourceText(path, text)
    expected = buildkit.parse_string(text)
    df = parse(source)
    assert df.error is None
    assert len(df.instructions) == len(expected)
    for ours, theirs in zip(df.instructions, expected):
        where = f"{path}:{theirs.start_line}"
        assert text[ours.start:ours.keyword_end].upper() == theirs.cmd.upper(), where
        assert (ours.start_line, ours.end_line) == (theirs.start_line, theirs.end_line), where
        assert [f.text for f in ours.flags] == list(theirs.flags), where
        assert ours.json == theirs.json, where
        assert ours.args == tuple(theirs.value), where
        keyword = ours.effective_keyword
        if ours.json:
            assert [w.value for w in ours.words] == list(theirs.value), where
        elif keyword in SHELL_FORM and theirs.value:
            assert ours.rest.text.strip() == theirs.value[0].strip(), where
        elif keyword in WORD_SPLIT and not theirs.heredocs:
            assert [w.value for w in ours.words] == list(theirs.value), where
        assert [(h.name, text[h.start:h.end].replace("\r\n", "\n")) for h in ours.heredocs] == [
            (h.name, h.content) for h in theirs.heredocs
        ], where


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_instructions_equal_buildkit(path):
    source = read_source(str(path))
    assert_matches_buildkit(source.text, str(path))


@pytest.mark.parametrize("text", [
    "FROM a\r\nRUN echo \\\r\n  hi\r\n",
    "# escape=`\nFROM a\nRUN echo `\n  # comment\n\n  hi\n",
    "from a as b\nrun --mount=type=cache,target=/x pip install \\\n  torch\ncopy --from=b [\"x y\", \"/z\"]\n",
    "FROM a\nRUN <<-EOF bash && cat <<\"X\"\n\techo\n\tEOF\nxx\nX\nCOPY <<EOF /a\nhello\nEOF\nCMD [\"a\"]\n",
    "FROM a\nONBUILD RUN echo hi\nHEALTHCHECK --interval=5s CMD curl x\nEXPOSE 80/tcp 443\n",
    "FROM a\nRUN echo a \\  \n  b\nENV A=1 B=\"x y\"\nLABEL a=b\n",
])
def test_edge_cases_equal_buildkit(text):
    assert_matches_buildkit(text)
