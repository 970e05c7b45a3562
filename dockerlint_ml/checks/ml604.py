"""ML604 python-unbuffered-missing: a Python server image without PYTHONUNBUFFERED, so stdout logs lag."""
import posixpath

from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import stage_packages
from dockerlint_ml.registry import rule
from dockerlint_ml.serving import (NATIVE_SERVERS, launch, process_commands, python_argv, runtime_env, server_of,
                                   unwrap)

# Packages whose presence makes an image a Python server when its command is an opaque program or script.
SERVER_PACKAGES = frozenset({"gunicorn", "uvicorn", "hypercorn", "streamlit", "gradio", "flask", "fastapi", "django",
                             "vllm", "mlflow", "bentoml", "waitress", "daphne", "sanic", "litserve"})
# Python programs besides the servers of serving.py (their logs and prints go to stdout).
_PYTHON_PROGRAMS = frozenset({"celery", "gradio"})
# Jupyter's kernels do not write to the container's stdout, and its server logs to stderr.
_NOT_STDOUT = frozenset({"jupyter", "jupyter-notebook", "jupyter-lab", "jupyter-server"})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})


@rule("ML604", "python-unbuffered-missing", Severity.INFO,
      "A Python server image sets no PYTHONUNBUFFERED, so what it prints to stdout arrives late or is lost.")
def check(df, ctx):
    if df.final_stage is None or runtime_env(df).get("PYTHONUNBUFFERED"):
        return
    processes = process_commands(df, ctx.build)
    if any(_sets_unbuffered(p) for p in processes):
        return
    kinds = [(*_kind(p), p) for p in processes]
    python = [(name, p) for kind, name, p in kinds if kind == "python"]
    if python:
        name, process = python[0]
        where = f" (in {posixpath.basename(process.source.path)})" if process.source is not None else ""
        instruction = process.instruction
        yield ctx.report(instruction.start, instruction.end,
                         f"{name}{where} runs with stdout block-buffered (no PYTHONUNBUFFERED, no `python -u`): "
                         f"print() output and loggers writing to stdout arrive in 8 KB bursts long after the event, "
                         f"and are lost when the process crashes or is killed; add ENV PYTHONUNBUFFERED=1")
        return
    if any(kind != "opaque" for kind, _, _ in kinds):
        return  # a shell, a native server, an interactive python: not a Python service
    installed = sorted({p.name for p in stage_packages(df, ctx.build, df.final_lineage)} & SERVER_PACKAGES)
    if not installed:
        return
    current = launch(df)
    instruction = current.entrypoint or current.cmd or df.final_stage.from_instruction
    yield ctx.report(instruction.start, instruction.end,
                     f"this image installs {', '.join(installed)} but sets no PYTHONUNBUFFERED: a Python server's "
                     f"stdout is block-buffered in a container, so prints and stdout logs arrive late and are lost "
                     f"on a crash; add ENV PYTHONUNBUFFERED=1")


def _kind(process) -> tuple[str, str]:
    """('python', program) | ('other', program) | ('opaque', program): what the command starts."""
    argv = unwrap(process.command.argv)
    if not argv:
        return "other", ""
    name = posixpath.basename(argv[0].value)
    server = server_of(process)
    if server is not None:
        native = server.name in NATIVE_SERVERS or server.name in _NOT_STDOUT
        return ("other" if native else "python"), server.name
    python = python_argv(argv)
    if python is not None:
        flags, rest = python
        # A bare `CMD ["python"]` is a REPL for `docker run -it`, which has a terminal.
        interactive = not rest and process.instruction.keyword == "CMD" and process.source is None
        shown = [name, *flags, *(w.value for w in rest[:2 if rest and rest[0].value in ("-m", "-c") else 1])]
        return ("other" if interactive else "python"), " ".join(shown)
    if name in _PYTHON_PROGRAMS:
        return "python", name
    if name in _SHELLS and len(argv) == 1:
        return "other", name  # an interactive shell
    return "opaque", name


def _sets_unbuffered(process) -> bool:
    """`python -u`, `PYTHONUNBUFFERED=1 cmd`, `export PYTHONUNBUFFERED=1`, or a script that mentions it."""
    if process.source is not None and "PYTHONUNBUFFERED" in process.source.text:
        return True
    command = process.command
    words = command.assignments + (command.argv[1:] if command.name == "export" else [])
    if any(w.value.startswith("PYTHONUNBUFFERED=") and w.value != "PYTHONUNBUFFERED=" for w in words):
        return True
    python = python_argv(command.argv)
    return python is not None and any(not f.startswith("--") and "u" in f for f in python[0])
