"""Tests for the shared apt helpers (dockerlint_ml/apt.py) behind ML104, ML202, ML203 and ML303."""
import pytest

from dockerlint_ml import apt
from dockerlint_ml.context import BuildContext
from dockerlint_ml.model import parse
from dockerlint_ml.shell import parse_script
from dockerlint_ml.text import SourceText


def cmd(text):
    return parse_script(text, 0)[0]


def dockerfile(text):
    return parse(SourceText("Dockerfile", text))


def run_instruction(text):
    return dockerfile(f"FROM ubuntu:24.04\n{text}\n").instructions[-1]


# --- which commands run apt -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,action,packages", [
    ("apt-get install -y curl", "install", ["curl"]),
    ("xargs -a /tmp/apt.txt apt-get install -y", "install", []),
    ("cat list | xargs -r -n 1 sudo apt-get install -y --no-install-recommends git", "install", ["git"]),
    ("xargs -I{} apt install -y {}", "install", ["{}"]),
])
def test_apt_commands_also_through_xargs(text, action, packages):
    found = apt.apt_commands(run_instruction(f"RUN {text}"))
    assert [(a.action, [w.value for w in a.packages]) for _, a in found][-1] == (action, packages)


def test_apt_commands_keep_the_command_index():
    found = apt.apt_commands(run_instruction("RUN apt-get update && echo hi && apt-get install -y jq"))
    assert [(index, a.action) for index, a in found] == [(0, "update"), (2, "install")]


def test_xargs_without_apt_is_not_apt():
    assert apt.apt_commands(run_instruction("RUN xargs -n1 echo")) == []


def test_action_word_is_located_after_options():
    found = apt.apt_command(cmd("apt-get -y -o Dpkg::Use-Pty=0 install curl"))
    word = apt.action_word(found)
    assert word.value == "install" and word.start == len("apt-get -y -o Dpkg::Use-Pty=0 ")


@pytest.mark.parametrize("text,expected", [
    ("apt-get install -f", True),
    ("apt-get -f install -y", True),
    ("apt-get install --fix-broken -y", True),
    ("apt-get install -f -y ./x.deb", False),
    ("apt-get install -y curl", False),
])
def test_is_fix_only(text, expected):
    assert apt.is_fix_only(apt.apt_command(cmd(text))) is expected


# --- package lists: written, removed, mounted -------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("apt-get update", True),
    ("apt -qq update", True),
    ("/usr/bin/apt-get -y update", True),
    ("add-apt-repository -y ppa:deadsnakes/ppa", True),
    ("add-apt-repository --no-update ppa:deadsnakes/ppa", False),
    ("add-apt-repository -n ppa:deadsnakes/ppa", False),
    ("apt-get install -y curl", False),
    ("echo apt-get update", False),
])
def test_updates_lists(text, expected):
    assert apt.updates_lists(cmd(text)) is expected


@pytest.mark.parametrize("text", [
    "rm -rf /var/lib/apt/lists/*",
    "rm -rf /var/lib/apt/lists",
    "rm -rf /var/lib/apt/lists/",
    "rm -fr -- /var/cache/apt/* /var/lib/apt/lists/*",
    "rm -rf /var/lib/apt/*",
    "rm -rf /var/lib/apt",
    "rm -Rf /var/lib/apt/lists/*_*",
    "rm -rf '/var/lib/apt/lists/'*",
    "apt-get dist-clean",
    "find /var/cache/apt/archives /var/lib/apt/lists -not -name lock -type f -delete",
    "/tmp/clean-layer.sh",
    "bash /usr/local/sbin/cleanup.sh",
])
def test_removes_lists(text):
    assert apt.removes_lists(cmd(text))


@pytest.mark.parametrize("text", [
    "rm -rf /var/cache/apt/*",
    "rm -rf /var/lib/apt/lists.d",
    "rm -rf /var/lib/dpkg/*",
    "rm -rf $LISTS",
    "rm -rf lists",
    "apt-get clean",
    "find /var/lib/apt/lists -type f",
    "echo rm -rf /var/lib/apt/lists/*",
    "./build.sh",
])
def test_does_not_remove_lists(text):
    assert not apt.removes_lists(cmd(text))


