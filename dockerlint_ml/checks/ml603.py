"""ML603 expose-port-mismatch: EXPOSE does not list the port the final image's server listens on."""
import re

from dockerlint_ml.finding import Severity
from dockerlint_ml.model import expand, unquote
from dockerlint_ml.registry import rule
from dockerlint_ml.serving import bind_port, option_text, parse_port, runtime_env, servers, unwrap, word_value

_EXPOSE = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", re.IGNORECASE)


@rule("ML603", "expose-port-mismatch", Severity.WARNING,
      "EXPOSE does not list the port that the final image's server listens on.")
def check(df, ctx):
    exposed = _exposed(df)
    if not exposed:
        return  # no EXPOSE at all (or one we cannot read): nothing to disagree with
    ports, instructions = exposed
    listed = ", ".join(str(p) for p in sorted(ports)) if 0 < len(ports) < 20 else "other ports" if ports else \
        "no TCP port"
    lines = ("line " if len(instructions) == 1 else "lines ") + ", ".join(str(i.start_line) for i in instructions)
    env = runtime_env(df)
    for server in servers(df, ctx.build):
        for port, start, end, how in bound_ports(server, env, ctx.build):
            if port not in ports:
                yield ctx.report(start, end,
                                 f"{server.name} listens on port {port} ({how}) but EXPOSE ({lines}) lists "
                                 f"{listed}: `docker run -P`, Compose and platforms that read EXPOSE send traffic "
                                 f"to a port nothing listens on; EXPOSE {port} or make the two agree",
                                 source=server.process.source)


def _exposed(df):
    """(TCP ports the final lineage EXPOSEs, the EXPOSE instructions); None without EXPOSE or when one
    holds a variable without a value."""
    ports, instructions = set(), []
    for stage in df.final_lineage:
        for instruction in stage.instructions:
            if instruction.keyword != "EXPOSE":
                continue
            instructions.append(instruction)
            for arg in instruction.args:
                value, resolved = expand(unquote(arg), instruction.vars)
                match = _EXPOSE.fullmatch(value.strip())
                if not resolved or match is None:
                    return None
                if (match.group(3) or "tcp").lower() == "tcp":
                    low = int(match.group(1))
                    ports.update(range(low, int(match.group(2) or low) + 1))
    return (ports, sorted(instructions, key=lambda i: i.start_line)) if instructions else None


def bound_ports(server, env, build):
    """(port, start, end, how it is set) for each port the server binds that can be known."""
    spec, process = server.spec, server.process
    found = []
    for name in spec.ports:
        option = server.option(name)
        if option is not None:
            port = parse_port(_value(option, process, env))
            found.append((port, option.word.start, (option.value or option.word).end, _written(option, port)))
    for name in spec.binds:
        for option in server.options.get(name, []):
            port = bind_port(_value(option, process, env))
            found.append((port, option.word.start, (option.value or option.word).end, _written(option, port)))
    if server.name == "http.server" and server.positionals:
        word = server.positionals[0]
        found.append((parse_port(word_value(word, process, env)), word.start, word.end, f"argument {word.value}"))
    if not found and not _configured(server, build):
        found += _default(server, env)
    return [item for item in found if item[0] is not None]


def _value(option, process, env):
    return word_value(option.value, process, env) if option.value is not None else None


def _written(option, port) -> str:
    text = option_text(option)
    return f"{text}, {port} with the image's ENV" if "$" in text else text


def _configured(server, build) -> bool:
    """A config file or socket option, or a config file in the context, may move the port: stay quiet."""
    if any(server.option(name) for name in server.spec.config):
        return True
    if server.name == "streamlit" and build is not None:
        return any(path.endswith(".streamlit/config.toml") for path, _ in build.files())
    return False


def _default(server, env):
    """The port an environment variable of the image sets, else the server's documented default."""
    spec = server.spec
    program = unwrap(server.process.command.argv)[0]
    for name in spec.port_env:
        if name in env:
            port = parse_port(env[name].strip())
            return [(port, program.start, program.end, f"{name}={env[name]} from ENV")]
    if spec.default_port is None:
        return []
    return [(spec.default_port, program.start, program.end, "its default, no port option given")]
