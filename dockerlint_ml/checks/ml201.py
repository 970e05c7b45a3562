"""ML201 pip-cache-in-layer: pip / uv pip install that leaves its download cache in a shipped layer."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import pip_install
from dockerlint_ml.layers import cache_kept
from dockerlint_ml.registry import rule


@rule("ML201", "pip-cache-in-layer", Severity.WARNING,
      "pip or `uv pip` install keeps its download cache in a layer of the final image.", aliases=("DL3042",))
def check(df, ctx):
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            for index, command in enumerate(instruction.commands):
                install = pip_install(command)
                if install is None or cache_kept(instruction, index) is None:
                    continue
                word = command.argv[0]
                if install.tool == "uv":
                    advice = "add --no-cache (or UV_NO_CACHE=1, or --mount=type=cache,target=/root/.cache/uv)"
                else:
                    advice = "add --no-cache-dir (or --mount=type=cache,target=/root/.cache/pip)"
                yield ctx.report(word.start, command.end,
                                 f"{install.tool} install keeps its download cache in this layer, often hundreds "
                                 f"of MB for ML wheels: {advice}")