@pytest.mark.parametrize("flags,expected", [
    ("--mount=type=cache,target=/var/lib/apt", True),
    ("--mount=type=cache,target=/var/lib/apt/lists,sharing=locked", True),
    ("--mount=type=tmpfs,target=/var/lib/apt/lists", True),
    ('--mount=type=cache,target="/var/lib/apt"', True),
    ("--mount=type=cache,dst=/var/lib/apt/", True),
    ("--mount=type=cache,target=/var/cache/apt", False),
    ("--mount=type=bind,target=/var/lib/apt", False),
    ("--mount=type=cache,target=/", False),
    ("--mount=type=cache,target=/var/lib/apt/lists/partial", False),
])
def test_lists_mounted(flags, expected):
    assert apt.lists_mounted(run_instruction(f"RUN {flags} apt-get update")) is expected


@pytest.mark.parametrize("text,expected", [
    ("./install.sh", True),
    ("/tmp/clean-layer.sh", True),
    ("./aws/install", True),
    ("bash setup.sh", True),
    (". /etc/profile.d/env.sh", True),
    ("$APT_INSTALL curl", True),
    ("/usr/bin/python3 x.py", False),
    ("/opt/conda/bin/pip install x", False),
    ("apt-get install -y x", False),
    ("echo hi", False),
])
def test_runs_script(text, expected):
    assert apt.runs_script(cmd(text)) is expected


# --- APT::Install-Recommends in apt.conf ----------------------------------------------------------------------

def _last_install(df):
    instruction = df.instructions[-1]
    return instruction, [a for _, a in apt.apt_commands(instruction) if a.action == "install"][-1].command


@pytest.mark.parametrize("text", [
    "RUN echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99x\nRUN apt-get install -y curl",
    "RUN echo \"APT::Install-Recommends \\\"false\\\";\" > /etc/apt/apt.conf.d/99x && apt-get install -y curl",
    "RUN <<EOF\ncat > /etc/apt/apt.conf.d/99x <<CONF\nAPT::Install-Recommends \"no\";\nCONF\napt-get install -y curl\nEOF",
    "COPY <<EOF /etc/apt/apt.conf.d/99x\nAPT::Install-Recommends \"false\";\nEOF\nRUN apt-get install -y curl",
])
def test_no_recommends_config_before(text):
    df = dockerfile(f"FROM debian:bookworm-slim\n{text}\n")
    instruction, install = _last_install(df)
    assert apt.no_recommends_config_before(df, instruction, install)


@pytest.mark.parametrize("text", [
    "RUN apt-get install -y curl && echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99x",
    "RUN apt-get -o APT::Install-Recommends=false install -y jq\nRUN apt-get install -y curl",
    "RUN echo 'APT::Install-Recommends \"1\";' > /etc/apt/apt.conf.d/99x\nRUN apt-get install -y curl",
])
def test_no_recommends_config_not_before(text):
    df = dockerfile(f"FROM debian:bookworm-slim\n{text}\n")
    instruction, install = _last_install(df)
    assert not apt.no_recommends_config_before(df, instruction, install)


def test_no_recommends_config_follows_the_stage_lineage_only():
    df = dockerfile(
        "FROM debian:bookworm-slim AS other\n"
        "RUN echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99x\n"
        "FROM debian:bookworm-slim AS base\n"
        "RUN echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99x\n"
        "FROM base\n"
        "RUN apt-get install -y curl\n"
        "FROM debian:bookworm-slim\n"
        "RUN apt-get install -y curl\n"
    )
    inherited, alone = df.stages[2].instructions[-1], df.stages[3].instructions[-1]
    assert apt.no_recommends_config_before(df, inherited, inherited.commands[0])
    assert not apt.no_recommends_config_before(df, alone, alone.commands[0])


def test_no_recommends_config_copied_from_the_context(tmp_path):
    (tmp_path / "apt").mkdir()
    (tmp_path / "apt" / "99slim").write_text('APT::Install-Recommends "false";\n')
    (tmp_path / "apt" / "other").write_text('Acquire::Retries "3";\n')
    build = BuildContext(tmp_path)
    for copy in ("COPY apt/99slim /etc/apt/apt.conf.d/", "COPY apt/ /etc/apt/apt.conf.d/",
                 "COPY apt/* /etc/apt/apt.conf.d/"):
        df = dockerfile(f"FROM debian:bookworm-slim\n{copy}\nRUN apt-get install -y curl\n")
        instruction, install = _last_install(df)
        assert apt.no_recommends_config_before(df, instruction, install, build), copy
    for copy in ("COPY apt/other /etc/apt/apt.conf.d/", "COPY apt/99slim /opt/"):
        df = dockerfile(f"FROM debian:bookworm-slim\n{copy}\nRUN apt-get install -y curl\n")
        instruction, install = _last_install(df)
        assert not apt.no_recommends_config_before(df, instruction, install, build), copy
