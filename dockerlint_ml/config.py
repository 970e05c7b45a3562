"""Configuration: `.dlint.yaml` / `.dlint.yml` or `[tool.dlint]` in pyproject.toml, found from the
Dockerfile's folder upward, then overridden by the command line.

Where there is no dlint configuration, an existing hadolint one (`.hadolint.yaml`) is read and translated
(docs/hadolint-migration.md), so a team can switch linters without rewriting its configuration first.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import Rule, all_rules, resolve

CONFIG_NAMES = (".dlint.yaml", ".dlint.yml")
KEYS = {"select", "ignore", "severity", "options", "failure-threshold", "shellcheck"}

HADOLINT_NAMES = (".hadolint.yaml", ".hadolint.yml")
# Every key hadolint 2.15 reads from its config file (src/Hadolint/Config/Configuration.hs).
HADOLINT_KEYS = {"ignored", "override", "trustedRegistries", "label-schema", "strict-labels", "failure-threshold",
                 "no-fail", "no-color", "verbose", "format", "formats", "disable-ignore-pragma"}
# hadolint's levels; dlint has no "style", so style findings are info.
HADOLINT_LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "style": Severity.INFO}
_SHELLCHECK_CODE = re.compile(r"SC\d{4}", re.IGNORECASE)


def is_shellcheck_code(selector: str) -> bool:
    """ShellCheck codes (SC2086) belong to the --shellcheck layer, not to a rule in the registry."""
    return bool(_SHELLCHECK_CODE.fullmatch(selector.strip()))


class ConfigError(Exception):
    """Invalid configuration: reported as one line, exit code 2."""


@dataclass
class Config:
    select: list[str] | None = None  # None: the rules on by default
    extend_select: list[str] = field(default_factory=list)  # enabled on top of `select` (a --select drops them)
    ignore: list[str] = field(default_factory=list)  # rule selectors, and ShellCheck codes (SC2086)
    severity: dict[str, Severity] = field(default_factory=dict)  # rule code or SC code -> severity override
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule code -> {option: value}
    failure_threshold: Severity | None = Severity.INFO  # None: never fail (hadolint's `no-fail`)
    shellcheck: bool = False  # also run ShellCheck on RUN scripts (dockerlint_ml/shellcheck.py)
    path: str | None = None  # where it was read from
    notices: list[str] = field(default_factory=list)  # lines for stderr, printed once when the file is read

    def enabled_rules(self) -> list[Rule]:
        rules = all_rules()
        if self.select is None:
            chosen = {code for code, r in rules.items() if r.default_enabled}
        else:
            chosen = {r.code for selector in self.select for r in _resolve(selector, "select")}
        chosen |= {r.code for selector in self.extend_select for r in _resolve(selector, "select")}
        for selector in self.ignore:
            if not is_shellcheck_code(selector):
                chosen -= {r.code for r in _resolve(selector, "ignore")}
        return [rules[code] for code in sorted(chosen)]

    def rule_options(self, rule: Rule) -> dict[str, Any]:
        return {**rule.options, **self.options.get(rule.code, {})}

    def shellcheck_ignored(self) -> set[str]:
        return {selector.strip().upper() for selector in self.ignore if is_shellcheck_code(selector)}

    def fails_on(self, severity: Severity) -> bool:
        """Whether a finding of `severity` makes the run exit 1."""
        return self.failure_threshold is not None and severity >= self.failure_threshold


def _resolve(selector: str, where: str) -> list[Rule]:
    rules = resolve(selector)
    if not rules:
        raise ConfigError(f"{where}: unknown rule code or name {selector!r}")
    return rules


def find_config(start: Path) -> Path | None:
    """The nearest .dlint.yaml/.yml, or pyproject.toml holding [tool.dlint], from `start` upward; without
    one anywhere up there, the hadolint configuration hadolint itself would use (`find_hadolint_config`)."""
    folder = start.resolve()
    for directory in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            if (directory / name).is_file():
                return directory / name
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "tool" in _read_toml(pyproject) and "dlint" in _read_toml(pyproject)["tool"]:
            return pyproject
    return find_hadolint_config(folder)


def find_hadolint_config(start: Path) -> Path | None:
    """The nearest .hadolint.yaml/.yml from `start` upward (as dlint looks for its own), then hadolint's own
    places in its order: $PWD, $XDG_CONFIG_HOME, ~/.config, ~/.hadolint/, ~/hadolint/config, ~/.hadolint."""
    folder = start.resolve()
    places = [directory / name for directory in (folder, *folder.parents) for name in HADOLINT_NAMES]
    places += [Path.cwd() / name for name in HADOLINT_NAMES]
    home = Path.home()  # $HOME when set
    xdg = os.environ.get("XDG_CONFIG_HOME")
    stems = [Path(xdg) / "hadolint"] if xdg else []
    stems += [home / ".config" / "hadolint", home / ".hadolint" / "hadolint", home / "hadolint" / "config",
              home / ".hadolint"]
    places += [stem.with_name(stem.name + suffix) for stem in stems for suffix in (".yaml", ".yml")]
    return next((place for place in places if place.is_file()), None)


def _read_toml(path: Path) -> dict:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read TOML ({exc})") from None


def load_config(path: Path) -> Config:
    """Read a dlint configuration, or a hadolint one (told apart by its name, else by its keys)."""
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
        if path.name != "pyproject.toml" and is_hadolint_config(path, data):
            return from_hadolint(data, str(path))
        return from_mapping(data, str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def is_hadolint_config(path: Path, data: Any) -> bool:
    """hadolint's file names (.hadolint.yaml, ~/.hadolint/hadolint.yaml, ~/hadolint/config.yaml…), or a
    mapping of hadolint keys only, with at least one that dlint does not have (`--config ci/lint.yaml`)."""
    if "hadolint" in path.name.lower() or path.parent.name.lower() in ("hadolint", ".hadolint"):
        return True
    keys = set(data) if isinstance(data, dict) else set()
    return bool(keys) and keys <= HADOLINT_KEYS and not keys <= KEYS


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
        config.ignore = _code_list(data["ignore"], "ignore", shellcheck=True)
    for selector, level in _mapping(data.get("severity", {}), "severity").items():
        try:
            severity = Severity.parse(str(level))
        except ValueError as exc:
            raise ConfigError(f"severity.{selector}: {exc}") from None
        codes = [selector.upper()] if is_shellcheck_code(selector) else [r.code for r in _resolve(selector, "severity")]
        config.severity.update(dict.fromkeys(codes, severity))
    for selector, values in _mapping(data.get("options", {}), "options").items():
        for rule in _resolve(selector, "options"):
            config.options[rule.code] = _rule_options(rule, _mapping(values, f"options.{selector}"), selector)
    if "failure-threshold" in data:
        try:
            config.failure_threshold = Severity.parse(str(data["failure-threshold"]))
        except ValueError as exc:
            raise ConfigError(f"failure-threshold: {exc}") from None
    if "shellcheck" in data:
        if not isinstance(data["shellcheck"], bool):
            raise ConfigError(f"shellcheck: expected true or false, got {data['shellcheck']!r}")
        config.shellcheck = data["shellcheck"]
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


def _code_list(value: Any, key: str, shellcheck: bool = False) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of rule codes or names")
    for selector in value:
        if not (shellcheck and is_shellcheck_code(selector)):
            _resolve(selector, key)
    return value


def _mapping(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping")
    return value


# --- hadolint configuration ---------------------------------------------------------------------------

# hadolint keys whose work dlint does elsewhere or not at all: read, then left alone with a warning.
_HADOLINT_UNSUPPORTED = {
    "disable-ignore-pragma": "pragmas always apply",
    "format": "use --format", "formats": "use --format",
    "no-color": "use --no-color", "verbose": "no verbose mode",
}


def from_hadolint(data: Any, origin: str | None = None) -> Config:
    """Translate a hadolint configuration: codes go through the rules' aliases (DL3008 → the rule covering it),
    ShellCheck codes to the --shellcheck layer. Codes no dlint rule covers are skipped with one warning."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError("configuration must be a mapping of keys")
    config = Config(path=origin)
    unknown: list[str] = []  # codes no dlint rule covers, in the order met
    done = [_hadolint_ignored(config, data.get("ignored"), unknown),
            _hadolint_overrides(config, data.get("override"), unknown),
            *_hadolint_rule_options(config, data, unknown),
            _hadolint_threshold(config, data),
            _hadolint_system_pins(config, data.get("ignored") or [])]
    where = origin or "hadolint config"
    config.notices.append(f"dlint: using hadolint config {where} "
                          f"(translated: {', '.join(item for item in done if item) or 'nothing'})")
    if unknown:
        config.notices.append(f"dlint: warning: {where}: no dlint rule covers {', '.join(unknown)}; skipped")
    skipped = [f"{key} ({_HADOLINT_UNSUPPORTED.get(key, 'not a hadolint key')})"
               for key in data if key not in HADOLINT_KEYS - set(_HADOLINT_UNSUPPORTED)]
    if skipped:
        config.notices.append(f"dlint: warning: {where}: keys left alone: {', '.join(skipped)}")
    return config


