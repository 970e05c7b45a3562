"""Recognise package tools in a shell Command: pip/uv, conda/mamba/micromamba, apt, curl/wget, and (one
recogniser, `package_command`) apk, yum/dnf/microdnf, zypper, npm, yarn, gem and go.

Every recogniser returns None for a command it does not recognise, and keeps Word references (with
their source offsets) so rules can report and fix the exact text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockerlint_ml.shell import Command, Option, Word, parse_args

_PIP_NAME = re.compile(r"pip(\d+(\.\d+)*)?")
_PYTHON_NAME = re.compile(r"python(\d+(\.\d+)*)?")


def _basename(word: Word) -> str:
    return word.value.rsplit("/", 1)[-1]


def _values(options: list[Option], *names: str) -> list[Word]:
    return [o.value for o in options if o.name in names and o.value is not None]


class _HasOptions:
    """Lookup helpers over `options`: long option name -> values (None for a flag)."""

    options: dict[str, list[Word | None]]

    def has_option(self, name: str) -> bool:
        return name in self.options

    def option_values(self, name: str) -> list[Word]:
        return [v for v in self.options.get(name, []) if v is not None]

    @property
    def no_cache(self) -> bool:
        """--no-cache-dir (pip) or --no-cache / -n (uv); uv accepts both spellings, pip any unique prefix."""
        return self.has_option("--no-cache-dir") or self.has_option("--no-cache")


def _options_dict(options: list[Option], aliases: dict[str, str]) -> dict[str, list[Word | None]]:
    """Options keyed by long name: short and alternate spellings are mapped through `aliases`."""
    result: dict[str, list[Word | None]] = {}
    for option in options:
        result.setdefault(aliases.get(option.name, option.name), []).append(option.value)
    return result


# ---------------------------------------------------------------------------------------------------------
# pip and uv

_PIP_VALUED = frozenset({
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-c", "--constraint", "-r", "--requirement",
    "-e", "--editable", "-t", "--target", "--prefix", "--root", "--src", "--upgrade-strategy", "--platform",
    "--python-version", "--implementation", "--abi", "--no-binary", "--only-binary", "--progress-bar",
    "--trusted-host", "--cache-dir", "--log", "--proxy", "--retries", "--timeout", "--exists-action",
    "--global-option", "-C", "--config-settings", "--report", "--python", "--root-user-action", "--use-feature",
    "--use-deprecated", "--cert", "--client-cert", "--log-file", "--keyring-provider",
})
_UV_VALUED = _PIP_VALUED | frozenset({
    "--index", "--default-index", "--index-strategy", "-p", "--torch-backend", "--extra", "--group",
    "--resolution", "--prerelease", "--link-mode", "--reinstall-package", "--upgrade-package", "-P",
    "--refresh-package", "--config-setting", "--no-binary-package", "--no-build-package", "--overrides",
    "--override", "--build-constraints", "--build-constraint", "--exclude-newer", "--requirements",
    "--constraints", "--python-platform", "--directory", "--project", "--config-file", "--color",
    "--allow-insecure-host", "--python-preference", "--only-group", "--no-group", "--package",
    "--no-install-package", "--exclude", "--excludes",
})
# Short and alternate spellings -> the long name used as key (shared by pip and uv where they agree).
_PIP_ALIASES = {
    "-i": "--index-url", "-f": "--find-links", "-U": "--upgrade", "-q": "--quiet", "-v": "--verbose",
    "-t": "--target", "-r": "--requirement", "-c": "--constraint", "-e": "--editable", "-C": "--config-settings",
    "-I": "--ignore-installed", "--no-cache": "--no-cache-dir",
}
_UV_ALIASES = {
    **_PIP_ALIASES, "-n": "--no-cache", "--no-cache": "--no-cache", "-p": "--python", "-P": "--upgrade-package",
    "--requirements": "--requirement", "--constraints": "--constraint", "-C": "--config-setting",
    "--config-settings": "--config-setting", "--overrides": "--override", "--build-constraints": "--build-constraint",
}


@dataclass
class PipInstall(_HasOptions):
    """`pip install` (any pip, `python -m pip`) or `uv pip install`."""

    command: Command
    tool: str  # 'pip' or 'uv'
    packages: list[Word]  # requirement specifier arguments only
    requirement_files: list[Word]
    constraint_files: list[Word]
    editables: list[Word]
    options: dict[str, list[Word | None]] = field(default_factory=dict)

    @property
    def index_urls(self) -> list[Word]:
        """Values of --index-url/-i, --extra-index-url and uv's --index and --default-index."""
        names = ("--index-url", "--extra-index-url", "--index", "--default-index")
        return [v for name in names for v in self.option_values(name)]


