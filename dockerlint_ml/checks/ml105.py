"""ML105 unpinned-vcs-requirement: a VCS requirement not at a full commit, or a URL requirement without a hash."""
from dockerlint_ml import pins
from dockerlint_ml.finding import Applicability, Severity
from dockerlint_ml.packages import installed_packages
from dockerlint_ml.registry import rule
from dockerlint_ml.requirements import url_hash, vcs_commit


@rule("ML105", "unpinned-vcs-requirement", Severity.WARNING,
      "A VCS requirement (git+…) is not pinned to a full commit, or a URL requirement has no hash.",
      fix=Applicability.SAFE, options=pins.PIN_OPTIONS)
def check(df, ctx):
    seen = set()
    lock = None
    for package in installed_packages(df, ctx.build):
        req = package.requirement
        if req is None or req.kind not in ("vcs", "url") or package.locked:
            continue
        key = (package.source.path if package.source else None, package.start)
        if key in seen:  # the same requirements file installed by two RUNs
            continue
        seen.add(key)
        message = _vcs_problem(req.url) if req.kind == "vcs" else _url_problem(req)
        if message:
            lock = lock or pins.lock_for(ctx)
            yield ctx.report(package.start, package.end, message, fix=_fix(ctx, lock, package, req),
                             source=package.source)


def _fix(ctx, lock, package, req):
    """The commit or hash the lock records, written into the URL where it stands (Dockerfile or file)."""
    source = package.source or ctx.source
    path = package.source.path if package.source else None
    pin = pins.vcs_fix if req.kind == "vcs" else pins.url_fix
    return pin(lock, req, source.text, package.start, package.end, path)


def _vcs_problem(url: str) -> str | None:
    if vcs_commit(url) is not None:
        return None
    repo, revision = _split_revision(url)
    if revision is None:
        return (f"{url} installs whatever the default branch of {_remote(repo)} holds on the day of the build: pin "
                f"a full commit ({repo}@<40-hex commit>) so that a rebuild installs the same code")
    if "$" in revision or not revision:
        return None  # a build argument without a default, or a variable pip expands: unknown here
    return (f"{url} follows `{revision}`, a branch, tag or short hash that can move to other code: pin the full "
            f"40-hex commit it points to (`git ls-remote {_remote(repo)} {revision}`)")


def _url_problem(req) -> str | None:
    if req.hashes or url_hash(req.url):
        return None
    return (f"{req.url} is downloaded without a hash, so whatever the server returns that day is installed (a "
            f"replaced or tampered file goes unnoticed): add #sha256=<digest> to the URL, or --hash=sha256:<digest> "
            "in a requirements file")


def _split_revision(url: str) -> tuple[str, str | None]:
    """(`git+https://host/repo`, `main`) of `git+https://host/repo@main#egg=x`; revision None if absent.
    An "@" in `user@host` is not a revision."""
    base = url.split("#", 1)[0]
    scheme, sep, rest = base.partition("://")
    path_start = len(scheme) + len(sep) + (rest.find("/") if "/" in rest else len(rest))
    if "@" not in base[path_start:]:
        return base, None
    repo, _, revision = base.rpartition("@")
    return repo, revision


def _remote(repo: str) -> str:
    """The repository as its VCS names it: `git+https://host/repo` -> `https://host/repo`."""
    scheme, plus, rest = repo.partition("+")
    return rest if plus and "://" not in scheme else repo
