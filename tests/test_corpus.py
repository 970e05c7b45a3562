"""Every real-world Dockerfile lints without an error: findings or none, never exit 2, never a crash."""
import pytest

from conftest import corpus_params
from dockerlint_ml.config import Config
from dockerlint_ml.engine import lint_source
from dockerlint_ml.text import read_source


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_file_lints(path):
    config = Config(select=["ALL"])
    result = lint_source(read_source(str(path)), config)
    for finding in result.findings:
        assert finding.line >= 1 and finding.column >= 1
        assert (finding.end_line, finding.end_column) >= (finding.line, finding.column)
        assert finding.message
