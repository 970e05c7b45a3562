"""One pin check serves RUN arguments (ML102) and requirements lines (ML103)."""
import pytest

from dockerlint_ml.requirements import make_requirement, pin_problem


@pytest.mark.parametrize("text,problem", [
    ("torch==2.4.1", None),
    ("torch===2.4.1", None),
    ("torch", "torch has no exact version"),
    ("torch>=2,<3", "torch<3,>=2 is a range, not an exact version"),
    ("torch==2.*", "torch==2.* is a range, not an exact version"),
    ("https://example.com/p-1.0.tar.gz", "https://example.com/p-1.0.tar.gz is a URL without a hash or commit"),
    ("https://example.com/p-1.0.tar.gz#sha256=" + "a" * 64, None),
    ("git+https://github.com/o/r@" + "0" * 40 + "#egg=r", None),
    ("./local", None),
])
def test_pin_problem(text, problem):
    assert pin_problem(make_requirement(text, 1, 0, len(text))) == problem
