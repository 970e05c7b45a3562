"""Command line: dlint check | fix | rules | rule CODE."""
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
    _lint_options(check)
    check.add_argument("--fix", action="store_true", help="apply safe fixes (as `dlint fix` does)")
    _fix_options(check)
    check.set_defaults(run=run_check)

    fix = commands.add_parser("fix", help="apply the fixes of findings to the Dockerfiles and their context files",
                              description="Apply safe fixes (--unsafe-fixes: unsafe ones too), re-lint until "
                              "nothing more applies, write the files and report what remains (docs/fixing.md).")
    _lint_options(fix)
    _fix_options(fix)
    fix.set_defaults(run=run_fix)

    rules = commands.add_parser("rules", help="list the rules")
    rules.add_argument("--format", default="text", choices=["text", "json"])
    rules.set_defaults(run=run_rules)

    rule = commands.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("rule", metavar="CODE|NAME")
    rule.set_defaults(run=run_rule)
    return parser


def _fix_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--unsafe-fixes", action="store_true",
                         help="also apply fixes that may change what the image does (review the result)")
    command.add_argument("--diff", action="store_true",
                         help="print a unified diff of every file the fixes would change; write nothing "
                         "(exit 1 if there is a diff)")
    command.add_argument("--pin-from", metavar="FILE",
                         help="pin unpinned packages to the versions of this `pip freeze` / `uv pip compile` output")
    command.add_argument("--pin-from-image", metavar="IMAGE",
                         help="pin unpinned packages to the versions `pip freeze` reports in IMAGE, an image "
                         "already built from this Dockerfile (needs docker)")
    command.add_argument("--pin-digests", action="store_true",
                         help="offer to pin base images to the digest of the local image of that name (needs docker)")


def _lint_options(check: argparse.ArgumentParser) -> None:
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
        for code, options in _pin_options(args).items():  # lock sources named on the command line win
            config.options[code] = {**config.options.get(code, {}), **options}
        config.shellcheck |= args.shellcheck
        config.enabled_rules()  # validate selectors now: unknown codes are a usage error (exit 2)
        cache[location] = config
    return cache[location]


class _Findings:
    """The findings a run reports: at or above --severity, each once (a requirements file shared by two
    Dockerfiles is linted twice), and whether any makes the run fail."""

    def __init__(self, args):
        self.minimum = Severity.parse(args.severity) if args.severity else Severity.INFO
        self.items, self.sources, self.failed, self._seen = [], {}, False, set()

    def add(self, result, config: Config) -> None:
        self.sources.update(result.sources)
        for finding in result.findings:
            key = (finding.code, finding.path, finding.line, finding.column, finding.message)
            if finding.severity < self.minimum or key in self._seen:
                continue
            self._seen.add(key)
            self.items.append(finding)
            self.failed |= config.fails_on(finding.severity)


def _check_context(args) -> None:
    if args.context and not os.path.isdir(args.context):
        raise UsageError(f"--context {args.context}: not a folder")


def _context_for(path: str, args) -> str | None:
    return args.context or (os.getcwd() if path == "-" else None)


def _pin_options(args) -> dict[str, dict]:
    """Rule options from --pin-from / --pin-from-image / --pin-digests, loaded once per run (and the lock
    sources checked once, not once per Dockerfile)."""
    if not hasattr(args, "pin_options"):
        args.pin_options = {}
        if any(getattr(args, name, None) for name in ("pin_from", "pin_from_image", "pin_digests")):
            from dockerlint_ml import pins  # reads files or runs docker: only when asked

            args.pin_options = pins.options_from_args(args)
    return args.pin_options


