"""ML506 sudo-in-run: sudo in a RUN instruction."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule


@rule("ML506", "sudo-in-run", Severity.WARNING,
      "A RUN uses sudo; switch users with USER instead.", aliases=("DL3004",))
def check(df, ctx):
    for instruction in df.instructions:
        for command in instruction.commands:
            word = _sudo(command)
            if word is not None:
                yield ctx.report(word.start, word.end,
                                 "sudo in a RUN: the step already runs as the stage's USER (root unless changed), so "
                                 "sudo is either a no-op that needs the sudo package in the image, or a hidden switch "
                                 "to root that leaves root-owned files behind; run the step after `USER root` and "
                                 "switch back with `USER <app user>`")


def _sudo(command):
    """The `sudo` word of a command: a wrapper (`sudo -E pip …`), or the program itself given arguments
    (`sudo -i`). A lone `sudo` word is a package name in a list the tokenizer did not model (`PKGS=(sudo …)`)."""
    wrappers = command.words[:len(command.words) - len(command.argv)]
    program = command.argv[:1] if len(command.argv) > 1 else []
    for word in wrappers + program:
        if not word.assignment and not word.quoted and word.value.rsplit("/", 1)[-1] == "sudo":
            return word
    return None
