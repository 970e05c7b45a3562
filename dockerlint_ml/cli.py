"""Command line: dlint check | rules | rule CODE."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dockerlint_ml import __version__
from dockerlint_ml.config import Config, ConfigError, find_config, load_config
from dockerlint_ml.finding import Severity
from dockerlint_ml.text import InputError, decode, read_source

DOCKERFILE_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile", "Containerfile.*")
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache",
             ".pytest_cache", ".ipynb_checkpoints"}
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        return args.run(args)
    except (InputError, ConfigError, UsageError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as other CLI tools do.
        sys.stderr.close()
        return EXIT_ERROR


def _fail(message: str) -> int:
    print(f"dlint: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlint", description="Lint, fix and measure Dockerfiles of ML images.")
    parser.add_argument("--version", action="version", version=f"dlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="lint Dockerfiles, the requirements they install and their context")
    check.add_argument("paths", nargs="*", metavar="PATH",
                       help="Dockerfiles or folders to search (default: .); - reads standard input")
    check.add_argument("--context", metavar="DIR", help="build context (default: each Dockerfile's folder)")
    check.add_argument("--select", action="append", metavar="CODES",
                       help="rules to run: codes, names, prefixes (ML2) or ALL; replaces the configured set")
    check.add_argument("--ignore", action="append", metavar="CODES", help="rules to skip (added to the configured ones)")
    check.add_argument("--severity", choices=["error", "warning", "info"],
                       help="report only findings at or above this severity (default: info)")
    check.add_argument("--failure-threshold", choices=["error", "warning", "info"],
                       help="exit 1 only for findings at or above this severity (default: info)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--statistics", action="store_true", help="print a count per rule instead of findings")
    check.add_argument("--no-color", action="store_true", help="no colors (NO_COLOR is honoured too)")
    check.add_argument("--config", metavar="FILE", help="configuration file (default: nearest .dlint.yaml or "
                       "pyproject.toml [tool.dlint] above each Dockerfile, else a hadolint config)")
    check.add_argument("--shellcheck", action="store_true",
                       help="also run ShellCheck on RUN scripts (pip install 'dockerlint-ml[shellcheck]')")
    check.add_argument("--format", default="text",
                       choices=["text", "json", "sarif", "github", "gitlab", "checkstyle", "junit"],
                       help="output format (default: text)")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    check.set_defaults(run=run_check)

    rules = commands.add_parser("rules", help="list the rules")
    rules.add_argument("--format", default="text", choices=["text", "json"])
    rules.set_defaults(run=run_rules)

    rule = commands.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("rule", metavar="CODE|NAME")
    rule.set_defaults(run=run_rule)
    return parser


def find_dockerfiles(folder: Path) -> list[Path]:
    import fnmatch

    found = []
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(".dockerignore"):
                continue
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in DOCKERFILE_PATTERNS):
                found.append(Path(directory) / name)
    return found


def _targets(paths: list[str]) -> list[str]:
    targets = []
    for path in paths or ["."]:
        if path == "-":
            targets.append(path)
        elif os.path.isdir(path):
            found = find_dockerfiles(Path(path))
            if not found and paths:
                raise UsageError(f"{path}: no Dockerfile found in this folder")
            targets.extend(str(p) for p in found)
        elif os.path.exists(path):
            targets.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return targets


def _config_for(path: str, args, cache: dict) -> Config:
    """The configuration for one Dockerfile: --config, or the nearest config file, then CLI overrides."""
    if args.config:
        location = Path(args.config)
        if not location.is_file():
            raise ConfigError(f"{args.config}: no such configuration file")
    else:
        start = Path(path).parent if path != "-" else Path.cwd()
        location = find_config(start)
    if location not in cache:
        config = load_config(location) if location else Config()
        for notice in config.notices:  # e.g. which hadolint config was translated: once per file read
            print(notice, file=sys.stderr)
        if args.select:
            config.select = [s for value in args.select for s in value.replace(",", " ").split()]
            config.extend_select = []
        if args.ignore:
            config.ignore = config.ignore + [s for value in args.ignore for s in value.replace(",", " ").split()]
        if args.failure_threshold:
            config.failure_threshold = Severity.parse(args.failure_threshold)
        config.shellcheck |= args.shellcheck
        config.enabled_rules()  # validate selectors now: unknown codes are a usage error (exit 2)
        cache[location] = config
    return cache[location]


def run_check(args) -> int:
    from dockerlint_ml.engine import RuleCrash, ToolError, lint_source
    from dockerlint_ml.registry import all_rules
    from dockerlint_ml import report

    if args.context and not os.path.isdir(args.context):
        raise UsageError(f"--context {args.context}: not a folder")
    minimum = Severity.parse(args.severity) if args.severity else Severity.INFO
    findings, sources, failed, configs, errors = [], {}, False, {}, 0
    seen = set()
    for path in _targets(args.paths):
        config = _config_for(path, args, configs)
        try:
            source = decode("<stdin>", sys.stdin.buffer.read()) if path == "-" else read_source(path)
            result = lint_source(source, config, args.context or (os.getcwd() if path == "-" else None))
        except ToolError as exc:  # no Dockerfile can be checked as asked: stop here
            raise UsageError(str(exc)) from None
        except (InputError, RuleCrash) as exc:
            print(f"dlint: error: {exc}", file=sys.stderr)
            errors += 1
            continue
        sources.update(result.sources)
        for finding in result.findings:
            key = (finding.code, finding.path, finding.line, finding.column, finding.message)
            if finding.severity < minimum or key in seen:  # a requirements file shared by two Dockerfiles
                continue
            seen.add(key)
            findings.append(finding)
            failed |= config.fails_on(finding.severity)
    stream = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        color = report.use_color(stream, args.no_color)
        if args.statistics:
            report.render_statistics(findings, stream, color=color)
        else:
            report.render(findings, args.format, rules=all_rules(), sources=sources, color=color,
                          frames=color and args.format == "text", stream=stream)
    finally:
        if args.output:
            stream.close()
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if failed and not args.exit_zero else EXIT_OK


def run_rules(args) -> int:
    import json

    from dockerlint_ml.registry import all_rules

    rules = list(all_rules().values())
    if args.format == "json":
        print(json.dumps([{"code": r.code, "name": r.name, "category": r.category, "severity": str(r.severity),
                           "default": r.default_enabled, "fix": r.fix_label, "aliases": list(r.aliases),
                           "summary": r.summary} for r in rules], indent=2))
        return EXIT_OK
    headers = ("code", "name", "severity", "default", "fix", "aliases")
    table = [[r.code, r.name, str(r.severity), "on" if r.default_enabled else "off", r.fix_label,
              ",".join(r.aliases) or "-"] for r in rules]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    line = lambda cells: "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    print(line(headers))
    category = None
    for rule, row in zip(rules, table):
        if rule.category != category:
            category = rule.category
            print(f"\n{category}")
        print(line(row))
    return EXIT_OK


def run_rule(args) -> int:
    from dockerlint_ml.docs import rule_doc
    from dockerlint_ml.registry import resolve

    matches = resolve(args.rule)
    if len(matches) != 1:
        raise UsageError(f"unknown rule {args.rule!r} (see dlint rules)")
    print(rule_doc(matches[0].code), end="")
    return EXIT_OK
