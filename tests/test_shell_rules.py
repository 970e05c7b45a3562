"""Shell and package-manager rules (ML707-ML730, ML305's DL3010 part) and the recognisers they use:
apk, yum/dnf/microdnf, zypper, npm, yarn, gem and go in installs.package_command."""
import pytest

from dockerlint_ml.checks import ml707, ml719
from dockerlint_ml.config import Config
from dockerlint_ml.engine import lint_source
from dockerlint_ml.installs import download, download_options, package_command
from dockerlint_ml.shell import parse_script
from dockerlint_ml.text import SourceText


def cmd(text):
    return parse_script(text, 0)[0]


def values(words):
    return [w.value for w in words]


def lint(text, code, options=None, tmp_path=None):
    config = Config(select=[code])
    if options:
        config.options = {code: options}
    return [f for f in lint_source(SourceText("Dockerfile", text), config, tmp_path).findings if f.code == code]


# --- package_command ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,tool,action,packages,global_flags", [
    ("apk add --no-cache --virtual .build-deps gcc=13 -X http://mirror/edge musl-dev", "apk", "add",
     ["gcc=13", "musl-dev"], set()),
    ("apk --no-cache add curl", "apk", "add", ["curl"], {"--no-cache"}),
    ("yum -y install curl-8.6.0", "yum", "install", ["curl-8.6.0"], {"-y"}),
    ("dnf groupinstall -y 'Development Tools'", "dnf", "group install", ["Development Tools"], set()),
    ("dnf --setopt install_weak_deps=False module install -y nodejs:20", "dnf", "module install", ["nodejs:20"],
     {"--setopt"}),
    ("dnf in -y x", "dnf", "install", ["x"], set()),
    ("microdnf update -y", "microdnf", "upgrade", [], set()),
    ("/usr/bin/zypper -n in -r oss curl=8", "zypper", "install", ["curl=8"], {"-n"}),
    ("zypper --non-interactive dup", "zypper", "dist-upgrade", [], {"--non-interactive"}),
    ("npm i -g --prefix /opt express@4", "npm", "install", ["express@4"], set()),
    ("npm --loglevel error ci", "npm", "ci", [], {"--loglevel"}),
    ("yarn", "yarn", "install", [], set()),
    ("yarn --frozen-lockfile --cache-folder /tmp/y", "yarn", "install", [], {"--frozen-lockfile", "--cache-folder"}),
    ("yarn global add serve@14", "yarn", "global add", ["serve@14"], set()),
    ("yarn cache clean --all", "yarn", "cache clean", [], set()),
    ("gem install -N rails -v 7.1.4 --source https://rubygems.org", "gem", "install", ["rails"], set()),
    ("go install -ldflags '-s -w' -tags=netgo github.com/a/b@v1.2.0 ./cmd/...", "go", "install",
     ["github.com/a/b@v1.2.0", "./cmd/..."], set()),
    ("sudo -E dnf install -y x", "dnf", "install", ["x"], set()),
])
def test_package_command(text, tool, action, packages, global_flags):
    found = package_command(cmd(text))
    assert (found.tool, found.action, values(found.packages), found.global_flags) == (
        tool, action, packages, global_flags)


def test_package_command_options_and_label():
    found = package_command(cmd("zypper install -n -y --repo oss curl"))
    assert found.flags == {"-n", "-y", "--repo"} and found.global_flags == set()
    assert values(found.option_values("--repo")) == ["oss"]
    assert found.label == "zypper install"
    assert package_command(cmd("dnf groupinstall x")).label == "dnf groupinstall"
    assert package_command(cmd("dnf module install x")).label == "dnf module install"
    assert package_command(cmd("zypper in x")).label == "zypper in"
    assert package_command(cmd("yarn")).label == "yarn install"
    go = package_command(cmd("go build -o /bin/app -trimpath ."))
    assert go.action == "build"
    options = [(o.name, o.value.value if o.value else None) for o in go.options]
    assert options == [("-o", "/bin/app"), ("-trimpath", None)]


@pytest.mark.parametrize("text", ["apt-get install x", "pip install x", "echo apk add x", "gemini install x", "npx x"])
def test_not_a_package_command(text):
    assert package_command(cmd(text)) is None


def test_download_options():
    fetch = download(cmd("wget -qO- --progress=dot:giga -o /tmp/log https://x/y"))
    names = [(o.name, o.value.value if o.value else None) for o in download_options(fetch)]
    assert names == [("-q", None), ("-O", "-"), ("--progress", "dot:giga"), ("-o", "/tmp/log")]


# --- ML707 pipe-without-pipefail ------------------------------------------------------------------------

