"""ML722 download-tool-hygiene: wget flooding the build log with progress, or curl and wget both in one stage."""
from dockerlint_ml.finding import Severity
from dockerlint_ml.installs import download, download_options
from dockerlint_ml.registry import rule

# wget options that quiet the progress display or send it to a log file (hadolint's DL3047 set).
_WGET_QUIET = frozenset({"-q", "--quiet", "--progress", "--no-verbose", "-o", "--output-file", "-a",
                         "--append-output"})


@rule("ML722", "download-tool-hygiene", Severity.INFO,
      "wget runs without a quiet progress option, or one stage uses both curl and wget.",
      aliases=("DL3047", "DL4001"))
def check(df, ctx):
    for stage in df.stages:
        seen = {}  # tool -> line of its first use in this stage
        for instruction in stage.instructions:
            # A lone word is no download: `wget` on a line of a bash array of package names, say.
            fetches = [f for f in map(download, instruction.commands) if f is not None and len(f.command.argv) > 1]
            for fetch in fetches:
                if fetch.tool == "wget" and not _quiet(fetch):
                    word = fetch.command.argv[0]
                    yield ctx.report(word.start, fetch.command.end,
                                     "wget prints a progress line every few KB when its output is not a terminal, "
                                     "so a large download floods the build log with thousands of lines: add "
                                     "--progress=dot:giga (or -nv, or -q)")
            for fetch in fetches:
                seen.setdefault(fetch.tool, instruction.start_line)
            if fetches and len(seen) == 2:
                word = fetches[0].command.argv[0]
                yield ctx.report(word.start, word.end,
                                 f"this stage downloads with both curl (line {seen['curl']}) and wget (line "
                                 f"{seen['wget']}): each tool and its libraries take space in the image and both "
                                 "must be kept patched; use one of them")


def _quiet(fetch) -> bool:
    words = {w.value for w in fetch.command.argv[1:]}
    return "-nv" in words or any(o.name in _WGET_QUIET for o in download_options(fetch))
