"""ML711 invalid-expose: an EXPOSE port out of range, with a host mapping, or with an upper-case protocol."""
from __future__ import annotations

import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.layers import known
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule

_RANGE = re.compile(r"(\d+)(?:-(\d+))?")
_PROTOCOLS = ("tcp", "udp", "sctp")


@rule("ML711", "invalid-expose", Severity.ERROR,
      "An EXPOSE port is out of range or not a port, maps a host address or port, or has an upper-case protocol.",
      aliases=("DL3011", "ExposeInvalidFormat", "ExposeProtoCasing"))
def check(df, ctx):
    for instruction in df.instructions:
        if instruction.keyword != "EXPOSE":
            continue
        for word in instruction.words:
            spec, resolved = expand(unquote(word.value), known(instruction.vars))
            problem = port_problem(spec) if resolved else None  # a --build-arg decides
            if problem is not None:
                severity, message = problem
                yield ctx.report(word.start, word.end, message, severity=severity)


def port_problem(spec: str) -> tuple[Severity, str] | None:
    """What is wrong with one EXPOSE argument (`80`, `8000-8010/udp`, `127.0.0.1:80:80`), worst first; None if fine.
    BuildKit splits it as `[ip:][host:]container[/protocol]`."""
    parts = spec.split(":")
    container, _, protocol = parts[-1].partition("/")
    match = _RANGE.fullmatch(container)
    if match is None:
        return Severity.ERROR, (f"EXPOSE {spec}: {container or '(empty)'} is not a port or a port range, so the "
                                "build fails: write a number such as 8080")
    if any(int(n) > 65535 for n in match.groups() if n):
        return Severity.ERROR, (f"EXPOSE {spec}: ports run from 0 to 65535, so the build fails: use a valid port")
    if protocol and protocol.lower() not in _PROTOCOLS:
        return Severity.ERROR, (f"EXPOSE {spec}: {protocol} is not a protocol (tcp, udp or sctp), so the build "
                                "fails: write tcp, udp or sctp")
    if len(parts) > 1:
        return Severity.WARNING, (f"EXPOSE {spec} maps a host address or port, which EXPOSE ignores (it only "
                                  "documents the container's port; publishing happens at `docker run -p`): write "
                                  f"EXPOSE {parts[-1]}")
    if protocol != protocol.lower():
        return Severity.WARNING, (f"EXPOSE {spec}: protocols are lower case (tcp, udp, sctp), and tools that read "
                                  f"the image config may not match {protocol}: write EXPOSE "
                                  f"{container}/{protocol.lower()}")
    return None