@pytest.mark.parametrize("shell,safe", [
    (("/bin/bash", "-o", "pipefail", "-c"), True),
    (("/usr/bin/bash", "-euxo", "pipefail", "-c"), True),
    (("ash", "-eo", "pipefail", "-c"), True),
    (("/bin/bash", "-c", "-o", "pipefail"), True),  # bash reads options after -c too
    (("/bin/bash", "-c"), False),
    (("/bin/bash", "-o", "errexit", "-c"), False),
    (("/bin/sh", "-o", "pipefail", "-c"), False),
    (("/bin/dash", "-o", "pipefail", "-c"), False),
])
def test_has_pipefail(shell, safe):
    assert ml707.has_pipefail(shell) is safe


def test_pipefail_shell_is_inherited_from_the_base_stage_not_other_stages():
    text = ('FROM ubuntu:22.04 AS base\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
            "FROM base\nRUN curl -fsSL https://x | tar -xz\n"
            "FROM ubuntu:22.04\nRUN curl -fsSL https://x | tar -xz\n")
    assert [f.line for f in lint(text, "ML707")] == [6]


def test_pipe_in_assignment_substitution_is_reported_at_the_word():
    text = "FROM ubuntu:22.04\nRUN V=$(curl -s https://x | jq -r .v) && echo $V\n"
    [finding] = lint(text, "ML707")
    assert "`curl` is piped into `jq`" in finding.message and finding.column == 5


def test_set_pipefail_after_the_pipe_does_not_count():
    text = "FROM ubuntu:22.04\nRUN curl -s https://x | sh && set -o pipefail\n"
    assert len(lint(text, "ML707")) == 1


# --- ML708 missing-assume-yes ---------------------------------------------------------------------------

@pytest.mark.parametrize("run,reported", [
    ("apt-get install curl", True),
    ("apt-get install -y curl", False),
    ("apt-get -qq install curl", False),
    ("apt-get -q -q install curl", False),
    ("apt-get install --quiet=2 curl", False),
    ("apt install -qq curl", True),  # quiet level 2 implies -y for apt-get only
    ("apt-get -o APT::Get::Assume-Yes=true install curl", False),
    ("apt-get update", False),
    ("apt-get clean", False),
    ("xargs -a /tmp/pkgs apt-get install", True),
    ("zypper -n install curl", False),
    ("zypper install -n curl", True),
    ("zypper refresh", False),
    ("microdnf install curl", False),
    ("tdnf install curl", True),
    ("dnf remove curl", False),
])
def test_missing_assume_yes(run, reported):
    assert bool(lint(f"FROM x\nRUN {run}\n", "ML708")) is reported


def test_debian_frontend_note_only_where_set():
    [plain] = lint("FROM x\nRUN apt-get install curl\n", "ML708")
    [noted] = lint("FROM x\nENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get install curl\n", "ML708")
    assert "DEBIAN_FRONTEND" not in plain.message and "DEBIAN_FRONTEND" in noted.message


# --- ML719 unpinned-system-package ----------------------------------------------------------------------

@pytest.mark.parametrize("spec,pinned", [
    ("express", False), ("express@4.18.2", True), ("express@^4", True), ("express@>=4", True),
    ("express@latest", False), ("express@next", False), ("express@*", False), ("@scope/pkg", False),
    ("@scope/pkg@1.0.0", True), ("@scope/pkg@beta", False), ("foo.tgz", True), ("https://x/y.tar.gz", True),
    ("git+https://github.com/a/b.git", False), ("git+https://github.com/a/b.git#v1.0", True),
    ("user/repo", False), ("user/repo#4f1c2e9", True), ("github:user/repo", False),
])
def test_npm_pins(spec, pinned):
    assert ml719._npm_pinned(spec) is pinned


@pytest.mark.parametrize("spec,pinned", [
    ("curl", False), ("python3-pip", False), ("python3.11", False), ("curl-8.6.0", True),
    ("curl-8.6.0-1.fc40", True), ("cuda-toolkit-12-4", True), ("gcc-toolset-13-gcc", True),
    ("/tmp/x.rpm", True), ("dnf-command(config-manager)", False),
])
def test_rpm_pins(spec, pinned):
    assert ml719._rpm_pinned(spec) is pinned


@pytest.mark.parametrize("spec,pinned", [
    ("golang.org/x/tools/gopls", True), ("golang.org/x/tools/gopls@v0.16.2", True), ("x@latest", False),
    ("x@master", False), ("x@4f1c2e9", True), ("x@upgrade", False),
])
def test_go_pins(spec, pinned):
    assert ml719._go_pinned(spec) is pinned


def test_system_managers_only_when_configured():
    text = "FROM x\nRUN apk add curl && npm install -g pnpm\n"
    assert [f.message.split()[0] for f in lint(text, "ML719")] == ["npm"]
    everything = {"managers": ["npm", "apk"]}
    assert sorted(f.message.split()[0] for f in lint(text, "ML719", everything)) == ["apk", "npm"]