@dataclass
class UvSync(_HasOptions):
    """`uv sync`."""

    command: Command
    options: dict[str, list[Word | None]] = field(default_factory=dict)


def python_module(argv: list[Word]) -> tuple[str, list[Word]] | None:
    """For `python [opts] -m MODULE args`: (MODULE, args); None for a script or `-c`."""
    i = 1
    while i < len(argv):
        value = argv[i].value
        if value == "-m" and i + 1 < len(argv):
            return argv[i + 1].value, argv[i + 2:]
        if value.startswith("-m") and len(value) > 2:
            return value[2:], argv[i + 1:]
        if not value.startswith("-") or value.startswith("-c"):
            return None
        i += 2 if value in ("-W", "-X") else 1
    return None


def pip_tool(cmd: Command) -> tuple[str, list[Word]] | None:
    """('pip' | 'uv', the words after `pip` / `uv`) for pip, python -m pip, uv and python -m uv."""
    argv = cmd.argv
    if not argv:
        return None
    name = cmd.name
    if _PIP_NAME.fullmatch(name):
        return "pip", argv[1:]
    if name == "uv":
        return "uv", argv[1:]
    if _PYTHON_NAME.fullmatch(name):
        module = python_module(argv)
        if module and module[0] in ("pip", "uv"):
            return module
    return None


def pip_install(cmd: Command) -> PipInstall | None:
    """`pip install ...` in any of its spellings, or `uv pip install ...`; None otherwise."""
    found = pip_tool(cmd)
    if found is None:
        return None
    tool, words = found
    valued, aliases = (_UV_VALUED, _UV_ALIASES) if tool == "uv" else (_PIP_VALUED, _PIP_ALIASES)
    options, positionals = parse_args(words, valued)
    subcommand = ["pip", "install"] if tool == "uv" else ["install"]
    if [w.value for w in positionals[:len(subcommand)]] != subcommand:
        return None
    by_name = _options_dict(options, aliases)
    return PipInstall(
        command=cmd,
        tool=tool,
        packages=positionals[len(subcommand):],
        requirement_files=[v for v in by_name.get("--requirement", []) if v is not None],
        constraint_files=[v for v in by_name.get("--constraint", []) if v is not None],
        editables=[v for v in by_name.get("--editable", []) if v is not None],
        options=by_name,
    )


def uv_sync(cmd: Command) -> UvSync | None:
    """`uv sync [options]` (also `python -m uv sync`); None otherwise."""
    found = pip_tool(cmd)
    if found is None or found[0] != "uv":
        return None
    options, positionals = parse_args(found[1], _UV_VALUED)
    if not positionals or positionals[0].value != "sync":
        return None
    return UvSync(cmd, _options_dict(options, _UV_ALIASES))


# ---------------------------------------------------------------------------------------------------------
# Dependency-manifest installs (for the cache-order rule)

_PROJECT_TOOLS = {
    "poetry": (frozenset({"-C", "--directory", "-P", "--project"}), ("install", "sync")),
    "pdm": (frozenset({"-p", "--project"}), ("install", "sync")),
    "pipenv": (frozenset(), ("install", "sync")),
}


def _is_local_project(value: str) -> bool:
    """'.', './sub', '.[extras]': a project directory, whose manifest the install reads."""
    return value == "." or value.startswith(("./", ".[")) or value == ".."


