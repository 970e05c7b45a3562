"""ML213 dev-tools-in-runtime: notebooks, test runners, linters or debuggers installed in a serving image."""
import posixpath

from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import report, stage_packages
from dockerlint_ml.registry import rule
from dockerlint_ml.serving import process_commands, servers, unwrap

# Development tools (canonical names): what they are, for the message. The one list of them.
DEV_TOOLS = {
    **dict.fromkeys(("jupyter", "jupyterlab", "notebook", "nbclassic", "jupyter-server", "voila"), "a notebook server"),
    **dict.fromkeys(("ipython", "ipykernel", "ipywidgets"), "an interactive shell"),
    **dict.fromkeys(("pytest", "coverage", "tox", "nox", "hypothesis"), "a test tool"),
    **dict.fromkeys(("black", "ruff", "flake8", "pylint", "mypy", "isort", "autopep8", "yapf", "pyright",
                     "bandit", "pre-commit"), "a linter or formatter"),
    **dict.fromkeys(("debugpy", "ipdb", "pdbpp"), "a debugger"),
}
DEV_PREFIXES = {"pytest-": "a test tool", "flake8-": "a linter or formatter"}
# What a notebook image runs: its command is jupyter itself (or the Jupyter Docker Stacks start scripts).
_NOTEBOOK_SERVERS = frozenset({"jupyter", "jupyter-notebook", "jupyter-lab", "jupyter-server"})
_NOTEBOOK_PROGRAMS = ("jupyter", "start-notebook", "start-singleuser", "voila")


@rule("ML213", "dev-tools-in-runtime", Severity.INFO,
      "A development tool (jupyter, pytest, black, mypy, debugpy, …) is installed in an image that runs a server.")
def check(df, ctx):
    started = servers(df, ctx.build)
    if not started or _runs_notebook(df, ctx.build, started):
        return
    server = started[0].name
    for package in stage_packages(df, ctx.build, df.final_lineage):
        kind = dev_tool(package.name)
        if kind is not None:
            yield report(ctx, package, _message(package, kind, server))


def dev_tool(name: str) -> str | None:
    """What kind of development tool a (canonical) package name is; None for anything else."""
    if name in DEV_TOOLS:
        return DEV_TOOLS[name]
    return next((kind for prefix, kind in DEV_PREFIXES.items() if name.startswith(prefix)), None)


def _runs_notebook(df, build, started) -> bool:
    if any(s.name in _NOTEBOOK_SERVERS for s in started):
        return True
    for process in process_commands(df, build):
        argv = unwrap(process.command.argv)
        if argv and posixpath.basename(argv[0].value).startswith(_NOTEBOOK_PROGRAMS):
            return True
    return False


def _message(package, kind: str, server: str) -> str:
    return (f"{package.name} is {kind}, installed in an image whose command runs {server}: it adds size, "
            f"dependencies and attack surface to every deployed container and nothing the server uses; "
            f"{_advice(package)}")


def _advice(package) -> str:
    if package.manager == "uv" and package.source is not None and package.source.path.endswith("pyproject.toml"):
        return "keep it in the dev dependency group (or move it there) and install with `uv sync --no-dev`"
    if package.manager == "poetry":
        return "keep it in the dev group (or move it there) and install with `poetry install --only main`"
    return "install it only in a dev or test stage (or a requirements-dev.txt that the runtime image does not read)"