# --- ML720 package-cache-in-layer -----------------------------------------------------------------------

@pytest.mark.parametrize("run,reported", [
    ("apk add curl", True),
    ("apk add --no-cache curl", False),
    ("apk add curl && rm -rf /var/cache/apk/*", False),
    ("apk add curl && rm -rf /var/cache/apt/*", True),
    ("--mount=type=cache,target=/var/cache apk add curl", False),
    ("--mount=type=bind,target=/var/cache/apk apk add curl", True),
    ("apk del curl", False),
    ("dnf install -y x && dnf clean all", False),
    ("dnf install -y x && dnf clean packages", True),
    ("dnf clean all && dnf install -y x", True),
    ("dnf5 install -y x && rm -rf /var/cache/libdnf5", False),
    ("yum install -y x && microdnf clean all", False),
    ("dnf remove -y x", False),
    ("zypper -n in x && zypper cc", False),
    ("zypper -n ref", True),
    ("yarn install && yarn cache clean", False),
    ("yarn build", False),
    ("yarn install --cache-folder /tmp/yc && rm -rf /tmp/yc", False),
    ("HOME=/home/app yarn install && rm -rf /home/app/.cache/yarn", False),
])
def test_package_cache(run, reported):
    assert bool(lint(f"FROM x\nRUN {run}\n", "ML720")) is reported


def test_package_cache_only_in_shipped_stages():
    text = "FROM x AS build\nRUN apk add gcc\nFROM x AS base\nRUN apk add curl\nFROM base\nCOPY --from=build /a /a\n"
    assert [f.line for f in lint(text, "ML720")] == [4]


# --- ML721, ML722, ML724 --------------------------------------------------------------------------------

def test_useradd_uid_from_arg_and_env():
    text = ("FROM x\nARG LOW=1000\nARG HIGH=300000\nENV E=100000\n"
            "RUN useradd -u $LOW a && useradd -u ${HIGH} b && useradd --uid=$E c && useradd -u $UNSET d\n")
    messages = [f.message for f in lint(text, "ML721")]
    assert [m.split()[3] for m in messages] == ["300000", "100000"]
    assert "97.2 MB" in messages[0]


def test_curl_and_wget_per_stage():
    text = ("FROM x AS a\nRUN curl -fsSLO https://x/a\nRUN wget -q https://x/b\n"
            "FROM a\nRUN wget -q https://x/c\n")
    assert [f.line for f in lint(text, "ML722")] == [3]


@pytest.mark.parametrize("run,reported", [
    ("ln -sf /bin/bash /bin/sh", True), ("ln -s /bin/bash /usr/bin/sh", True), ("ln -sfT bash /bin/sh/", True),
    ("ln -s /bin/sh /usr/local/bin/x", False), ("ln -s -t /usr/local/bin /bin/sh", False), ("ln /bin/sh", False),
])
def test_shell_symlink(run, reported):
    assert bool(lint(f"FROM x\nRUN {run}\n", "ML724")) is reported


# --- ML305, DL3010 part ---------------------------------------------------------------------------------

@pytest.mark.parametrize("copy,run,reported", [
    ("COPY m.tar.gz /tmp/", "tar -xzf /tmp/m.tar.gz -C /opt", True),
    ("COPY m.tar.gz /tmp/", "tar --extract --file=/tmp/m.tar.gz", True),
    ("COPY m.tar.gz /tmp/n.tgz", "tar xzf /tmp/n.tgz", True),
    ("COPY m.tar.gz /tmp/", "tar -tzf /tmp/m.tar.gz", False),
    ("COPY m.tar.gz /tmp/", "tar -xzf /tmp/m.tar.gz -C /opt --strip-components=1", False),
    ("COPY m.tar.gz /tmp/", "tar -xzf /tmp/m.tar.gz a/b", False),
    ("COPY m.tar.gz /tmp/", "tar -xzf /tmp/other.tar.gz", False),
    ("COPY --from=build /m.tar.gz /tmp/", "tar -xzf /tmp/m.tar.gz", False),
    ("COPY m.gz /tmp/", "gunzip /tmp/m.gz", False),
])
def test_copy_then_unpack(copy, run, reported):
    found = lint(f"FROM x\n{copy}\nRUN {run}\n", "ML305")
    assert bool(found) is reported
    if reported:
        assert found[0].line == 2 and "line 3" in found[0].message


def test_copy_then_unpack_names_the_size(tmp_path):
    (tmp_path / "m.tar.gz").write_bytes(b"\x1f\x8b" + b"\0" * 3000)
    [finding] = lint("FROM x\nCOPY m.tar.gz /tmp/\nRUN tar -xzf /tmp/m.tar.gz\n", "ML305", tmp_path=tmp_path)
    assert "(3.0 KB)" in finding.message