def project_install(cmd: Command) -> str | None:
    """A label like 'poetry install' or 'pip install -r requirements.txt' for an install from a manifest."""
    project = _PROJECT_TOOLS.get(cmd.name)
    if project is not None:
        _, positionals = parse_args(cmd.argv[1:], project[0])
        if positionals and positionals[0].value in project[1]:
            return f"{cmd.name} {positionals[0].value}"
        return None
    if uv_sync(cmd):
        return "uv sync"
    pip = pip_install(cmd)
    if pip is not None:
        prefix = "uv pip install" if pip.tool == "uv" else "pip install"
        if pip.requirement_files:
            return f"{prefix} -r {pip.requirement_files[0].value}"
        for editable in pip.editables:
            if _is_local_project(editable.value):
                return f"{prefix} -e {editable.value}"
        for package in pip.packages:
            if _is_local_project(package.value):
                return f"{prefix} {package.value}"
        return None
    conda = conda_command(cmd)
    if conda is not None:
        if conda.action in ("env create", "env update"):
            return f"{conda.tool} {conda.action}"
        if conda.action in ("create", "install", "update") and conda.files:
            return f"{conda.tool} {conda.action} -f"
    return None


# ---------------------------------------------------------------------------------------------------------
# conda, mamba, micromamba

_CONDA_TOOLS = frozenset({"conda", "mamba", "micromamba"})
_CONDA_VALUED = frozenset({
    "-c", "--channel", "-n", "--name", "-p", "--prefix", "-f", "--file", "-r", "--root-prefix", "--repodata-fn",
    "--solver", "--platform", "--subdir", "--rc-file", "--cwd", "--channel-priority", "--category",
})
_CONDA_PACKAGE_ACTIONS = frozenset({"install", "create", "update", "upgrade", "remove", "uninstall"})


@dataclass
class CondaCommand:
    """A conda, mamba or micromamba command."""

    command: Command
    tool: str  # 'conda', 'mamba' or 'micromamba'
    action: str  # 'install', 'create', 'clean', 'env create', 'run', ... ('' if none)
    packages: list[Word]  # package specs (for install/create/update/remove), never option values
    channels: list[Word]  # -c / --channel values
    files: list[Word]  # -f / --file values
    flags: set[str]  # every option name, combined short flags split: -afy -> {'-a', '-f', '-y'}

    @property
    def assume_yes(self) -> bool:
        return "-y" in self.flags or "--yes" in self.flags

    @property
    def clean_all(self) -> bool:
        return self.action == "clean" and ("-a" in self.flags or "--all" in self.flags)


def conda_command(cmd: Command) -> CondaCommand | None:
    """conda / mamba / micromamba (any path); None otherwise."""
    if cmd.name not in _CONDA_TOOLS:
        return None
    words = cmd.argv[1:]
    # The action comes first (global options are flags), and decides what -f means: `clean -f` is a flag.
    leading = [w for w in words if not w.value.startswith("-")][:2]
    action = leading[0].value if leading else ""
    if action == "env" and len(leading) > 1:
        action = f"env {leading[1].value}"
    valued = _CONDA_VALUED - {"-f"} if action == "clean" else _CONDA_VALUED
    options, positionals = parse_args(words, valued)
    packages = positionals[len(action.split()):] if action in _CONDA_PACKAGE_ACTIONS else []
    return CondaCommand(
        command=cmd,
        tool=cmd.name,
        action=action,
        packages=packages,
        channels=_values(options, "-c", "--channel"),
        files=_values(options, "-f", "--file") if action != "clean" else [],
        flags={o.name for o in options},
    )


# ---------------------------------------------------------------------------------------------------------
# apt-get, apt, aptitude

_APT_TOOLS = frozenset({"apt-get", "apt", "aptitude"})
_APT_VALUED = frozenset({
    "-o", "--option", "-t", "--target-release", "--default-release", "-c", "--config-file", "-a",
    "--host-architecture",
})
_NO_RECOMMENDS = re.compile(r"apt::install-recommends=(false|0|no|off)", re.IGNORECASE)


