"""ML708 missing-assume-yes: a package manager that may stop at a confirmation prompt no build can answer."""
import re

from dockerlint_ml.apt import action_word, apt_commands
from dockerlint_ml.edits import add_option
from dockerlint_ml.finding import Applicability, Fix, Severity
from dockerlint_ml.installs import DNF_TOOLS, ZYPPER_TOOLS, package_command
from dockerlint_ml.layers import environment
from dockerlint_ml.registry import rule

# apt actions that ask "Do you want to continue? [Y/n]" when they change more than what was named.
APT_PROMPTING = frozenset({
    "install", "reinstall", "remove", "purge", "autoremove", "autopurge", "upgrade", "dist-upgrade", "full-upgrade",
    "build-dep", "satisfy",
})
# yum / dnf / microdnf actions that install packages (hadolint's DL3030/DL3038 set).
DNF_PROMPTING = frozenset({"install", "group install", "module install"})
# microdnf never asks: its -y "does nothing, we always assume yes".
_ASKING_DNF_TOOLS = DNF_TOOLS - {"microdnf"}
ZYPPER_PROMPTING = frozenset({"install", "remove", "source-install", "patch"})
_APT_YES_CONFIG = re.compile(r"APT::Get::Assume-Yes=(true|yes|1|on)", re.IGNORECASE)


@rule("ML708", "missing-assume-yes", Severity.WARNING,
      "apt-get, yum, dnf or zypper may ask for confirmation, which a build cannot give, so the build aborts.",
      aliases=("DL3014", "DL3030", "DL3034", "DL3038"), fix=Applicability.SAFE)
def check(df, ctx):
    for instruction in df.instructions:
        for _, apt in apt_commands(instruction):
            if apt.action in APT_PROMPTING and not _apt_yes(apt):
                note = ""
                if "DEBIAN_FRONTEND" in environment(instruction, apt.command):
                    note = " (DEBIAN_FRONTEND=noninteractive silences debconf's questions, not this prompt)"
                fix = _fix(instruction, action_word(apt) or apt.command.argv[0], "-y")
                yield _report(ctx, apt.command, f"{apt.tool} {apt.action}", "-y", "add -y" + note, fix)
        for command in instruction.commands:
            found = package_command(command)
            if found is None:
                continue
            if found.tool in _ASKING_DNF_TOOLS and found.action in DNF_PROMPTING and not _dnf_yes(found):
                yield _report(ctx, command, found.label, "-y", "add -y", _fix(instruction, command.argv[0], "-y"))
            elif found.tool in ZYPPER_TOOLS and found.action in ZYPPER_PROMPTING and not _zypper_yes(found):
                yield _report(ctx, command, found.label, "-n or -y",
                              f"write `zypper -n {found.action_word.value}` (or -y after the action; -n after it "
                              "means --name)", _fix(instruction, command.argv[0], "-n"))


def _apt_yes(apt) -> bool:
    """-y / --yes / --assume-yes, apt-get's quiet level 2 (-qq, -q=2, --quiet=2) or `-o APT::Get::Assume-Yes=true`."""
    if apt.assume_yes or any(_APT_YES_CONFIG.fullmatch(w.value) for w in apt.config):
        return True
    return apt.tool == "apt-get" and any(w.value in ("-q=2", "--quiet=2") for w in apt.command.argv)


def _dnf_yes(found) -> bool:
    return bool(found.flags & {"-y", "--assumeyes"})


def _zypper_yes(found) -> bool:
    """`zypper -n install` (global --non-interactive) or `zypper install -y` (--no-confirm). After the action,
    -n means --name, which answers nothing."""
    return bool(found.global_flags & {"-n", "--non-interactive"} or found.flags & {"-y", "--no-confirm"})


def _fix(instruction, word, option: str) -> Fix | None:
    """`apt-get install -y` (after the action), `dnf -y install` and `zypper -n install` (global options, right
    after the program: valid for every action)."""
    edit = add_option(instruction, word, option)
    return Fix(f"Add {option}", (edit,)) if edit is not None else None


def _report(ctx, command, label: str, missing: str, advice: str, fix: Fix | None):
    return ctx.report(command.argv[0].start, command.end,
                      f"`{label}` without {missing} stops at its \"continue? [Y/n]\" prompt whenever it has more to "
                      f"do than install exactly the packages named, and with no terminal to answer the build aborts: "
                      f"{advice}", fix=fix)
