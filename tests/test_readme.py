"""README stays true: its rule table matches the registry, and .ci/run runs its test command."""
import re

from conftest import ROOT
from dockerlint_ml.registry import all_rules


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_registry():
    table = readme().split("<!-- rules-table")[1].split("<!-- end rules-table -->")[0]
    rows = [line for line in table.splitlines() if re.match(r"\| ML\d{3} ", line)]
    expected = [f"| {r.code} | {r.name} | {r.severity} | {'on' if r.default_enabled else 'off'} | {r.fix_label} | "
                f"{', '.join(r.aliases)} |".replace("|  |", "| |") for r in all_rules().values()]
    assert rows == expected


def test_ci_runs_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)```", readme(), re.S)
    test_command = next(b.strip() for b in blocks if "pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
