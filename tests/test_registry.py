"""The registry and the rule docs agree: one doc per rule and one rule per doc, headings present."""
import re

from dockerlint_ml.docs import rules_dir
from dockerlint_ml.registry import all_rules, resolve

SECTIONS = ["What it does", "Why is this bad?", "Example", "Fix safety", "Options", "References", "Test cases"]


def test_every_rule_has_a_doc_and_every_doc_a_rule():
    docs = {p.stem for p in rules_dir().glob("ML*.md")}
    assert docs == set(all_rules())


def test_docs_have_title_and_sections():
    for code, rule in all_rules().items():
        text = (rules_dir() / f"{code}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# {code} `{rule.name}`\n"), code
        headings = re.findall(r"^## (.+)$", text, re.M)
        assert headings == SECTIONS, (code, headings)


def test_codes_names_unique_and_well_formed():
    rules = all_rules()
    names = [r.name for r in rules.values()]
    assert len(names) == len(set(names))
    for code, rule in rules.items():
        assert re.fullmatch(r"ML\d{3}", code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert rule.summary.endswith(".")


def test_rules_with_fixes_show_them_fixed():
    """A rule that declares `fix=` shows at least one `fixed` / `fixed unsafe` example (run by test_rule_docs)."""
    from dockerlint_ml.docs import examples

    missing = []
    for code, rule in all_rules().items():
        if rule.fix is not None:
            kinds = {e.kind for e in examples((rules_dir() / f"{code}.md").read_text(encoding="utf-8"))}
            if not kinds & {"fixed", "fixed unsafe"}:
                missing.append(f"{code} (fix={rule.fix})")
    assert not missing, f"rules that declare a fix but show no fixed block: {', '.join(missing)}"


def test_options_documented():
    for code, rule in all_rules().items():
        text = (rules_dir() / f"{code}.md").read_text(encoding="utf-8")
        for option in rule.options:
            assert f"`{option}`" in text, (code, option)


def test_resolve_accepts_code_name_alias_prefix_and_all():
    assert [r.code for r in resolve("ML101")] == ["ML101"]
    assert [r.code for r in resolve("base-image-unpinned")] == ["ML101"]
    assert [r.code for r in resolve("DL3007")] == ["ML101"]
    assert [r.code for r in resolve("dl3007")] == ["ML101"]  # aliases match case-insensitively
    assert resolve("ml1") and all(r.code.startswith("ML1") for r in resolve("ML1"))
    assert len(resolve("ALL")) == len(all_rules())
    assert resolve("ML999") == [] and resolve("nope") == []
