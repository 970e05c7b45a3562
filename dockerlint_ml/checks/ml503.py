"""ML503 extra-index-url: package sources open to dependency confusion or tampering."""
from urllib.parse import urlsplit

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import pip_install, uv_sync
from dockerlint_ml.model import expand
from dockerlint_ml.reach import installed_requirements
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import settings

_TORCHTRITON = "how the malicious `torchtriton` reached PyTorch-nightly users in December 2022"
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Which problem each option (or environment variable) can have: an extra index ("extra"), a host exempt from
# TLS checks ("trusted"), or a URL that may use plain http ("url"). uv's extra indexes are "uv-extra": its
# default first-index strategy takes each package from the first index that has it, so they only mix
# sources under an unsafe-* strategy.
_OPTIONS = {
    "pip": {"--extra-index-url": "extra", "--trusted-host": "trusted", "--index-url": "url", "--find-links": "url"},
    "uv": {"--extra-index-url": "uv-extra", "--index": "uv-extra", "--trusted-host": "trusted",
           "--allow-insecure-host": "trusted", "--index-url": "url", "--default-index": "url", "--find-links": "url"},
}
_VARIABLES = {
    "PIP_EXTRA_INDEX_URL": "extra", "PIP_TRUSTED_HOST": "trusted", "PIP_INDEX_URL": "url", "PIP_FIND_LINKS": "url",
    "UV_EXTRA_INDEX_URL": "uv-extra", "UV_INDEX": "uv-extra", "UV_INSECURE_HOST": "trusted",
    "UV_INDEX_URL": "url", "UV_DEFAULT_INDEX": "url", "UV_FIND_LINKS": "url",
}


@rule("ML503", "extra-index-url", Severity.WARNING,
      "pip or uv reads packages from an extra index, a host exempt from TLS checks, or a plain-http index.")
def check(df, ctx):
    for instruction in df.instructions:
        env = instruction.vars
        for setting in settings(instruction):
            if setting.value is not None:  # later variables of the same instruction see earlier ones
                env = {**env, setting.name: setting.value}
            kind = _VARIABLES.get(setting.name)
            if kind and setting.value:
                unsafe = _unsafe_strategy(env.get("UV_INDEX_STRATEGY"))
                for problem in _problems(kind, setting.name, setting.value, env, unsafe):
                    yield ctx.report(setting.start, setting.end, problem)
        for command in instruction.commands:
            install = pip_install(command)
            tool = install.tool if install else "uv"
            install = install or uv_sync(command)
            if install is None:
                continue
            unsafe = _install_unsafe(install, command, env)
            for option, kind in _OPTIONS[tool].items():
                for word in install.option_values(option):
                    for problem in _problems(kind, option, word.value, env, unsafe):
                        yield ctx.report(word.start, word.end, problem)
            for word in command.assignments:
                name, _, value = word.value.partition("=")
                if name in _VARIABLES and name.startswith("UV_") == (tool == "uv"):  # each tool reads its own
                    for problem in _problems(_VARIABLES[name], name, value, env, unsafe):
                        yield ctx.report(word.start, word.end, problem)
    yield from _requirements_files(df, ctx)


def _problems(kind: str, option: str, raw: str, env: dict[str, str], unsafe: bool):
    """Messages for an option or variable value (variables expand to what the build sees; a variable can
    hold several space-separated URLs)."""
    for value in expand(raw, env)[0].split() or [raw]:
        problem = _problem(kind, option, value, unsafe)
        if problem:
            yield problem


def _requirements_files(df, ctx):
    """Index options written in the requirements files that a `pip install -r` of the image reads."""
    reported = set()
    for installed in installed_requirements(df, ctx.build):
        install = installed.install
        unsafe = _install_unsafe(install, install.command, installed.instruction.vars)
        for requirements in ctx.build.requirements_closure(installed.relpath):
            for line in requirements.options:
                kind = _OPTIONS[install.tool].get(line.option)
                problem = _problem(kind, line.option, line.value, unsafe) if kind and line.value else None
                if problem and (requirements.path, line.start) not in reported:
                    reported.add((requirements.path, line.start))
                    yield ctx.report(line.start, line.end, problem, source=requirements.source)


def _unsafe_strategy(value) -> bool:
    return bool(value) and value.startswith("unsafe")


def _install_unsafe(install, command, env) -> bool:
    """uv's --index-strategy unsafe-first-match / unsafe-best-match (option, prefix or environment)."""
    values = [w.value for w in install.option_values("--index-strategy")]
    values += [w.value.partition("=")[2] for w in command.assignments if w.value.startswith("UV_INDEX_STRATEGY=")]
    return any(_unsafe_strategy(v) for v in values) or _unsafe_strategy(env.get("UV_INDEX_STRATEGY"))


def _problem(kind: str, option: str, value: str, unsafe_strategy: bool) -> str | None:
    """The message for one option value, or None when it is fine."""
    if kind == "trusted":
        if _host(value) in _LOOPBACK:
            return None
        return (f"{option} {value} turns off TLS certificate checks for that host, so anyone on the network path "
                "can serve modified packages: fix the certificate instead (--cert, PIP_CERT or SSL_CERT_FILE)")
    if _plain_http(value):
        return (f"{option} {value} fetches packages over plain http, so anyone on the network path can swap them "
                "for their own: use an https:// URL")
    if kind == "extra":
        return (f"{option} {value}: pip takes each package from whichever index has the highest version, so a "
                f"same-named package published on PyPI wins ({_TORCHTRITON}): for torch wheels use --index-url "
                "https://download.pytorch.org/whl/cpu (a single index) in its own pip install, or uv, whose default "
                "first-index strategy takes each package from the first index that has it")
    if kind == "uv-extra" and unsafe_strategy:
        return (f"{option} {value} with an unsafe-* --index-strategy: uv looks for each package on every index, "
                f"so a same-named package published on PyPI can win ({_TORCHTRITON}): drop the unsafe strategy "
                "(uv's default first-index takes each package from the first index that has it), or pin packages "
                "to an index with [tool.uv.sources]")
    return None


def _host(value: str) -> str:
    """The host of a URL or of a `host[:port]` value (`[::1]:3141` included)."""
    try:
        return (urlsplit(value if "://" in value else "//" + value).hostname or "").lower()
    except ValueError:  # a malformed IPv6 literal
        return ""


def _plain_http(value: str) -> bool:
    """An http:// URL to anything but this machine (a loopback index is not exposed to the network)."""
    return value.lower().startswith("http://") and _host(value) not in _LOOPBACK
