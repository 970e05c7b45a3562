"""ML725 pointless-command: a RUN runs an interactive or runtime-only command that means nothing in a build."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule

# hadolint's DL3001 list (ifconfig is in its message, not its code): why each is pointless while building.
POINTLESS = {
    "ssh": "opens a remote session, which a build cannot use interactively",
    "vim": "is an interactive editor, and a build has no terminal",
    "shutdown": "would stop a machine; a build step is a container with no init to stop",
    "service": "controls a daemon that dies when this RUN ends; a container of the image does not start it",
    "ps": "lists the processes of a throwaway build container",
    "free": "shows the memory of the build machine, not of where the image will run",
    "top": "is an interactive process monitor, and a build has no terminal",
    "kill": "signals processes of a throwaway build container",
    "mount": "mounts into a build container that keeps no mounts (use RUN --mount)",
    "ifconfig": "shows the network of the build container, not of where the image will run",
}


@rule("ML725", "pointless-command", Severity.INFO,
      "A RUN runs a command such as ssh, vim, service, ps or kill, which has no lasting effect in a build.",
      aliases=("DL3001",))
def check(df, ctx):
    for instruction in df.instructions:
        for command in instruction.commands:
            why = POINTLESS.get(command.name)
            # A lone word inside a construct the parser does not model is likely data (`PKGS=(vim curl)`).
            if why is None or (command.unknown and len(command.argv) == 1):
                continue
            word = command.argv[0]
            yield ctx.report(word.start, command.end,
                             f"`{command.name}` {why}: remove it, or move it to the container's entrypoint if it "
                             "must run when the image starts")