def run_check(args) -> int:
    from dockerlint_ml.engine import RuleCrash, ToolError, lint_source

    if args.fix or args.diff:
        return run_fix(args)
    _check_context(args)
    found, configs, errors = _Findings(args), {}, 0
    for path in _targets(args.paths):
        config = _config_for(path, args, configs)
        try:
            source = decode("<stdin>", sys.stdin.buffer.read()) if path == "-" else read_source(path)
            result = lint_source(source, config, _context_for(path, args))
        except ToolError as exc:  # no Dockerfile can be checked as asked: stop here
            raise UsageError(str(exc)) from None
        except (InputError, RuleCrash) as exc:
            print(f"dlint: error: {exc}", file=sys.stderr)
            errors += 1
            continue
        found.add(result, config)
    _report(found, args)
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if found.failed and not args.exit_zero else EXIT_OK


def _report(found: _Findings, args, summary: list[str] | None = None, stream=None) -> None:
    """Render the findings as --format/--statistics ask; `summary` (fix runs) replaces the check summary."""
    from dockerlint_ml import report
    from dockerlint_ml.registry import all_rules

    stream = stream or (open(args.output, "w", encoding="utf-8") if args.output else sys.stdout)
    try:
        color = report.use_color(stream, args.no_color)
        if args.statistics:
            report.render_statistics(found.items, stream, color=color)
        elif summary is not None and args.format == "text":
            _render_fix_text(found, stream, color, summary)
            summary = None
        else:
            report.render(found.items, args.format, rules=all_rules(), sources=found.sources, color=color,
                          frames=color and args.format == "text", stream=stream)
        if summary:  # after statistics, or beside a machine format: on stderr, so stdout stays parseable
            target = stream if args.statistics else sys.stderr
            target.write("".join(line + "\n" for line in summary))
    finally:
        if args.output:
            stream.close()


def _render_fix_text(found: _Findings, stream, color: bool, summary: list[str]) -> None:
    """What remains after fixing, as `check` shows findings, with the fix run's summary."""
    from dockerlint_ml import report
    from dockerlint_ml.finding import Finding

    frames, lines = color, []
    for finding in sorted(found.items, key=Finding.sort_key):
        lines.append(report._finding_spans(finding))
        source = found.sources.get(finding.path)
        if frames and source is not None:
            lines.extend(report._frame_spans(finding, source))
            lines.append([])
    lines.extend([(line, "bold")] for line in summary)
    report._emit(lines, stream, color, frames)


def _plural(count: int, word: str, suffix: str = "s") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}{suffix}"


def fix_summary(fixed: int, remaining: list, level) -> list[str]:
    """ruff's wording: "Found 5 findings (3 fixed, 2 remaining)." and what more `--unsafe-fixes` would fix."""
    if fixed:
        lines = [f"Found {_plural(fixed + len(remaining), 'finding')} ({fixed} fixed, {len(remaining)} remaining)."]
    elif remaining:
        lines = [f"Found {_plural(len(remaining), 'finding')}."]
    else:
        lines = ["All checks passed."]
    applicable, hidden = _fixable(remaining, level)
    hint = f"{_plural(hidden, 'hidden fix', 'es')} can be enabled with the `--unsafe-fixes` option"
    if applicable and hidden:
        lines.append(f"[*] {applicable} fixable with `dlint fix` ({hint}).")
    elif applicable:
        lines.append(f"[*] {applicable} fixable with `dlint fix`.")
    elif hidden:
        lines.append(f"No fixes available ({hint}).")
    return lines


def diff_summary(fixed: int, remaining: list, level) -> str:
    """ruff's --diff wording: `Would fix 3 findings (1 additional fix available with `--unsafe-fixes`).`"""
    _, hidden = _fixable(remaining, level)
    more = f"{_plural(hidden, 'fix', 'es')} available with `--unsafe-fixes`"
    if fixed:
        extra = f" ({_plural(hidden, 'additional fix', 'es')} available with `--unsafe-fixes`)" if hidden else ""
        return f"Would fix {_plural(fixed, 'finding')}{extra}."
    return f"No findings would be fixed ({more})." if hidden else "No findings would be fixed."


