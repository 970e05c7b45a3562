"""ML502 secret-in-arg-env: a credential passed through ARG or ENV."""

from dockerlint_ml.finding import Severity
from dockerlint_ml.registry import rule
from dockerlint_ml.secrets import is_reference, is_secret_name, settings


@rule("ML502", "secret-in-arg-env", Severity.ERROR,
      "An ARG or ENV holds a credential (token, API key, password), which the image or its history keeps.",
      aliases=("DL3064", "SecretsUsedInArgOrEnv"))
def check(df, ctx):
    for instruction in df.instructions:
        for setting in settings(instruction):
            if not is_secret_name(setting.name):
                continue
            value = setting.value or ""
            if instruction.keyword == "ENV" and not value:
                continue  # `ENV HF_TOKEN=` clears it: nothing is stored
            literal = bool(value) and not is_reference(value)
            # No credential written here (literal False): it comes from --build-arg, which still leaks it.
            yield ctx.report(setting.start, setting.end, _message(instruction.keyword, setting.name, value, literal),
                             severity=None if literal else Severity.WARNING)


def _message(keyword: str, name: str, value: str, literal: bool) -> str:
    secret = (f"use a build secret instead: RUN --mount=type=secret,id={name.lower()},env={name} … with "
              f"`docker build --secret id={name.lower()},env={name}`, or pass it at run time (`docker run -e {name}`)")
    if literal:
        where = "image config (`docker inspect`)" if keyword == "ENV" else "image history (`docker history`)"
        return (f"{keyword} {name} writes a credential into the Dockerfile and the {where}, where anyone who gets "
                f"the file or pulls the image reads it: revoke it, and {secret}")
    if keyword == "ENV":
        return (f"ENV {name}={value} copies the credential into the image config, where anyone who pulls the image "
                f"reads it with `docker inspect`: {secret}")
    return (f"ARG {name} takes a credential as a build argument, whose value the image history records for every "
            f"RUN that uses it (`docker history`): {secret}")
