"""ML505 unpinned-model-download: model weights fetched at build time without a pinned revision or checksum."""
import ast
import posixpath
import re
from urllib.parse import urlsplit

from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import download
from dockerlint_ml.model import expand
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import COMMIT, commit_pinned, interpreter, reads_program_from_stdin
from dockerlint_ml.shell import parse_args
from dockerlint_ml.text import Mapped

WEIGHT_EXTENSIONS = (".pt", ".pth", ".bin", ".safetensors", ".ckpt", ".onnx", ".gguf", ".ggml", ".h5", ".hdf5",
                     ".keras", ".pb", ".tflite", ".pkl", ".pickle", ".npz", ".msgpack", ".caffemodel", ".pdparams",
                     ".mlmodel", ".engine", ".plan")
_HUB_HOSTS = ("huggingface.co", "hf.co")
_HUB_CALLS = ("snapshot_download", "hf_hub_download")  # always fetch from the Hub
_CHECKSUM_TOOL = re.compile(r"sha(1|224|256|384|512)sum|shasum|md5sum|b2sum")
_CHECKSUM_SUBSTITUTION = re.compile(r"(\$\(|`)\s*(\S*/)?(sha(1|224|256|384|512)sum|shasum|md5sum|b2sum)\b")
_REPO_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")
_PIN = "a 40-hex commit sha"
_WHY = "so a push to the repo silently changes what the image ships (or swaps in a malicious pickle)"
_WHY_URL = "so a changed or tampered file on the server silently changes what the image ships"
_HF_CLI_VALUED = frozenset({"--revision", "--repo-type", "--local-dir", "--cache-dir", "--token", "--max-workers",
                            "--etag-timeout", "--local-dir-use-symlinks", "--include", "--exclude", "--format"})
_GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"})
_CLONE_VALUED = frozenset({"-b", "--branch", "--depth", "-o", "--origin", "--reference", "--separate-git-dir",
                           "-c", "--config", "-j", "--jobs", "--filter", "--revision", "--shallow-since",
                           "--shallow-exclude", "--template", "-u", "--upload-pack", "--server-option"})


@rule("ML505", "unpinned-model-download", Severity.WARNING,
      "Model weights are downloaded at build time without a pinned revision or a checksum check.")
def check(df, ctx):
    for instruction in df.instructions:
        commands = instruction.commands
        variables = instruction.vars
        checked = _verifies_checksum(commands)
        for command in commands:
            yield from _hf_cli(command, variables, ctx)
            yield from _weight_download(command, variables, checked, ctx)
            yield from _hub_clone(command, commands, variables, ctx)
        for code in _python_code(instruction):
            yield from _python_downloads(code, variables, ctx)


# --- huggingface-cli / hf download ------------------------------------------------------------------------

def _hf_cli(command, variables, ctx):
    if command.name not in ("huggingface-cli", "hf"):
        return
    options, positionals = parse_args(command.argv[1:], _HF_CLI_VALUED)
    if len(positionals) < 2 or positionals[0].value != "download":
        return
    revisions = [o.value.value for o in options if o.name == "--revision" and o.value is not None]
    problem = _revision_problem(revisions[-1] if revisions else None, variables)
    if problem:
        repo = positionals[1].value
        yield ctx.report(command.argv[0].start, command.end,
                         f"`{command.name} download {repo}` {problem}, {_WHY}: pass --revision <{_PIN}>")


def _revision_problem(revision: str | None, variables) -> str | None:
    """Why a revision does not pin the download, or None (a commit, or a variable we cannot see)."""
    if revision is None:
        return "takes whatever the main branch holds at build time"
    value, resolved = expand(revision, variables)
    if not resolved or not value or COMMIT.fullmatch(value):
        return None  # a commit, or a variable with no value here (an ARG set with --build-arg)
    return f"takes revision {value}, a branch or tag that can move"


# --- curl / wget of weight files --------------------------------------------------------------------------

def _weight_download(command, variables, checked, ctx):
    fetch = download(command)
    if fetch is None or checked:
        return
    output = expand(fetch.output.value, variables)[0] if fetch.output is not None else ""
    for word in fetch.urls:
        url = expand(word.value, variables)[0]
        weights = _is_weights(url) or output.lower().endswith(WEIGHT_EXTENSIONS)
        if weights and not commit_pinned(url):
            yield ctx.report(word.start, word.end,
                             f"{fetch.tool} downloads {url} with no checksum check in this RUN, {_WHY_URL}: verify it "
                             '(echo "<sha256>  <file>" | sha256sum -c -), or use a '
                             "huggingface.co/<repo>/resolve/<commit sha>/ URL")


