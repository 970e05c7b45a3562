"""Configuration: `.dlint.yaml` / `.dlint.yml` or `[tool.dlint]` in pyproject.toml, found from the
Dockerfile's folder upward, then overridden by the command line."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import Rule, all_rules, resolve

CONFIG_NAMES = (".dlint.yaml", ".dlint.yml")
KEYS = {"select", "ignore", "severity", "options", "failure-threshold"}


class ConfigError(Exception):
    """Invalid configuration: reported as one line, exit code 2."""


@dataclass
class Config:
    select: list[str] | None = None  # None: the rules on by default
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)  # rule code -> severity override
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule code -> {option: value}
    failure_threshold: Severity = Severity.INFO
    path: str | None = None  # where it was read from

    def enabled_rules(self) -> list[Rule]:
        rules = all_rules()
        if self.select is None:
            chosen = {code for code, r in rules.items() if r.default_enabled}
        else:
            chosen = {r.code for selector in self.select for r in _resolve(selector, "select")}
        for selector in self.ignore:
            chosen -= {r.code for r in _resolve(selector, "ignore")}
        return [rules[code] for code in sorted(chosen)]

    def rule_options(self, rule: Rule) -> dict[str, Any]:
        return {**rule.options, **self.options.get(rule.code, {})}


def _resolve(selector: str, where: str) -> list[Rule]:
    rules = resolve(selector)
    if not rules:
        raise ConfigError(f"{where}: unknown rule code or name {selector!r}")
    return rules


def find_config(start: Path) -> Path | None:
    """The nearest .dlint.yaml/.yml, or pyproject.toml holding [tool.dlint], from `start` upward."""
    folder = start.resolve()
    for directory in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            if (directory / name).is_file():
                return directory / name
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "tool" in _read_toml(pyproject) and "dlint" in _read_toml(pyproject)["tool"]:
            return pyproject
    return None


def _read_toml(path: Path) -> dict:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read TOML ({exc})") from None


def load_config(path: Path) -> Config:
    if path.name == "pyproject.toml":
        data = _read_toml(path).get("tool", {}).get("dlint", {})
    else:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"{path}: cannot read YAML ({reason})") from None
    try:
        return from_mapping(data, str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def from_mapping(data: Any, origin: str | None = None) -> Config:
    if not isinstance(data, dict):
        raise ConfigError("configuration must be a mapping of keys")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    config = Config(path=origin)
    if "select" in data:
        config.select = _code_list(data["select"], "select")
    if "ignore" in data:
        config.ignore = _code_list(data["ignore"], "ignore")
    for selector, level in _mapping(data.get("severity", {}), "severity").items():
        for rule in _resolve(selector, "severity"):
            try:
                config.severity[rule.code] = Severity.parse(str(level))
            except ValueError as exc:
                raise ConfigError(f"severity.{selector}: {exc}") from None
    for selector, values in _mapping(data.get("options", {}), "options").items():
        for rule in _resolve(selector, "options"):
            config.options[rule.code] = _rule_options(rule, _mapping(values, f"options.{selector}"), selector)
    if "failure-threshold" in data:
        try:
            config.failure_threshold = Severity.parse(str(data["failure-threshold"]))
        except ValueError as exc:
            raise ConfigError(f"failure-threshold: {exc}") from None
    return config


def _rule_options(rule: Rule, values: dict, selector: str) -> dict[str, Any]:
    checked = {}
    for name, value in values.items():
        if name not in rule.options:
            known = ", ".join(sorted(rule.options)) or "none"
            raise ConfigError(f"options.{selector}: unknown option {name!r} for {rule.code} (known: {known})")
        default = rule.options[name]
        if default is not None and not isinstance(value, type(default)) and not (
                isinstance(default, float) and isinstance(value, int)):
            raise ConfigError(f"options.{selector}.{name}: expected {type(default).__name__}, got {value!r}")
        checked[name] = value
    return checked


def _code_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of rule codes or names")
    for selector in value:
        _resolve(selector, key)
    return value


def _mapping(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping")
    return value