# hadolint pins system packages by default (DL3008 apt, DL3018 apk, DL3033 yum, DL3037 zypper, DL3041 dnf), which
# dlint leaves off because distribution mirrors drop old versions. A team bringing its hadolint config keeps them.
_SYSTEM_PIN_CODES = {"DL3008": None, "DL3018": "apk", "DL3033": "yum", "DL3037": "zypper", "DL3041": "dnf"}


def _hadolint_system_pins(config: Config, ignored: list) -> str:
    ignored = {str(code).upper() for code in ignored}
    kept = [code for code in _SYSTEM_PIN_CODES if code not in ignored]
    if not kept:
        return ""
    if "DL3008" in kept:
        config.extend_select.extend(r.code for r in resolve("DL3008"))
    for rule in resolve("DL3018"):  # the rule covering the other package managers' pins
        managers = list(config.options.get(rule.code, {}).get("managers", rule.options.get("managers", [])))
        managers += [m for code, m in _SYSTEM_PIN_CODES.items() if m and code in kept and m not in managers]
        config.options.setdefault(rule.code, {})["managers"] = managers
    return "system package pins as in hadolint"


def _rules_for(code: Any, key: str, unknown: list[str]) -> list[Rule]:
    if not isinstance(code, str):
        raise ConfigError(f"{key}: expected rule codes, got {code!r}")
    rules = resolve(code)
    if not rules and code not in unknown:
        unknown.append(code)
    return rules


