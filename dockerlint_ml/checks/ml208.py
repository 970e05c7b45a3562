"""ML208 conda-cache-in-layer: a conda/mamba/micromamba install that leaves its package cache in the image."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import cache_kept
from dockerlint_ml.registry import rule


@rule("ML208", "conda-cache-in-layer", Severity.WARNING,
      "A conda, mamba or micromamba install keeps its package cache (pkgs) in a layer of the final image.")
def check(df, ctx):
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            for index, command in enumerate(instruction.commands):
                use = cache_kept(instruction, index)
                if use is None or use.kind != "conda" or use.offline:
                    continue
                clean = "micromamba clean --all --yes" if use.tool == "micromamba" else f"{use.tool} clean -afy"
                yield ctx.report(command.argv[0].start, command.end,
                                 f"{use.label} leaves the downloaded packages in {use.directory} in this layer, "
                                 f"often GBs for pytorch and CUDA packages: end the RUN with `&& {clean}`, or "
                                 f"mount a cache there (--mount=type=cache,target={use.directory})")