def _fixable(findings: list, level) -> tuple[int, int]:
    """(findings whose fix `level` applies, findings whose fix only --unsafe-fixes would apply)."""
    from dockerlint_ml.finding import Applicability

    fixes = [f.fix for f in findings if f.fix is not None and f.fix.applicability != Applicability.DISPLAY]
    applicable = sum(fix.applicability >= level for fix in fixes)
    hidden = sum(fix.applicability == Applicability.UNSAFE for fix in fixes) if level > Applicability.UNSAFE else 0
    return applicable, hidden


def run_fix(args) -> int:
    """`dlint fix` / `dlint check --fix`: fix every Dockerfile to a fixpoint, then write (or --diff) and report."""
    from dockerlint_ml.engine import RuleCrash, ToolError
    from dockerlint_ml.finding import Applicability
    from dockerlint_ml.fixer import MAX_PASSES, Workspace, fix_source

    _check_context(args)
    level = Applicability.UNSAFE if args.unsafe_fixes else Applicability.SAFE
    workspace, found, configs, errors, fixed = Workspace(), _Findings(args), {}, 0, 0
    piped = None  # (as read, as fixed) of standard input
    for path in _targets(args.paths):
        config = _config_for(path, args, configs)
        try:
            source = decode("<stdin>", sys.stdin.buffer.read()) if path == "-" else workspace.read(path)
            # standard input has no file to write beside it: only fixes of the Dockerfile text itself apply
            result = fix_source(source, config, _context_for(path, args), level, workspace, path != "-")
        except ToolError as exc:
            raise UsageError(str(exc)) from None
        except (InputError, RuleCrash) as exc:
            print(f"dlint: error: {exc}", file=sys.stderr)
            errors += 1
            continue
        if result.stop == "unparsable":
            print(f"dlint: warning: {path}: not fixed, BuildKit cannot parse it", file=sys.stderr)
        for finding in result.rejected:  # a rule's fix that breaks the file is a dlint bug: say so, go on
            print(f"dlint: warning: {path}:{finding.line}: the {finding.code} fix was not applied: it would make the "
                  "Dockerfile invalid (a bug in dlint, please report it)", file=sys.stderr)
        if result.stop in ("cycle", "limit"):  # two fixes undoing each other, or one that never ends: a dlint bug
            why = "two fixes undo each other" if result.stop == "cycle" else f"still changing after {MAX_PASSES} passes"
            print(f"dlint: warning: {path}: fixes stopped, {why} (a bug in dlint, please report it)", file=sys.stderr)
        fixed += len(result.fixed)
        found.add(result.lint, config)
        if path == "-":
            piped = (source, result.source)
    if args.diff:
        return _print_diffs(workspace, piped, fixed, found, level, errors)
    if errors:  # a run that could not read all its input writes nothing: fix the input, run again
        if workspace.changes() or piped is not None and piped[0].text != piped[1].text:
            _fail(f"nothing written: {_plural(errors, 'Dockerfile')} could not be fixed (see above)")
        return EXIT_ERROR
    if piped is not None:
        sys.stdout.buffer.write(piped[1].encode())
        sys.stdout.flush()
    try:
        workspace.write()
    except InputError as exc:  # a file changed on disk meanwhile, or cannot be written: nothing half-done
        return _fail(str(exc))
    summary = fix_summary(fixed, found.items, level)
    _report(found, args, summary, stream=sys.stderr if piped is not None and not args.output else None)
    return EXIT_FINDINGS if found.failed and not args.exit_zero else EXIT_OK


def _print_diffs(workspace, piped, fixed: int, found: _Findings, level, errors: int) -> int:
    from dockerlint_ml.engine import _display_path
    from dockerlint_ml.fixer import unified_diff

    changes = [(before, after, _display_path(after.path)) for before, after in workspace.changes()]
    if piped is not None and piped[0].text != piped[1].text:
        changes.append((piped[0], piped[1], "-"))
    sys.stdout.write("".join(unified_diff(before, after, name) for before, after, name in changes))
    sys.stdout.flush()
    print(diff_summary(fixed, found.items, level), file=sys.stderr)
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if changes else EXIT_OK


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
