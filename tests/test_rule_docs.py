"""Every tagged example in rules/MLNNN.md runs: bad fires exactly at its `# expect:` lines, good is clean,
and `fixed` / `fixed unsafe` is exactly what `dlint fix` (`--unsafe-fixes`) makes of the bad block before it."""
from pathlib import Path

import pytest
import yaml

from dockerlint_ml.config import Config, from_mapping
from dockerlint_ml.docs import examples, expected_marks, rules_dir
from dockerlint_ml.engine import lint_source
from dockerlint_ml.finding import Applicability
from dockerlint_ml.fixer import fix_source
from dockerlint_ml.text import read_source


def doc_examples():
    for doc in sorted(rules_dir().glob("ML*.md")):
        for example in examples(doc.read_text(encoding="utf-8")):
            if example.kind in ("bad", "good"):
                yield pytest.param(doc.stem, example, id=f"{doc.stem}-{example.kind}-line{example.line}")


def fixed_examples():
    for doc in sorted(rules_dir().glob("ML*.md")):
        for example in examples(doc.read_text(encoding="utf-8")):
            if example.kind.startswith("fixed"):
                kind = example.kind.replace(" ", "-")
                yield pytest.param(doc.stem, example, id=f"{doc.stem}-{kind}-line{example.line}")


def prepare(code, example, tmp_path):
    """Write the example's files and Dockerfile into `tmp_path`; its Dockerfile path and config (only `code`)."""
    for relpath, body in example.files.items():
        target = tmp_path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(example.dockerfile, encoding="utf-8")
    config = from_mapping(yaml.safe_load(example.config) or {}) if example.config else Config()
    config.select = [code]
    return dockerfile, config


def run_example(code, example, tmp_path):
    dockerfile, config = prepare(code, example, tmp_path)
    return lint_source(read_source(str(dockerfile)), config, tmp_path)


def anchor(result, finding, tmp_path):
    """(file, line) a finding is expected at: its instruction's first line in the Dockerfile."""
    path = Path(finding.path).resolve().relative_to(tmp_path.resolve()).as_posix()
    if path == "Dockerfile":
        for instruction in result.dockerfile.instructions:
            if instruction.start_line <= finding.line <= instruction.end_line:
                return path, instruction.start_line
    return path, finding.line


@pytest.fixture(autouse=True)
def _fake_docker(monkeypatch):
    """Fixes that ask the docker client (ML101's --pin-digests) get a stand-in: tests/data/fake-docker."""
    monkeypatch.setenv("DLINT_DOCKER", str(Path(__file__).resolve().parent / "data" / "fake-docker"))


@pytest.mark.parametrize("code,example", list(doc_examples()))
def test_rule_doc_example(code, example, tmp_path):
    result = run_example(code, example, tmp_path)
    actual = {anchor(result, f, tmp_path) for f in result.findings if f.code == code}
    expected = {("Dockerfile", line) for line, c in expected_marks(example.dockerfile) if c == code}
    for relpath, body in example.files.items():
        expected |= {(relpath, line) for line, c in expected_marks(body) if c == code}
    if example.kind == "bad":
        assert expected, "a bad example must mark what it expects with `# expect: MLNNN`"
        assert actual == expected, [f"{f.path}:{f.line}: {f.message}" for f in result.findings]
    else:
        assert not actual, [f"{f.path}:{f.line}: {f.message}" for f in result.findings]


@pytest.mark.parametrize("code,example", list(fixed_examples()))
def test_rule_doc_fixed_example(code, example, tmp_path):
    assert example.bad is not None, "a fixed block must come right after the bad block it fixes"
    dockerfile, config = prepare(code, example.bad, tmp_path)
    level = Applicability.UNSAFE if example.kind == "fixed unsafe" else Applicability.SAFE
    result = fix_source(read_source(str(dockerfile)), config, tmp_path, level)
    assert result.fixed, "the bad block has no fix at this level: drop the fixed block or fix the rule"
    assert result.source.text == example.dockerfile
    assert result.stop == "fixpoint", f"the fix loop stopped at a {result.stop}"


@pytest.mark.parametrize("doc", sorted(rules_dir().glob("ML*.md")), ids=lambda p: p.stem)
def test_every_rule_doc_has_bad_and_good_examples(doc):
    kinds = {example.kind for example in examples(doc.read_text(encoding="utf-8"))}
    assert {"bad", "good"} <= kinds


def test_fixed_blocks_belong_to_the_bad_block_before_them():
    doc = "\n".join([
        "```text file=requirements.txt", "torch", "```",
        "```yaml config", "options: {}", "```",
        "```dockerfile bad", "FROM a", "```",
        "```dockerfile fixed", "FROM b", "```",
        "```dockerfile fixed unsafe", "FROM c", "```",
        "```dockerfile good", "FROM d", "```",
        "```dockerfile fixed", "FROM e", "```", ""])
    bad, fixed, unsafe, good, orphan = examples(doc)
    assert fixed.bad is bad and unsafe.bad is bad and orphan.bad is None
    assert fixed.files == {"requirements.txt": "torch\n"} and fixed.config == "options: {}\n"
    assert (fixed.kind, unsafe.kind, fixed.dockerfile) == ("fixed", "fixed unsafe", "FROM b\n")
