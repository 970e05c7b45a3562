"""ML304 pip-without-cache-mount: a package install with no BuildKit cache mount, so rebuilds download again."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import cache_use, mounted
from dockerlint_ml.registry import rule


@rule("ML304", "pip-without-cache-mount", Severity.INFO,
      "A pip, uv or conda install runs without a cache mount, so every rebuild downloads its packages again.")
def check(df, ctx):
    for instruction in df.instructions:
        reported = set()  # one mount serves every install of the RUN that uses that cache
        for command in instruction.commands:
            use = cache_use(instruction, command)
            if use is None or use.offline or use.directory in reported:
                continue
            if mounted(instruction, use.directory, use.mount_suffixes, types=("cache",)):
                continue
            reported.add(use.directory)
            drop = ""
            if use.disabled and use.kind != "conda":
                drop = " (and drop the no-cache setting: the mount keeps the cache out of the image)"
            yield ctx.report(command.argv[0].start, command.end,
                             f"{use.label} runs without a cache mount, so every rebuild downloads all its packages "
                             f"again (GBs for torch and CUDA packages): add --mount=type=cache,target={use.directory} "
                             f"to this RUN{drop}")
