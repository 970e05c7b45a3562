"""hadolint compatibility: .hadolint.yaml lookup and translation, and Docker's `# check=skip=` directive."""
import re

import pytest

from dockerlint_ml import registry
from dockerlint_ml.config import (Config, ConfigError, find_config, find_hadolint_config, from_hadolint,
                                  is_hadolint_config, load_config)
from dockerlint_ml.finding import Severity
from dockerlint_ml.model import parse
from dockerlint_ml.pragmas import parse_pragmas, suppressions
from dockerlint_ml.registry import Rule
from dockerlint_ml.text import SourceText


def _noop(df, ctx):
    return []


@pytest.fixture
def fake_rules(monkeypatch):
    """Rules standing in for the ones covering DL3026 / DL3049-DL3050 and a Docker build check, so these tests
    do not depend on how the real rules are written."""
    registry.all_rules()  # load the real ones first: later imports must not clash with the fakes
    fakes = [
        Rule("ML990", "fake-trusted-registry", Severity.ERROR, "x", _noop, default_enabled=False,
             aliases=("DL3026",), options={"trusted_registries": []}),
        Rule("ML991", "fake-label-schema", Severity.INFO, "x", _noop, default_enabled=False,
             aliases=("DL3049", "DL3050"), options={"label_schema": {}, "strict_labels": False}),
        Rule("ML992", "fake-build-check", Severity.WARNING, "x", _noop, aliases=("DL3998", "FakeBuildCheck")),
    ]
    for fake in fakes:
        monkeypatch.setitem(registry.RULES, fake.code, fake)
    return fakes


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty home and working directory, so that no real user config is found."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.chdir(work)
    return home


# --- translation -----------------------------------------------------------------------------------------


def test_ignored_codes_resolve_through_aliases_and_shellcheck_codes_pass_through():
    config = from_hadolint({"ignored": ["DL3042", "SC2086", "sc1091"]}, ".hadolint.yaml")
    assert "ML201" not in {r.code for r in config.enabled_rules()}  # ML201 covers DL3042
    assert config.shellcheck_ignored() == {"SC2086", "SC1091"}
    assert config.notices[0] == "dlint: using hadolint config .hadolint.yaml (translated: 3 ignores, system package pins as in hadolint)"


def test_unknown_codes_are_one_warning_not_an_error():
    config = from_hadolint({"ignored": ["DL9999", "DL3042"], "override": {"error": ["DL9998", "DL9999"]}}, "h.yaml")
    assert config.ignore == ["DL3042"]
    warnings = [line for line in config.notices if "warning" in line]
    assert warnings == ["dlint: warning: h.yaml: no dlint rule covers DL9999, DL9998; skipped"]
    config.enabled_rules()  # what was kept is valid


def test_override_sets_severity_style_is_info_and_enables_off_rules():
    assert not registry.all_rules()["ML104"].default_enabled  # ML104 covers DL3008, off by default
    config = from_hadolint({"override": {"error": ["DL3042"], "style": ["DL3008"], "warning": ["SC2086"]}})
    assert config.severity == {"ML201": Severity.ERROR, "ML104": Severity.INFO, "SC2086": Severity.WARNING}
    assert "ML104" in {r.code for r in config.enabled_rules()}
    assert "3 overrides" in config.notices[0]


def test_ignored_wins_over_override():
    config = from_hadolint({"ignored": ["DL3008"], "override": {"error": ["DL3008"]}})
    assert "ML104" not in {r.code for r in config.enabled_rules()}


def test_trusted_registries_and_label_schema_become_rule_options(fake_rules):
    config = from_hadolint({"trustedRegistries": "docker.io", "label-schema": {"author": "text", "url": "url"},
                            "strict-labels": True})
    assert config.options["ML990"] == {"trusted_registries": ["docker.io"]}
    assert config.options["ML991"] == {"label_schema": {"author": "text", "url": "url"}, "strict_labels": True}
    enabled = {r.code for r in config.enabled_rules()}
    assert {"ML990", "ML991"} <= enabled  # as in hadolint, these rules act once configured
    assert "trustedRegistries, label-schema, strict-labels" in config.notices[0]
    listed = from_hadolint({"trustedRegistries": ["a.io", "*.gcr.io"]})
    assert listed.options["ML990"] == {"trusted_registries": ["a.io", "*.gcr.io"]}