@dataclass
class AptCommand:
    """An apt-get, apt or aptitude command."""

    command: Command
    tool: str
    action: str  # 'install', 'update', 'upgrade', 'dist-upgrade', 'clean', ... ('' if none)
    packages: list[Word]  # arguments after the action, never options or option values
    flags: set[str]  # every option name, combined short flags split: -yq -> {'-y', '-q'}
    config: list[Word]  # -o / --option values, e.g. APT::Install-Recommends=false
    quiet: int  # how many -q / --quiet were given

    @property
    def assume_yes(self) -> bool:
        """-y/--yes/--assume-yes, or apt-get's -qq, which implies -y."""
        if self.flags & {"-y", "--yes", "--assume-yes"}:
            return True
        return self.tool == "apt-get" and self.quiet >= 2

    @property
    def no_install_recommends(self) -> bool:
        return "--no-install-recommends" in self.flags or any(_NO_RECOMMENDS.fullmatch(w.value) for w in self.config)


def apt_command(cmd: Command) -> AptCommand | None:
    """apt-get / apt / aptitude (any path); None otherwise."""
    if cmd.name not in _APT_TOOLS:
        return None
    options, positionals = parse_args(cmd.argv[1:], _APT_VALUED)
    return AptCommand(
        command=cmd,
        tool=cmd.name,
        action=positionals[0].value if positionals else "",
        packages=positionals[1:],
        flags={o.name for o in options},
        config=_values(options, "-o", "--option"),
        quiet=sum(1 for o in options if o.name in ("-q", "--quiet")),
    )


# ---------------------------------------------------------------------------------------------------------
# curl, wget

_CURL_VALUED = frozenset({
    "-o", "--output", "-H", "--header", "-d", "--data", "--data-binary", "--data-raw", "--data-urlencode",
    "--json", "-u", "--user", "-X", "--request", "-A", "--user-agent", "-e", "--referer", "-F", "--form",
    "-K", "--config", "-m", "--max-time", "--retry", "--retry-delay", "--retry-max-time", "--connect-timeout",
    "--cacert", "--capath", "-E", "--cert", "--key", "-x", "--proxy", "-w", "--write-out", "-T", "--upload-file",
    "--url", "-r", "--range", "-b", "--cookie", "-c", "--cookie-jar", "-C", "--continue-at", "--limit-rate",
    "--max-filesize", "--output-dir", "--resolve", "--proto", "--proto-redir", "--interface", "--netrc-file",
    "-Y", "--speed-limit", "-y", "--speed-time", "-z", "--time-cond", "-U", "--proxy-user", "--oauth2-bearer",
    "--dns-servers", "--max-redirs", "--ciphers", "--pinnedpubkey", "--stderr", "--trace", "--trace-ascii",
})
_WGET_VALUED = frozenset({
    "-O", "--output-document", "-o", "--output-file", "-a", "--append-output", "-P", "--directory-prefix",
    "-t", "--tries", "-T", "--timeout", "-w", "--wait", "-e", "--execute", "-U", "--user-agent", "-i",
    "--input-file", "--header", "--user", "--password", "-Q", "--quota", "-l", "--level", "-A", "--accept",
    "-R", "--reject", "-D", "--domains", "--ca-certificate", "--certificate", "--post-data", "--post-file",
    "-B", "--base", "-X", "-I", "--load-cookies", "--save-cookies", "--http-user", "--http-password",
})


@dataclass
class Download:
    """A curl or wget command."""

    command: Command
    tool: str  # 'curl' or 'wget'
    urls: list[Word]  # arguments that look like URLs (contain "://"), including curl's --url values
    output: Word | None  # curl -o/--output, wget -O/--output-document ('-' is stdout)
    remote_name: bool  # curl -O/--remote-name/--remote-name-all: saved under the URL's file name

    @property
    def to_stdout(self) -> bool:
        """Whether the body goes to standard output (curl's default; wget only with -O -)."""
        if self.output is not None:
            return self.output.value == "-"
        return self.tool == "curl" and not self.remote_name


