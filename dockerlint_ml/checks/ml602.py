"""ML602 worker-thread-oversubscription: several server workers in a torch/TF/ONNX image with no thread cap."""
import re

from dockerlint_ml import shell
from dockerlint_ml.finding import Severity
from dockerlint_ml.packages import stage_packages
from dockerlint_ml.registry import rule
from dockerlint_ml.serving import (env_instruction, option_text, process_commands, runtime_env, server_args,
                                   server_of, word_value)

# Frameworks that size an intra-op thread pool to the machine's cores (PyPI and conda names -> family),
# in the order a message names them, and how each one's pool is capped.
FRAMEWORKS = {
    "torch": re.compile(r"torch|pytorch"),
    "tensorflow": re.compile(r"tensorflow(-cpu|-gpu|-intel)?|tf-nightly"),
    "jax": re.compile(r"jax|jaxlib"),
    "onnxruntime": re.compile(r"onnxruntime(-[a-z]+)?"),
    "mxnet": re.compile(r"mxnet(-[a-z0-9]+)?"),
    "paddlepaddle": re.compile(r"paddlepaddle(-gpu)?"),
}
_ADVICE = {
    "tensorflow": "set ENV TF_NUM_INTRAOP_THREADS=1 and OMP_NUM_THREADS=1 (or CPU cores ÷ workers)",
    "jax": "set ENV XLA_FLAGS=\"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1\"",
    "onnxruntime": "give each InferenceSession SessionOptions.intra_op_num_threads = CPU cores ÷ workers (ONNX "
                   "Runtime sizes its pool to the cores and ignores OMP_NUM_THREADS)",
}
_DEFAULT_ADVICE = "set ENV OMP_NUM_THREADS=1 (or CPU cores ÷ workers)"
# Images that ship one of them preinstalled: pytorch/pytorch, nvcr.io/nvidia/tensorflow, .../pytorch-notebook.
_FRAMEWORK_IMAGE = re.compile(r"(^|[/_-])(pytorch|torch|tensorflow)([/_-]|$)")
# The variables each framework sizes its pool from; any one of them set counts as capped. TORCH_NUM_THREADS is
# not one: torch does not read it. ONNX Runtime reads none (SessionOptions in code only).
CAPS = {
    "torch": ("OMP_NUM_THREADS", "MKL_NUM_THREADS"),
    "tensorflow": ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"),
    "jax": ("XLA_FLAGS",),  # with intra_op_parallelism_threads in it
    "onnxruntime": (),
    "mxnet": ("OMP_NUM_THREADS", "MKL_NUM_THREADS"),
    "paddlepaddle": ("OMP_NUM_THREADS", "MKL_NUM_THREADS"),
}
_PER_CORE = re.compile(r"nproc|cpu_count|NUMBER_OF_PROCESSORS")
# Servers that take their worker count from WEB_CONCURRENCY when no option gives it.
_WEB_CONCURRENCY_READERS = frozenset({"gunicorn", "uvicorn"})


@rule("ML602", "worker-thread-oversubscription", Severity.WARNING,
      "Several server workers each run torch/TensorFlow/ONNX Runtime with an uncapped thread pool, so their "
      "threads fight for the cores.")
def check(df, ctx):
    if df.final_stage is None:
        return
    env = runtime_env(df)
    processes = process_commands(df, ctx.build)
    framework = _uncapped_framework(df, ctx.build, {**env, **_exported(processes)})
    if framework is None:
        return
    found = [s for s in (server_of(p) for p in processes) if s is not None]
    defaulted = set()  # servers whose worker count is not on their command line
    for server in found:
        option = server.option(*server.spec.workers) if server.spec.workers else None
        if option is None or option.value is None:
            defaulted.add(server.name)
            continue
        count = _count(option.value.value, word_value(option.value, server.process, env))
        if count is not None:
            yield ctx.report(option.word.start, option.value.end,
                             _message(server.name, count, option_text(option), framework,
                                      server.option("--preload") is not None),
                             source=server.process.source)
    yield from _from_environment(df, ctx, env, framework, found, defaulted)