@pytest.mark.parametrize("level, threshold", [("error", Severity.ERROR), ("style", Severity.INFO),
                                              ("none", None), ("ignore", None)])
def test_failure_threshold(level, threshold):
    config = from_hadolint({"failure-threshold": level})
    assert config.failure_threshold == threshold
    assert config.fails_on(Severity.ERROR) is (threshold is not None)
    assert config.fails_on(Severity.INFO) is (threshold == Severity.INFO)


def test_no_fail_and_keys_dlint_leaves_alone():
    config = from_hadolint({"no-fail": True, "format": "json", "verbose": True, "colour": 1}, "h.yaml")
    assert config.failure_threshold is None
    assert config.notices[-1] == ("dlint: warning: h.yaml: keys left alone: format (use --format), "
                                  "verbose (no verbose mode), colour (not a hadolint key)")


@pytest.mark.parametrize("data, needle", [
    ({"override": {"fatal": ["DL3008"]}}, "unknown level 'fatal'"),
    ({"ignored": "DL3008"}, "ignored: expected a list"),
    ({"failure-threshold": "high"}, "unknown level 'high'"),
    ({"trustedRegistries": 3}, "trustedRegistries"),
    (["DL3008"], "mapping"),
])
def test_invalid_hadolint_config(data, needle):
    with pytest.raises(ConfigError, match=needle):
        from_hadolint(data)


def test_empty_hadolint_config():
    config = from_hadolint(None, "h.yaml")
    assert config.ignore == [] and config.notices == ["dlint: using hadolint config h.yaml (translated: system package pins as in hadolint)"]


# --- which file is read ----------------------------------------------------------------------------------


def test_hadolint_config_found_upward_from_the_dockerfile(tmp_path, home):
    (tmp_path / "repo" / "svc").mkdir(parents=True)
    (tmp_path / "repo" / ".hadolint.yml").write_text("ignored: [DL3042]\n")
    assert find_config(tmp_path / "repo" / "svc") == tmp_path / "repo" / ".hadolint.yml"


def test_dlint_config_anywhere_upward_wins(tmp_path, home):
    (tmp_path / "repo" / "svc").mkdir(parents=True)
    (tmp_path / "repo" / "svc" / ".hadolint.yaml").write_text("ignored: [DL3042]\n")
    (tmp_path / "repo" / ".dlint.yaml").write_text("ignore: [ML201]\n")
    assert find_config(tmp_path / "repo" / "svc") == tmp_path / "repo" / ".dlint.yaml"


