"""README stays true: its rule table matches the registry, and .ci/run runs its test command."""
import re

from conftest import ROOT
from dockerlint_ml.docs import with_rules_table
from dockerlint_ml.registry import all_rules


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_rule_table_is_current():
    """The table is generated from the registry and rules/; regenerate: python -m dockerlint_ml.docs README.md"""
    text = readme()
    assert with_rules_table(text) == text


def test_rule_table_lists_every_rule_with_its_doc():
    table = readme().split("<!-- rules-table")[1].split("<!-- end rules-table -->")[0]
    codes = re.findall(r"^\| \[(ML\d{3})\]\(rules/(ML\d{3})\.md\)", table, re.M)
    assert [a for a, _ in codes] == list(all_rules())
    assert all(a == b and (ROOT / "rules" / f"{b}.md").is_file() for a, b in codes)


def test_ci_runs_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)```", readme(), re.S)
    test_command = next(b.strip() for b in blocks if "pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_configuration_example_is_valid():
    """The `.dlint.yaml` the README shows loads without error and means what its comments say."""
    import yaml

    from dockerlint_ml.config import from_mapping

    block = readme().split("## Configuration")[1].split("```yaml\n")[1].split("```")[0]
    config = from_mapping(yaml.safe_load(block))
    assert config.options == {"ML210": {"threshold_mb": 500}} and config.shellcheck
    assert "ML302" in config.ignore and config.select == ["ALL"]
