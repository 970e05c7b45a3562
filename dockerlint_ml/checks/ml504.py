"""ML504 remote-code-unverified: code downloaded at build time runs (or lands in the image) unverified."""
import re
from urllib.parse import urlsplit

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import download
from dockerlint_ml.model import expand
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import COMMIT, commit_pinned, interpreter, program_option, reads_program_from_stdin
from dockerlint_ml.shell import parse_args, parse_script

_SUBSTITUTION = re.compile(r"\$\(|<\(|`")
_SCRIPT_SUBSTITUTION = re.compile(r"\S+(\s+-\S*)*\s+<\(")
_VERIFY = ('download it to a file, check it (echo "<sha256>  install.sh" | sha256sum -c -) and run that file, '
           "or install from a package manager with signed packages")


@rule("ML504", "remote-code-unverified", Severity.WARNING,
      "A script fetched with curl/wget is run without verification, or ADD downloads a URL without a checksum.")
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword == "ADD":
            yield from _check_add(instruction, ctx)
        commands = instruction.commands
        for index, command in enumerate(commands):
            fetch = download(command)
            if fetch is not None and fetch.to_stdout and command.operator == "|":
                runner = _pipeline_runner(commands[index + 1:])
                if runner is not None and not _pinned(fetch, instruction.vars):
                    url = fetch.urls[0].value if fetch.urls else "the URL"
                    yield ctx.report(command.start, runner.end,
                                     f"`{command.name} … | {runner.name}` runs whatever {url} serves at build time, "
                                     f"unverified: a hijacked or compromised server runs its code in the build; {_VERIFY}")
            fetched = _executed_download(command, instruction)
            if fetched:
                yield ctx.report(command.start, command.end,
                                 f"the output of `{fetched}` is run as a program at build time, unverified: a "
                                 f"hijacked or compromised server runs its code in the build; {_VERIFY}")


def _pipeline_runner(rest):
    """The interpreter in the rest of a pipeline that runs its standard input as a program."""
    for command in rest:
        if reads_program_from_stdin(command):
            return command
        if command.operator != "|":
            return None
    return None


def _pinned(fetch, variables) -> bool:
    """Every URL names a git commit by hash, so what it serves cannot change."""
    urls = [expand(word.value, variables)[0] for word in fetch.urls]
    return bool(urls) and all(commit_pinned(url) for url in urls)


def _executed_download(command, instruction) -> str | None:
    """The download command of `bash <(curl …)`, `sh -c "$(curl …)"`, `python -c "$(wget -qO- …)"` or
    `eval "$(curl …)"`."""
    argv = command.argv
    if not argv:
        return None
    name, source = command.name, instruction.source_text
    if interpreter(command) or name in ("source", "."):
        # Process substitution is not modelled by the tokenizer: look for it in the command's text, as the
        # script argument (after the interpreter and its flags).
        text = source[argv[0].start:command.end]
        script = _SCRIPT_SUBSTITUTION.match(text)
        if script:
            fetched = _fetches(text[script.end() - 2:], instruction.vars)
            if fetched:
                return fetched
    candidates = [argv[0]]  # `sh -c "$(curl …)"` arrives here as the command `$(curl …)` itself
    if name == "eval":
        candidates += argv[1:]
    elif program_option(command):
        options, _ = parse_args(argv[1:], frozenset({program_option(command)}), interleaved=False)
        candidates += [o.value for o in options if o.name == program_option(command) and o.value is not None]
    for word in candidates:
        fetched = _fetches(word.value, instruction.vars)
        if fetched:
            return fetched
    return None


def _fetches(text: str, variables) -> str | None:
    """The curl/wget command whose download a command or process substitution in `text` outputs, or None."""
    for match in _SUBSTITUTION.finditer(text):
        body = _body(text, match.end(), "`" if match.group() == "`" else ")")
        commands = parse_script(body, 0)
        if commands:
            fetch = download(commands[0])
            if fetch is not None and fetch.to_stdout and commands[0].operator != "|" and not _pinned(fetch, variables):
                return body.strip()
    return None


def _body(text: str, start: int, closing: str) -> str:
    """The text from `start` up to the `closing` that balances it (parentheses counted, quotes ignored)."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if closing == ")" and char == "(":
            depth += 1
        elif char == closing:
            if depth == 0:
                return text[start:index]
            depth -= 1
    return text[start:]


def _check_add(instruction, ctx):
    if instruction.flag("checksum") is not None:
        return
    for word, value in instruction.paths[:-1]:
        url = value.strip()
        if _is_git(url):
            ref = url.partition("#")[2].split(":", 1)[0]
            if not COMMIT.fullmatch(ref):
                what = f"the ref {ref}" if ref else "the default branch"
                yield ctx.report(word.start, word.end,
                                 f"ADD {url} fetches {what}, which can move to other code: pin a commit "
                                 "(#<40-hex sha>) or add --checksum=<commit sha>")
        elif url.lower().startswith(("http://", "https://")) and not commit_pinned(url):
            yield ctx.report(word.start, word.end,
                             f"ADD {url} downloads without a checksum, so the image silently changes (or gets "
                             "tampered content) when the file on the server does: add --checksum=sha256:<digest>")


def _is_git(url: str) -> bool:
    """BuildKit's rule: git://, git@ and ssh:// remotes, and http(s) URLs whose path ends in .git."""
    lower = url.lower()
    if lower.startswith(("git://", "git@", "ssh://")):
        return True
    return lower.startswith(("http://", "https://")) and urlsplit(url.partition("#")[0]).path.endswith(".git")