def _from_environment(df, ctx, env, framework, found, defaulted):
    """GUNICORN_CMD_ARGS and WEB_CONCURRENCY, for the servers that read them (or an unseen server)."""
    unseen = not found
    if "GUNICORN_CMD_ARGS" in env and ("gunicorn" in defaulted or unseen):
        words = [w for c in shell.parse_script(env["GUNICORN_CMD_ARGS"], 0) for w in c.words]
        options, _ = server_args("gunicorn", words)
        workers = [o for name in ("-w", "--workers") for o in options.get(name, []) if o.value is not None]
        if workers:
            count = _count(workers[-1].value.value, workers[-1].value.value)
            if count is not None:
                instruction = env_instruction(df, "GUNICORN_CMD_ARGS") or df.final_stage.from_instruction
                yield ctx.report(instruction.start, instruction.end,
                                 _message("gunicorn", count, f"GUNICORN_CMD_ARGS={env['GUNICORN_CMD_ARGS']}",
                                          framework, "--preload" in options))
                return  # it wins over WEB_CONCURRENCY
    if "WEB_CONCURRENCY" in env and (defaulted & _WEB_CONCURRENCY_READERS or unseen):
        count = _count(env["WEB_CONCURRENCY"], env["WEB_CONCURRENCY"])
        if count is not None:
            instruction = env_instruction(df, "WEB_CONCURRENCY") or df.final_stage.from_instruction
            server = next(iter(sorted(defaulted & _WEB_CONCURRENCY_READERS)), "the server")
            yield ctx.report(instruction.start, instruction.end,
                             _message(server, count, f"WEB_CONCURRENCY={env['WEB_CONCURRENCY']}", framework, False))


def _uncapped_framework(df, build, env) -> str | None:
    """The first framework (in FRAMEWORKS order) the final lineage installs whose thread pool is not capped."""
    names = {p.name for p in stage_packages(df, build, df.final_lineage)}
    base = df.final_lineage[-1].base
    image = None if base.unresolved else _FRAMEWORK_IMAGE.search(base.name.lower())
    for family, pattern in FRAMEWORKS.items():
        installed = any(pattern.fullmatch(name) for name in names) or (image and family in image.group(2))
        if installed and not any(_caps(name, env.get(name)) for name in CAPS[family]):
            return family
    return None


def _caps(name: str, value: str | None) -> bool:
    if name == "XLA_FLAGS":
        return value is not None and "intra_op_parallelism_threads" in value
    return bool(value)


def _count(raw: str, value: str | None) -> int | str | None:
    """Workers > 1: a number, or 'per core' for $(nproc)-style values; None for 1 or unknown."""
    if _PER_CORE.search(raw):
        return "per core"
    if value is not None and value.strip().isdigit() and int(value) > 1:
        return int(value)
    return None


def _exported(processes) -> dict[str, str]:
    """Variables the start command sets itself: `OMP_NUM_THREADS=1 gunicorn ...`, `export X=...`, and, for an
    entrypoint script, any cap variable it mentions (it may compute the value)."""
    found = {}
    for process in processes:
        if process.source is not None:
            found.update({name: "?" for caps in CAPS.values() for name in caps if name in process.source.text})
        command = process.command
        for word in command.assignments + (command.argv[1:] if command.name == "export" else []):
            name, eq, value = word.value.partition("=")
            if eq:
                found[name] = value
    return found


def _message(server: str, count, written: str, framework: str, preload: bool) -> str:
    workers = "a worker process per CPU core" if count == "per core" else f"{count} worker processes"
    times = "the number of workers" if count == "per core" else count
    memory = "" if preload else f", and each loads its own copy of the model (memory × {times})"
    return (f"{server} starts {workers} ({written}) in an image with {framework} and nothing caps its threads: "
            f"each worker's {framework} thread pool takes every CPU core, so the workers' threads fight over the "
            f"same cores (latency spikes under load){memory}; {_ADVICE.get(framework, _DEFAULT_ADVICE)}")
