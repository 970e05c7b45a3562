"""What the final image runs: its effective CMD/ENTRYPOINT, the process commands they start, and the model
or web server among them (gunicorn, uvicorn, streamlit, vllm, tensorflow_model_server, ...) with its options.

Docker semantics followed here (BuildKit's dispatchCmd / dispatchEntrypoint): CMD and ENTRYPOINT are image
config, inherited through `FROM <stage>`; the last of each in the final lineage wins; an ENTRYPOINT resets the
CMD inherited from the base, but not a CMD set earlier in its own stage. Neither is expanded at build time:
`$PORT` in them is expanded by a shell at run time, from the ENV of the image, or not at all in exec form.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from dockerlint_ml import shell
from dockerlint_ml.installs import python_module
from dockerlint_ml.model import Dockerfile, Instruction, expand
from dockerlint_ml.reach import track, context_file
from dockerlint_ml.shell import Command, Word, parse_args
from dockerlint_ml.text import InputError, SourceText

_PYTHON = re.compile(r"python(\d+(\.\d+)*)?")


@dataclass
class Launch:
    """The effective ENTRYPOINT and CMD of the final image (None: not set in the lineage, or reset)."""

    entrypoint: Instruction | None
    cmd: Instruction | None


def launch(df: Dockerfile) -> Launch:
    entrypoint = cmd = None
    for stage in reversed(df.final_lineage):  # the root stage first
        cmd_set = False
        for instruction in stage.instructions:
            if instruction.keyword == "CMD":
                cmd, cmd_set = instruction, True
            elif instruction.keyword == "ENTRYPOINT":
                entrypoint = instruction
                if not cmd_set:
                    cmd = None  # an ENTRYPOINT resets the CMD inherited from the base image
    # `ENTRYPOINT []` / `CMD []` clear the setting.
    return Launch(entrypoint if _non_empty(entrypoint) else None, cmd if _non_empty(cmd) else None)


def _non_empty(instruction: Instruction | None) -> bool:
    return instruction is not None and bool(instruction.words)


def runtime_env(df: Dockerfile) -> dict[str, str]:
    """The ENV of the final image (ARGs are not part of it)."""
    return dict(df.final_stage.env) if df.final_stage is not None else {}


def env_instruction(df: Dockerfile, name: str) -> Instruction | None:
    """The last ENV instruction of the final lineage that sets `name`."""
    found = None
    for stage in reversed(df.final_lineage):
        for instruction in stage.instructions:
            if instruction.keyword == "ENV" and name in instruction.args[0::2]:
                found = instruction
    return found


# ---------------------------------------------------------------------------------------------------------
# The process commands


@dataclass
class ProcessCommand:
    """One simple command the container runs, from a CMD/ENTRYPOINT or from an entrypoint script."""

    command: Command
    instruction: Instruction  # the CMD/ENTRYPOINT it comes from (or that runs the script)
    shell: bool  # its words went through a shell, which expands $VARS at run time
    source: SourceText | None = None  # the entrypoint script it is in; None: the Dockerfile


def instruction_commands(instruction: Instruction, after: list | None = None) -> list[tuple[Command, bool]]:
    """(command, through a shell) for a CMD/ENTRYPOINT; `after` are exec-form words appended (the CMD
    given to an exec-form ENTRYPOINT). `sh -c "..."` strings are parsed one level, as for RUN."""
    if not instruction.json:
        return [(c, True) for c in shell.parse_shell(instruction.rest)]
    words = instruction.exec_words + (after or [])
    if not words:
        return []
    # parse_exec gives back the words unchanged unless it parsed the string of a `sh -c`.
    return [(c, c.words != words) for c in shell.parse_exec(words)]


def process_commands(df: Dockerfile, build=None) -> list[ProcessCommand]:
    """The commands the final image starts: ENTRYPOINT with CMD as its arguments (a shell-form CMD
    after an exec-form ENTRYPOINT is read as its own commands: entrypoint scripts usually `exec "$@"`),
    then the commands of an entrypoint script copied from the build context, when it can be read."""
    current = launch(df)
    entrypoint, cmd = current.entrypoint, current.cmd
    pairs: list[tuple[tuple[Command, bool], Instruction]] = []
    if entrypoint is not None and not entrypoint.json:
        pairs += [(c, entrypoint) for c in instruction_commands(entrypoint)]
    elif entrypoint is not None:
        tail = cmd.exec_words if cmd is not None and cmd.json else []
        combined = instruction_commands(entrypoint, tail)
        # ENTRYPOINT ["tini", "--"] + CMD ["gunicorn", ...]: the program comes from the CMD.
        pairs += [(c, cmd if cmd is not None and _starts_in(c[0], cmd) else entrypoint) for c in combined]
        if cmd is not None and (not cmd.json or _wrapper(combined, cmd)):
            pairs += [(c, cmd) for c in instruction_commands(cmd)]
    elif cmd is not None:
        pairs += [(c, cmd) for c in instruction_commands(cmd)]
    result = [ProcessCommand(command, instruction, through_shell) for (command, through_shell), instruction in pairs]
    if build is not None:
        for item in list(result):
            script = _script(df, item, build)
            if script is not None:
                result += [ProcessCommand(c, item.instruction, True, script)
                           for c in shell.parse_script(script.text, 0)]
    return result


def _wrapper(combined: list[tuple[Command, bool]], cmd: Instruction) -> bool:
    """Whether an exec-form ENTRYPOINT is a program of its own (`/entrypoint.sh`, not `python` or a server)
    that takes the CMD as a command to run: entrypoint scripts end with `exec "$@"`."""
    if len(combined) != 1:
        return False
    command = combined[0][0]
    argv = unwrap(command.argv)
    if not argv or _starts_in(command, cmd):
        return False  # the CMD itself is the program (ENTRYPOINT ["tini", "--"])
    return python_argv(argv) is None and server_of(ProcessCommand(command, cmd, False)) is None


def _starts_in(command: Command, instruction: Instruction) -> bool:
    """Whether the program a command runs (after runners like tini) is written in `instruction`."""
    argv = unwrap(command.argv)
    return bool(argv) and instruction.start <= argv[0].start < instruction.end


# ---------------------------------------------------------------------------------------------------------
# Entrypoint scripts: read only when the script a command runs is COPY'd from the context.


def _script(df: Dockerfile, item: ProcessCommand, build) -> SourceText | None:
    if item.source is not None:
        return None  # one level: a script's own scripts are not followed
    argv = unwrap(item.command.argv)
    if argv and posixpath.basename(argv[0].value) in ("sh", "bash", "dash") and len(argv) > 1:
        argv = argv[1:]  # `bash entrypoint.sh`
    if not argv or "$" in argv[0].value or not argv[0].value.endswith(".sh"):
        return None
    placements, workdir = _placements(df, item.instruction, build)
    rel = context_file(posixpath.normpath(posixpath.join(workdir, argv[0].value)), placements, build)
    if rel is None or build.is_dir(rel) or build.ignored(rel):
        return None
    try:
        return build.read(rel)
    except InputError:
        return None


def _placements(df: Dockerfile, before: Instruction, build) -> tuple[list, str]:
    """The context files COPY/ADD put into the final lineage before `before`, and the WORKDIR there."""
    placements: list = []
    workdir = "/"
    for stage in reversed(df.final_lineage):
        for instruction in stage.instructions:
            if instruction is before:
                return placements, workdir
            workdir = track(instruction, workdir, placements, build)
    return placements, workdir


# ---------------------------------------------------------------------------------------------------------
# Servers

# Process supervisors and runners that start the real command: name -> (words after it to skip, valued options).
_RUNNERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "tini": ((), frozenset({"-p", "-e"})),
    "tini-static": ((), frozenset({"-p", "-e"})),
    "dumb-init": ((), frozenset({"-r", "--rewrite"})),
    "catatonit": ((), frozenset()),
    "ddtrace-run": ((), frozenset()),
    "opentelemetry-instrument": ((), frozenset()),
    "uv": (("run",), frozenset({"--with", "--python", "-p", "--project", "--directory", "--package", "--extra",
                                "--group", "--env-file", "--index", "--with-requirements", "--only-group"})),
    "poetry": (("run",), frozenset({"-C", "--directory", "-P", "--project"})),
    "pipenv": (("run",), frozenset()),
    "pdm": (("run",), frozenset({"-p", "--project"})),
    "hatch": (("run",), frozenset()),
    "pixi": (("run",), frozenset({"-e", "--environment", "--manifest-path"})),
    "conda": (("run",), frozenset({"-n", "--name", "-p", "--prefix", "--cwd"})),
    "mamba": (("run",), frozenset({"-n", "--name", "-p", "--prefix", "--cwd"})),
    "micromamba": (("run",), frozenset({"-n", "--name", "-p", "--prefix", "--cwd", "-r", "--root-prefix"})),
    "newrelic-admin": (("run-program",), frozenset()),
}
_USER_SWITCHERS = frozenset({"gosu", "su-exec"})  # `gosu USER command...`


def unwrap(argv: list[Word]) -> list[Word]:
    """argv without leading supervisors and runners: `tini -- uv run gunicorn ...` -> `gunicorn ...`."""
    while argv:
        name = posixpath.basename(argv[0].value)
        if name in _USER_SWITCHERS and len(argv) > 2:
            argv = argv[2:]
            continue
        runner = _RUNNERS.get(name)
        if runner is None:
            return argv
        subcommand, valued = runner
        if [w.value for w in argv[1:1 + len(subcommand)]] != list(subcommand):
            return argv
        _, rest = parse_args(argv[1 + len(subcommand):], valued, interleaved=False)
        if not rest:
            return argv
        argv = rest
    return argv


@dataclass(frozen=True)
class _Spec:
    """How a server reads its command line."""

    subcommands: tuple[tuple[str, ...], ...] = ((),)  # the words that must follow the program (any of them)
    valued: frozenset[str] = frozenset()
    workers: tuple[str, ...] = ()  # options giving the number of worker processes
    ports: tuple[str, ...] = ()  # options giving a port
    binds: tuple[str, ...] = ()  # options giving HOST:PORT
    default_port: int | None = None  # when no port option (and no config that could set it) is given
    port_env: tuple[str, ...] = ()  # environment variables that set the port
    config: tuple[str, ...] = ()  # options that may move the port elsewhere: a config file, a socket


_GUNICORN = _Spec(valued=frozenset({"-w", "--workers", "-b", "--bind", "-c", "--config", "-k", "--worker-class",
                                    "--threads", "-t", "--timeout", "--chdir", "--log-level", "--access-logfile",
                                    "--error-logfile", "--log-config", "-e", "--env", "-u", "-g", "--user", "--group",
                                    "--max-requests", "--graceful-timeout", "--keep-alive", "-n", "--name",
                                    "--forwarded-allow-ips", "--pid", "-p", "--worker-tmp-dir", "--log-file"}),
                  workers=("-w", "--workers"), binds=("-b", "--bind"), config=("-c", "--config"))
_UVICORN = _Spec(valued=frozenset({"--host", "--port", "--uds", "--fd", "--workers", "--log-level", "--loop", "--http",
                                   "--ws", "--interface", "--env-file", "--log-config", "--root-path", "--app-dir",
                                   "--timeout-keep-alive", "--limit-concurrency", "--forwarded-allow-ips",
                                   "--ssl-keyfile", "--ssl-certfile", "--reload-dir", "--lifespan", "--backlog"}),
                 workers=("--workers",), ports=("--port",), default_port=8000, port_env=("UVICORN_PORT",),
                 config=("--uds", "--fd"))
_HYPERCORN = _Spec(valued=frozenset({"-w", "--workers", "-b", "--bind", "-c", "--config", "-k", "--worker-class",
                                     "--log-level", "--access-logfile", "--error-logfile", "--root-path"}),
                   workers=("-w", "--workers"), binds=("-b", "--bind"), config=("-c", "--config"))
_JUPYTER = _Spec(subcommands=(("notebook",), ("lab",), ("server",)), valued=frozenset({"--port", "--ip"}),
                 ports=("--port", "--ServerApp.port", "--NotebookApp.port"))
_JUPYTER_APP = _Spec(valued=_JUPYTER.valued, ports=_JUPYTER.ports)
_MLFLOW = _Spec(subcommands=(("server",), ("ui",), ("models", "serve")),
                valued=frozenset({"-p", "--port", "-h", "--host", "-w", "--workers", "-m", "--model-uri",
                                  "--backend-store-uri", "--default-artifact-root", "--artifacts-destination",
                                  "--env-manager", "--gunicorn-opts", "-t", "--timeout"}),
                ports=("-p", "--port"), default_port=5000)
_VLLM = _Spec(valued=frozenset({"--port", "--host", "--model", "--tensor-parallel-size", "--dtype", "--config"}),
              ports=("--port",), default_port=8000, config=("--config",))
_SERVERS: dict[str, _Spec] = {
    "gunicorn": _GUNICORN,
    "uvicorn": _UVICORN,
    "hypercorn": _HYPERCORN,
    "streamlit": _Spec(subcommands=(("run",),), valued=frozenset({"--server.port", "--server.address"}),
                       ports=("--server.port",), default_port=8501, port_env=("STREAMLIT_SERVER_PORT",)),
    "flask": _Spec(subcommands=(("run",),), valued=frozenset({"-p", "--port", "-h", "--host", "--app", "-A",
                                                               "--cert", "--key", "--extra-files"}),
                   ports=("-p", "--port"), default_port=5000, port_env=("FLASK_RUN_PORT",)),
    "fastapi": _Spec(subcommands=(("run",), ("dev",)), valued=frozenset({"--port", "--host", "--app",
                                                                         "--workers", "--root-path",
                                                                         "--entrypoint", "-e"}),
                     workers=("--workers",), ports=("--port",), default_port=8000),
    "http.server": _Spec(valued=frozenset({"-b", "--bind", "-d", "--directory", "-p", "--protocol"}),
                         default_port=8000),
    "jupyter": _JUPYTER,
    "jupyter-notebook": _JUPYTER_APP,
    "jupyter-lab": _JUPYTER_APP,
    "jupyter-server": _JUPYTER_APP,
    "vllm": _Spec(subcommands=(("serve",),), valued=_VLLM.valued, ports=_VLLM.ports,
                  default_port=_VLLM.default_port, config=_VLLM.config),
    "vllm.entrypoints.openai.api_server": _VLLM,
    "text-generation-launcher": _Spec(valued=frozenset({"-p", "--port", "--model-id", "--hostname"}),
                                      ports=("-p", "--port"), port_env=("PORT",)),
    "tensorflow_model_server": _Spec(valued=frozenset({"--port", "--rest_api_port", "--model_name",
                                                       "--model_base_path", "--model_config_file"}),
                                     ports=("--port", "--rest_api_port")),
    "tritonserver": _Spec(valued=frozenset({"--http-port", "--grpc-port", "--metrics-port", "--model-repository"}),
                          ports=("--http-port", "--grpc-port", "--metrics-port")),
    "mlflow": _MLFLOW,
    "bentoml": _Spec(subcommands=(("serve",), ("serve-http",)), valued=frozenset({"-p", "--port", "--host",
                                                                                  "--working-dir"}),
                     ports=("-p", "--port"), default_port=3000, port_env=("BENTOML_PORT",)),
    "waitress-serve": _Spec(valued=frozenset({"--port", "--listen", "--host", "--threads", "--call"}),
                            ports=("--port",), binds=("--listen",), default_port=8080),
    "daphne": _Spec(valued=frozenset({"-p", "--port", "-b", "--bind", "-u", "--unix-socket"}),
                    ports=("-p", "--port"), default_port=8000, config=("-u", "--unix-socket")),
    "torchserve": _Spec(),
}
# `python -m MODULE` that runs one of the servers above.
_MODULES = {"gunicorn": "gunicorn", "uvicorn": "uvicorn", "hypercorn": "hypercorn", "streamlit": "streamlit",
            "flask": "flask", "fastapi": "fastapi", "http.server": "http.server", "jupyter": "jupyter",
            "notebook": "jupyter-notebook", "jupyterlab": "jupyter-lab", "vllm.entrypoints.openai.api_server":
            "vllm.entrypoints.openai.api_server", "mlflow": "mlflow", "bentoml": "bentoml", "daphne": "daphne"}
# The servers above that are native programs, not Python (ML604 leaves them alone).
NATIVE_SERVERS = frozenset({"text-generation-launcher", "tensorflow_model_server", "tritonserver", "torchserve"})


@dataclass
class Server:
    """A server started by the image, and the options it was given."""

    name: str  # key of _SERVERS, e.g. 'gunicorn', 'http.server'
    process: ProcessCommand
    options: dict[str, list[shell.Option]] = field(default_factory=dict)
    positionals: list[Word] = field(default_factory=list)

    @property
    def spec(self) -> _Spec:
        return _SERVERS[self.name]

    def option(self, *names: str) -> shell.Option | None:
        """The last of these options given (the one that wins)."""
        found = [o for name in names for o in self.options.get(name, [])]
        return max(found, key=lambda o: o.word.start) if found else None


def servers(df: Dockerfile, build=None) -> list[Server]:
    result = []
    for process in process_commands(df, build):
        server = server_of(process)
        if server is not None:
            result.append(server)
    return result


def server_of(process: ProcessCommand) -> Server | None:
    argv = unwrap(process.command.argv)
    if not argv:
        return None
    name = posixpath.basename(argv[0].value)
    rest = argv[1:]
    if _PYTHON.fullmatch(name):
        module = python_module(argv)
        if module is None or module[0] not in _MODULES:
            return None
        name, rest = _MODULES[module[0]], module[1]
    spec = _SERVERS.get(name)
    if spec is None:
        return None
    options, positionals = server_args(name, rest)
    values = [w.value for w in positionals]
    for subcommand in spec.subcommands:
        if values[:len(subcommand)] == list(subcommand):
            return Server(name, process, options, positionals[len(subcommand):])
    return None


def server_args(name: str, words: list[Word]) -> tuple[dict[str, list[shell.Option]], list[Word]]:
    """Options (by name, as written) and positionals of server `name`'s command line, or of an
    environment variable holding one (GUNICORN_CMD_ARGS)."""
    options, positionals = parse_args(words, _SERVERS[name].valued)
    by_name: dict[str, list[shell.Option]] = {}
    for option in options:
        by_name.setdefault(option.name, []).append(option)
    return by_name, positionals


def python_argv(argv: list[Word]) -> tuple[list[str], list[Word]] | None:
    """For `python [flags] (script | -m module | -c code) ...` (after unwrap): (interpreter flags, the rest);
    None when argv is not a python command."""
    argv = unwrap(argv)
    if not argv or not _PYTHON.fullmatch(posixpath.basename(argv[0].value)):
        return None
    flags, i = [], 1
    while i < len(argv) and argv[i].value.startswith("-") and argv[i].value not in ("-m", "-c", "-"):
        flags.append(argv[i].value)
        i += 2 if argv[i].value in ("-W", "-X") else 1
    return flags, argv[i:]


# ---------------------------------------------------------------------------------------------------------
# Values of options: numbers and ports, resolving $VARS only where a shell expands them


def word_value(word: Word, process: ProcessCommand, env: dict[str, str]) -> str | None:
    """The value a word has at run time: $VARS expanded from the image ENV when a shell reads it;
    None when that is unknown (a variable the image does not set, a command substitution)."""
    value = word.value.strip()
    if not word.expands:  # no $ at all, or one quoted literally
        return value
    if not process.shell or "$(" in value or "`" in value:
        return None
    value, resolved = expand(value, env)
    return value if resolved else None


def option_text(option: shell.Option) -> str:
    """The option as written: `--port=8000`, `-p8000`, or `--port 8000` when the value is the next word."""
    if option.value is None or option.value.end <= option.word.end:
        return option.word.value.strip()
    return f"{option.name} {option.value.value.strip()}"


def parse_port(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and 0 < int(text) < 65536 else None


def bind_port(text: str | None) -> int | None:
    """The port of a gunicorn/hypercorn bind: HOST:PORT, :PORT, [::]:PORT; 8000 for a bare host;
    None for unix:/fd:// sockets or unknown values."""
    if text is None or text.startswith(("unix:", "fd://")):
        return None
    if text.startswith("["):  # an IPv6 host: [::] or [::]:PORT
        rest = text[text.find("]") + 1:] if "]" in text else None
        return None if rest is None else 8000 if not rest else parse_port(rest[1:]) if rest[0] == ":" else None
    _, colon, port = text.rpartition(":")
    return parse_port(port) if colon else 8000
