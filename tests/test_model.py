"""The model: stages, image references, variables, mounts and path arguments."""
from dockerlint_ml.model import parse, parse_image
from dockerlint_ml.text import SourceText


def model(text):
    return parse(SourceText("Dockerfile", text))


def test_image_reference_parts():
    ref = parse_image("registry.example.com:5000/team/torch:2.4@sha256:abc", {})
    assert (ref.registry, ref.name, ref.tag, ref.digest) == ("registry.example.com:5000", "team/torch", "2.4", "sha256:abc")
    ref = parse_image("python:${PY}-slim", {"PY": "3.11"})
    assert (ref.registry, ref.name, ref.tag, ref.unresolved) == (None, "python", "3.11-slim", False)
    assert parse_image("${BASE}", {}).unresolved


def test_stages_variables_and_lineage():
    df = model("ARG PY=3.11\nFROM python:${PY} AS base\nENV A=1\nARG B=2\n"
               "FROM python:3.11 AS builder\nFROM base\nRUN echo\n")
    base, builder, final = df.stages
    assert final.parent is base and df.final_lineage == [final, base]
    assert not df.reaches_final(builder)
    assert final.instructions[-1].vars == {"A": "1"}  # ENV crosses FROM <stage>, ARG does not
    assert base.instructions[-1].vars == {"A": "1"}


def test_mounts_normalise_aliases():
    run = model("FROM a\nRUN --mount=type=bind,src=deps,dst=/tmp/deps --mount=type=cache,target=/root/.cache x\n"
                ).instructions[1]
    assert run.mounts == [{"type": "bind", "source": "deps", "target": "/tmp/deps"},
                          {"type": "cache", "target": "/root/.cache"}]


def test_paths_unquote_and_expand():
    df = model('FROM a\nARG DIR=/app\nCOPY "requirements.txt" ${DIR}/\nCOPY ["a b", "$DIR"]\nWORKDIR "$DIR/x"\n')
    copy, json_copy, workdir = df.instructions[2:]
    assert [value for _, value in copy.paths] == ["requirements.txt", "/app/"]
    assert [value for _, value in json_copy.paths] == ["a b", "/app"]
    assert [value for _, value in workdir.paths] == ["/app/x"]
    word, _ = copy.paths[0]
    assert df.source.text[word.start:word.end] == '"requirements.txt"'