def _hadolint_ignored(config: Config, ignored: Any, unknown: list[str]) -> str:
    if not ignored:
        return ""
    if not isinstance(ignored, list):
        raise ConfigError("ignored: expected a list of rule codes")
    for code in ignored:
        if is_shellcheck_code(str(code)) or _rules_for(code, "ignored", unknown):
            config.ignore.append(code)
    return _plural(len(config.ignore), "ignore")


def _hadolint_overrides(config: Config, override: Any, unknown: list[str]) -> str:
    count = 0
    for level, codes in _mapping(override or {}, "override").items():
        if level not in HADOLINT_LEVELS:
            raise ConfigError(f"override: unknown level {level!r} (expected error, warning, info or style)")
        if not isinstance(codes, list):
            raise ConfigError(f"override.{level}: expected a list of rule codes")
        for code in codes:
            if is_shellcheck_code(str(code)):
                config.severity[code.upper()] = HADOLINT_LEVELS[level]
                count += 1
                continue
            for rule in _rules_for(code, f"override.{level}", unknown):
                config.severity[rule.code] = HADOLINT_LEVELS[level]
                config.extend_select.append(rule.code)  # as in hadolint, overriding an off rule turns it on
                count += 1
    return _plural(count, "override") if count else ""


def _hadolint_rule_options(config: Config, data: dict, unknown: list[str]) -> list[str]:
    """trustedRegistries, label-schema and strict-labels: options of the rules covering DL3026 and DL3049."""
    done = []
    registries = data.get("trustedRegistries")
    if registries is not None:
        registries = [registries] if isinstance(registries, str) else registries
        if not isinstance(registries, list) or not all(isinstance(r, str) for r in registries):
            raise ConfigError("trustedRegistries: expected a registry or a list of registries")
        done.append(_set_option(config, ("DL3026",), "trusted_registries", registries, "trustedRegistries", unknown))
    if data.get("label-schema") is not None:
        schema = {str(k): str(v) for k, v in _mapping(data["label-schema"], "label-schema").items()}
        done.append(_set_option(config, ("DL3049",), "label_schema", schema, "label-schema", unknown))
    if data.get("strict-labels") is not None:
        if not isinstance(data["strict-labels"], bool):
            raise ConfigError(f"strict-labels: expected true or false, got {data['strict-labels']!r}")
        done.append(_set_option(config, ("DL3050", "DL3049"), "strict_labels", data["strict-labels"],
                                "strict-labels", unknown))
    return done


def _hadolint_threshold(config: Config, data: dict) -> str:
    if data.get("no-fail") is True:
        config.failure_threshold = None
        return "no-fail"
    if "failure-threshold" not in data:
        return ""
    level = str(data["failure-threshold"]).lower()
    if level in ("none", "ignore"):
        config.failure_threshold = None
    elif level in HADOLINT_LEVELS:
        config.failure_threshold = HADOLINT_LEVELS[level]
    else:
        raise ConfigError(f"failure-threshold: unknown level {level!r} "
                          "(expected error, warning, info, style, ignore or none)")
    return "failure-threshold"


def _set_option(config: Config, codes: tuple[str, ...], option: str, value: Any, key: str,
                unknown: list[str]) -> str:
    """Give `option` to the rules covering hadolint `codes` that have it, and turn them on: in hadolint
    these rules act only once the key is set."""
    rules = [r for code in codes for r in resolve(code) if option in r.options]
    if not rules:
        unknown.append(f"{codes[0]} ({key})")
        return ""
    for rule in rules:
        typed = tuple(value) if isinstance(rule.options[option], tuple) else value
        config.options.setdefault(rule.code, {}).update(_rule_options(rule, {option: typed}, key))
        config.extend_select.append(rule.code)
    return key


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