def _is_weights(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _HUB_HOSTS and "/resolve/" in parts.path:
        return True
    return posixpath.basename(parts.path).lower().endswith(WEIGHT_EXTENSIONS)


def _verifies_checksum(commands) -> bool:
    """`sha256sum -c` (any checksum tool, or `--check`), or a `$(sha256sum …)` compared in a test, in this RUN."""
    for command in commands:
        if _CHECKSUM_TOOL.fullmatch(command.name):
            options, _ = parse_args(command.argv[1:], frozenset({"-a", "--algorithm"}))
            if any(o.name in ("-c", "--check") for o in options):
                return True
        if any(w.expands and _CHECKSUM_SUBSTITUTION.search(w.value) for w in command.words):
            return True
    return False


# --- git clone https://huggingface.co/… -------------------------------------------------------------------

def _hub_clone(command, commands, variables, ctx):
    if command.name != "git":
        return
    _, rest = parse_args(command.argv[1:], _GIT_VALUED, interleaved=False)
    if not rest or rest[0].value != "clone":
        return
    options, positionals = parse_args(rest[1:], _CLONE_VALUED)
    url = next((w for w in positionals if (urlsplit(expand(w.value, variables)[0]).hostname or "") in _HUB_HOSTS),
               None)
    if url is None:
        return
    revisions = [expand(o.value.value, variables)[0] for o in options if o.name == "--revision" and o.value]
    if any(COMMIT.fullmatch(r) for r in revisions) or any(_checks_out_commit(c, variables) for c in commands):
        return
    yield ctx.report(url.start, url.end,
                     f"git clone {url.value} takes the repo's default branch as it is at build time, {_WHY}: "
                     f"`git checkout <{_PIN}>` after cloning (or git clone --revision=<{_PIN}>)")


def _checks_out_commit(command, variables) -> bool:
    """`git checkout <sha>`, `git -C dir reset --hard <sha>`, `git switch --detach <sha>`, `git fetch origin <sha>`."""
    if command.name != "git":
        return False
    _, rest = parse_args(command.argv[1:], _GIT_VALUED, interleaved=False)
    if not rest or rest[0].value not in ("checkout", "reset", "switch", "fetch"):
        return False
    return any(COMMIT.fullmatch(expand(w.value, variables)[0]) for w in rest[1:])


# --- Python code: snapshot_download / hf_hub_download / from_pretrained ------------------------------------

def _python_code(instruction):
    """The Python programs a RUN runs, with source offsets: `python -c CODE`, and heredocs fed to python
    (`RUN python3 <<EOF`, `RUN <<EOF python3`) or starting with a python shebang."""
    commands = instruction.commands
    for command in commands:
        if interpreter(command) == "python":
            options, _ = parse_args(command.argv[1:], frozenset({"-c", "-m", "-W", "-X"}), interleaved=False)
            for option in options:
                if option.name == "-c" and option.value is not None:
                    yield option.value.mapped()
    fed_to_python = any(interpreter(c) == "python" and reads_program_from_stdin(c) for c in commands)
    for doc in instruction.heredocs:
        if fed_to_python or re.match(r"#!\S*python|#!\S*env\s+python", doc.content):
            yield _heredoc_code(instruction.source_text, doc)


def _heredoc_code(source: str, doc) -> Mapped:
    """The heredoc body as Python reads it: `<<-` strips leading tabs, offsets keep pointing at the source."""
    text, offsets = [], []
    position = doc.start
    for line in source[doc.start:doc.end].splitlines(keepends=True):
        skip = len(line) - len(line.lstrip("\t")) if doc.strip_tabs else 0
        text.append(line[skip:])
        offsets.extend(range(position + skip, position + len(line)))
        position += len(line)
    return Mapped("".join(text), offsets + [doc.end])


def _python_downloads(code: Mapped, variables, ctx):
    try:
        tree = ast.parse(code.text)
    except (SyntaxError, ValueError):
        return  # not Python we can read (shell variables in odd places, another language): nothing seen
    lines = code.text.splitlines(keepends=True)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        problem = _call_problem(name, node, variables, ctx.build)
        if problem:
            start = _index(lines, node.lineno, node.col_offset)
            end = _index(lines, node.end_lineno, node.end_col_offset)
            start, end = code.source_span(start, end)
            repo = _constant(node.args[0] if node.args else None)
            more = ", …" if len(node.args) + len(node.keywords) > 1 else ""
            call = f"{name}({repo!r}{more})" if isinstance(repo, str) else f"{name}(…)"
            yield ctx.report(start, end, f"`{call}` {problem}, {_WHY}: pass revision=\"<{_PIN}>\"")


def _call_problem(name, node: ast.Call, variables, build) -> str | None:
    if name not in _HUB_CALLS and name != "from_pretrained":
        return None
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if _constant(keywords.get("local_files_only")) is True:
        return None
    if name == "from_pretrained" and not _hub_repo(node, keywords, variables, build):
        return None  # a local directory, or a name we cannot see
    revision = keywords.get("revision")
    if revision is None:
        return "downloads whatever the repo's main branch holds at build time"
    value = _constant(revision)
    if not isinstance(value, str):
        return None  # computed at run time: cannot tell
    return _revision_problem(value, variables)


def _hub_repo(node: ast.Call, keywords, variables, build) -> bool:
    """from_pretrained's first argument is a literal Hub repo id: not a path, nor a folder of the build
    context (`from_pretrained("checkpoints/bert")` after `COPY checkpoints/ …` loads local files)."""
    argument = node.args[0] if node.args else keywords.get("pretrained_model_name_or_path")
    value = _constant(argument)
    if not isinstance(value, str):
        return False
    value, resolved = expand(value, variables)
    if not resolved or _REPO_ID.fullmatch(value) is None or value.startswith("."):
        return False
    return build is None or not build.is_dir(value.split("/")[0])


def _constant(node):
    return node.value if isinstance(node, ast.Constant) else None


def _index(lines: list[str], lineno: int, byte_col: int) -> int:
    """Character index in the code of an ast (line, UTF-8 byte column) position."""
    line = lines[lineno - 1] if lineno - 1 < len(lines) else ""
    return sum(len(l) for l in lines[:lineno - 1]) + len(line.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))
