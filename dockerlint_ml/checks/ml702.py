"""ML702 cd-in-run: a RUN that changes directory with `cd` instead of a WORKDIR."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import known
from dockerlint_ml.model import expand
from dockerlint_ml.registry import rule


@rule("ML702", "cd-in-run", Severity.WARNING,
      "A RUN changes directory with `cd`, which lasts only for that RUN; WORKDIR says it once for all.",
      aliases=("DL3003",))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword != "RUN":
            continue  # ONBUILD RUN runs in another build, as hadolint also leaves it
        command = next((c for c in instruction.commands if c.name == "cd"), None)
        if command is None:
            continue
        target = " ".join(w.value for w in command.argv[1:]) or "~"
        path, resolved = expand(target, known(instruction.vars))  # `cd ${ROOT}` with ENV ROOT=/stable-diffusion
        where = f"WORKDIR {path}" if resolved and path.startswith("/") else "an absolute WORKDIR"
        yield ctx.report(command.argv[0].start, command.end,
                         f"`cd {target}` changes directory only until this RUN ends, so later instructions run "
                         f"elsewhere and readers must trace every cd to know where files go: use {where} before "
                         "the RUN (or `make -C dir`, `git -C dir`, `pip install ./dir`) instead")