def download(cmd: Command) -> Download | None:
    """curl / wget (any path); None otherwise."""
    tool = cmd.name
    if tool not in ("curl", "wget"):
        return None
    valued = _CURL_VALUED if tool == "curl" else _WGET_VALUED
    options, positionals = parse_args(cmd.argv[1:], valued)
    output_names = ("-o", "--output") if tool == "curl" else ("-O", "--output-document")
    outputs = _values(options, *output_names)
    candidates = positionals + (_values(options, "--url") if tool == "curl" else [])
    return Download(
        command=cmd,
        tool=tool,
        urls=[w for w in candidates if "://" in w.value],
        output=outputs[-1] if outputs else None,
        remote_name=tool == "curl" and any(o.name in ("-O", "--remote-name", "--remote-name-all") for o in options),
    )


def download_options(fetch: Download) -> list[Option]:
    """Every option of a curl or wget command, combined short flags split (`-qO-` gives -q and -O)."""
    valued = _CURL_VALUED if fetch.tool == "curl" else _WGET_VALUED
    return parse_args(fetch.command.argv[1:], valued)[0]


# ---------------------------------------------------------------------------------------------------------
# apk, yum / dnf / microdnf, zypper, npm, yarn, gem, go

APK_TOOLS = frozenset({"apk"})
DNF_TOOLS = frozenset({"yum", "dnf", "dnf5", "microdnf", "tdnf"})  # one command line, one cache layout
ZYPPER_TOOLS = frozenset({"zypper"})

_DNF_ACTIONS = {
    "in": "install", "localinstall": "install", "update": "upgrade", "up": "upgrade", "update-minimal": "upgrade",
    "upgrade-minimal": "upgrade", "erase": "remove", "rm": "remove", "rei": "reinstall", "dsync": "distro-sync",
    "distrosync": "distro-sync", "dg": "downgrade", "mc": "makecache", "groupinstall": "group install",
    "groupupdate": "group upgrade", "groups": "group", "grp": "group",
}


@dataclass(frozen=True)
class _Tool:
    valued: frozenset[str]  # options that take a value
    actions: dict[str, str] = field(default_factory=dict)  # alias -> action (`zypper in` is install)
    groups: frozenset[str] = frozenset()  # actions whose next word is a sub-action (`dnf module install`)
    default: str = ""  # the action when none is written (`yarn` alone installs)


_DNF = _Tool(frozenset({
    "-c", "--config", "--installroot", "--releasever", "--setopt", "--enablerepo", "--disablerepo", "--repo",
    "--repoid", "-x", "--exclude", "-d", "--debuglevel", "-e", "--errorlevel", "--forcearch", "--downloaddir",
    "--destdir", "--rpmverbosity", "--repofrompath", "--comment", "--advisory", "--color", "-R", "--randomwait",
    "--disableplugin", "--enableplugin",
}), _DNF_ACTIONS, frozenset({"group", "module"}))

_TOOLS = {
    "apk": _Tool(frozenset({
        "-X", "--repository", "-p", "--root", "--arch", "--cache-dir", "--keys-dir", "--repositories-file", "-t",
        "--virtual", "--timeout", "--cache-max-age", "--progress-fd", "--from",
    }), groups=frozenset({"cache"})),
    **{name: _DNF for name in DNF_TOOLS},
    "zypper": _Tool(frozenset({
        "-R", "--root", "-c", "--config", "--cache-dir", "--raw-cache-dir", "--solv-cache-dir", "--pkg-cache-dir",
        "-D", "--reposd-dir", "-r", "--repo", "-t", "--type", "--from", "--download", "-p", "--plus-repo",
        "--installroot", "--releasever", "--plus-content",
    }), {"in": "install", "rm": "remove", "up": "update", "dup": "dist-upgrade", "si": "source-install",
         "ref": "refresh", "cc": "clean", "inr": "install-new-recommends"}),
    "npm": _Tool(frozenset({
        "--prefix", "-C", "--registry", "--cache", "--loglevel", "--userconfig", "--globalconfig", "--tag", "--omit",
        "--include", "-w", "--workspace", "--location", "--install-strategy", "--before", "--otp", "--scope",
        "--proxy", "--https-proxy",
    }), {alias: "install" for alias in ("i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal",
                                         "isntall", "add")}
       | {alias: "ci" for alias in ("clean-install", "ic", "install-clean", "isntall-clean")},
        frozenset({"cache"})),
    "yarn": _Tool(frozenset({
        "--cache-folder", "--modules-folder", "--network-timeout", "--registry", "--cwd", "--mutex", "--global-folder",
        "--link-folder", "--use-yarnrc", "--network-concurrency", "--child-concurrency", "--proxy", "--https-proxy",
        "--preferred-cache-folder", "--mode",
    }), groups=frozenset({"global", "cache"}), default="install"),
    "gem": _Tool(frozenset({
        "-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s", "--source", "--platform", "-g", "--file",
        "-P", "--trust-policy", "--build-root", "-p", "--http-proxy", "--config-file",
    }), {"i": "install"}),
}

