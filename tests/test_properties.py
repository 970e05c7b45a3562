"""Generated and mutated Dockerfiles never crash the linter, and findings point inside the file."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerlint_ml.config import Config
from dockerlint_ml.engine import lint_source
from dockerlint_ml.text import SourceText

FRAGMENTS = [
    "FROM python:3.11-slim", "FROM ${BASE}", "FROM base AS build", "ARG BASE=python", "RUN pip install torch",
    "RUN bash -c \"pip install 'numpy>=1' && apt-get install -y gcc\"", "RUN <<EOF", "EOF", "echo hi",
    "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt", "COPY . .",
    "COPY --from=build /a /b", "ENV PIP_NO_CACHE_DIR=1", "WORKDIR /app", "# dlint ignore=ML102", "\\",
    "RUN apt-get update && apt-get install -y build-essential", "CMD [\"python\", \"app.py\"]", "ONBUILD RUN x",
    "# escape=`", "RUN echo `", "  && echo more", "RUN if true; then pip install a; fi", "'", "\"", "$(", "\t",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)), max_size=25),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_generated_dockerfiles_never_crash(lines, newline, tmp_path):
    text = newline.join(lines)
    source = SourceText(str(tmp_path / "Dockerfile"), text)
    result = lint_source(source, Config(select=["ALL"]), tmp_path)
    for finding in result.findings:
        if finding.path == source.path:
            assert 1 <= finding.line <= source.line_count