def test_hadolint_lookup_order(tmp_path, home, monkeypatch):
    start = tmp_path / "elsewhere"
    start.mkdir()
    places = [home / ".hadolint.yaml", home / "hadolint" / "config.yaml", home / ".hadolint" / "hadolint.yml",
              home / ".config" / "hadolint.yaml", tmp_path / "xdg" / "hadolint.yaml",
              tmp_path / "work" / ".hadolint.yaml"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert find_hadolint_config(start) is None
    for place in places:  # each one found beats those written before it
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_text("{}\n")
        assert find_hadolint_config(start) == place


def test_hadolint_config_told_apart_by_name_or_keys(tmp_path):
    assert is_hadolint_config(tmp_path / ".hadolint.yaml", {})
    assert is_hadolint_config(tmp_path / "hadolint" / "config.yaml", {})
    assert is_hadolint_config(tmp_path / "lint.yaml", {"ignored": ["DL3008"], "failure-threshold": "error"})
    assert not is_hadolint_config(tmp_path / "lint.yaml", {"failure-threshold": "error"})
    assert not is_hadolint_config(tmp_path / ".dlint.yaml", {"ignore": ["ML201"]})
    (tmp_path / "lint.yaml").write_text("ignored: [DL3042]\nfailure-threshold: warning\n")
    config = load_config(tmp_path / "lint.yaml")
    assert config.ignore == ["DL3042"] and config.failure_threshold == Severity.WARNING


def test_dlint_config_accepts_shellcheck_codes_and_key():
    from dockerlint_ml.config import from_mapping

    config = from_mapping({"ignore": ["SC2086", "ML201"], "severity": {"SC2164": "error"}, "shellcheck": True})
    assert config.shellcheck and config.shellcheck_ignored() == {"SC2086"}
    assert config.severity == {"SC2164": Severity.ERROR}
    assert "ML201" not in {r.code for r in config.enabled_rules()}
    with pytest.raises(ConfigError, match="shellcheck"):
        from_mapping({"shellcheck": "yes"})
    with pytest.raises(ConfigError, match="SC2086"):
        from_mapping({"select": ["SC2086"]})


# --- Docker's # check=skip= directive --------------------------------------------------------------------


def _df(text: str):
    return parse(SourceText("Dockerfile", text))


def test_check_skip_in_the_header_is_file_wide(fake_rules):
    df = _df("# syntax=docker/dockerfile:1\n# check=skip=FakeBuildCheck,JSONArgsRecommended;error=true\n"
             "FROM scratch\n")
    file_wide, per_instruction = suppressions(df)
    assert "ML992" in file_wide and per_instruction == {}
    # any order of the directive's parts; rule names match whatever their case
    assert "ML992" in suppressions(_df("# check=error=true;skip=fakebuildcheck\nFROM scratch\n"))[0]


def test_check_skip_all_silences_only_rules_that_are_build_checks(fake_rules):
    file_wide, _ = suppressions(_df("# check=skip=all\nFROM scratch\n"))
    assert "ML992" in file_wide
    assert "ML201" not in file_wide  # pip-cache-in-layer: a hadolint code (DL3042), no Docker build check
    for code in file_wide:
        assert any(not re.fullmatch(r"DL\d{4}", alias) for alias in registry.all_rules()[code].aliases), code


def test_check_skip_above_an_instruction_binds_to_it(fake_rules):
    df = _df("FROM scratch\n# check=skip=FakeBuildCheck\nCOPY a /a\nCOPY b /b\n")
    file_wide, per_instruction = suppressions(df)
    assert file_wide == set() and per_instruction == {1: {"ML992"}}
    assert [p.tool for p in parse_pragmas(df)] == ["check"]


def test_pragmas_keep_shellcheck_codes():
    df = _df("FROM scratch\n# hadolint ignore=SC2086,DL3042\nRUN echo $x\n# dlint global ignore=sc2164\n")
    file_wide, per_instruction = suppressions(df)
    assert file_wide == {"SC2164"} and per_instruction == {1: {"SC2086", "ML201"}}


def test_default_config_has_no_notices():
    assert Config().notices == [] and Config().fails_on(Severity.INFO)


def test_hadolint_stage_ignore_silences_the_following_stage():
    df = _df("FROM scratch AS a\nRUN echo\n# hadolint stage ignore=DL3042\nFROM scratch AS b\nRUN echo\nRUN echo\n"
             "FROM scratch\nRUN echo\n")
    file_wide, per_instruction = suppressions(df)
    assert file_wide == set() and per_instruction == {2: {"ML201"}, 3: {"ML201"}, 4: {"ML201"}}


def test_migration_doc_example_translates_to_its_dlint_equivalent():
    """docs/hadolint-migration.md shows a .hadolint.yaml and the .dlint.yaml that says the same."""
    from pathlib import Path

    import yaml

    from dockerlint_ml.config import from_mapping

    doc = (Path(__file__).resolve().parent.parent / "docs" / "hadolint-migration.md").read_text()
    hadolint_yaml, dlint_yaml = re.findall(r"```yaml\n(.*?)```", doc, re.S)[:2]
    translated, written = from_hadolint(yaml.safe_load(hadolint_yaml)), from_mapping(yaml.safe_load(dlint_yaml))
    assert translated.severity == written.severity and translated.options == written.options
    assert translated.enabled_rules() == written.enabled_rules()
    assert translated.shellcheck_ignored() == written.shellcheck_ignored()
    assert translated.failure_threshold == written.failure_threshold


def test_hadolint_config_keeps_hadolints_system_package_pins_unless_ignored():
    config = from_hadolint({"ignored": ["DL3033"]}, "h.yaml")
    assert "ML104" in {r.code for r in config.enabled_rules()}
    assert config.options["ML719"]["managers"] == ["npm", "gem", "go", "apk", "zypper", "dnf"]
    config = from_hadolint({"ignored": ["DL3008", "DL3018", "DL3033", "DL3037", "DL3041"]}, "h.yaml")
    assert "ML104" not in {r.code for r in config.enabled_rules()} and "ML719" not in config.options