# `go` flags are single-dash words (`-ldflags`): these take the next word as value unless written `-flag=value`.
_GO_VALUED = frozenset({
    "ldflags", "gcflags", "asmflags", "gccgoflags", "tags", "o", "p", "mod", "modfile", "overlay", "pkgdir",
    "buildmode", "compiler", "installsuffix", "toolexec", "C", "pgo", "covermode", "coverpkg", "exec",
})


@dataclass
class PackageCommand:
    """A command of apk, yum / dnf / microdnf, zypper, npm, yarn, gem or go."""

    command: Command
    tool: str  # the program: 'apk', 'yum', 'dnf', 'microdnf', 'zypper', 'npm', 'yarn', 'gem', 'go', ...
    action: str  # aliases spelled out (`zypper in` -> 'install', `dnf groupinstall` -> 'group install'); '' if none
    action_word: Word | None  # the word naming the action, as written
    packages: list[Word]  # the arguments after the action, never options or option values
    options: list[Option]  # every option, combined short flags split
    global_flags: set[str]  # names of the options written before the action (`zypper -n install`: {'-n'})

    @property
    def flags(self) -> set[str]:
        return {o.name for o in self.options}

    @property
    def label(self) -> str:
        """Tool and action as written: 'zypper in', 'dnf groupinstall', 'dnf module install', 'yarn install'."""
        word = self.action_word.value if self.action_word is not None else ""
        written = self.action if not word or self.action.startswith(word + " ") else word
        return f"{self.tool} {written}".strip()

    def option_values(self, *names: str) -> list[Word]:
        return _values(self.options, *names)


def package_command(cmd: Command) -> PackageCommand | None:
    """apk, yum, dnf, dnf5, microdnf, tdnf, zypper, npm, yarn, gem or go (any path); None otherwise."""
    tool = cmd.name
    if tool == "go":
        return _go_command(cmd)
    spec = _TOOLS.get(tool)
    if spec is None:
        return None
    options, positionals = parse_args(cmd.argv[1:], spec.valued)
    if not positionals:
        return PackageCommand(cmd, tool, spec.default, None, [], options, {o.name for o in options})
    word, packages = positionals[0], positionals[1:]
    action = spec.actions.get(word.value, word.value)
    if action in spec.groups and packages:  # `dnf module install x`, `yarn global add x`
        action = f"{action} {packages[0].value}"
        packages = packages[1:]
    global_flags = {o.name for o in options if o.word.start < word.start}
    return PackageCommand(cmd, tool, action, word, packages, options, global_flags)


def _go_command(cmd: Command) -> PackageCommand | None:
    """`go ACTION [-flag[=value] ...] args`: Go's flags are single-dash words, unlike getopt's clusters."""
    argv = cmd.argv[1:]
    if not argv:
        return PackageCommand(cmd, "go", "", None, [], [], set())
    word, options, packages = argv[0], [], []
    i = 1
    while i < len(argv):
        current = argv[i]
        name, eq, _ = current.value.lstrip("-").partition("=")
        if current.value == "--":
            packages.extend(argv[i + 1:])
            break
        if not current.value.startswith("-") or current.value == "-":
            packages.append(current)
        elif eq:
            options.append(Option("-" + name, current.tail(current.value.index("=") + 1), current))
        elif name in _GO_VALUED and i + 1 < len(argv):
            options.append(Option("-" + name, argv[i + 1], current))
            i += 1
        else:
            options.append(Option("-" + name, None, current))
        i += 1
    return PackageCommand(cmd, "go", word.value, word, packages, options, set())
