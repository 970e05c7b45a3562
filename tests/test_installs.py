"""Tests for the package-tool recognisers: pip/uv, project installs, conda, apt, curl/wget."""
import pytest

from dockerlint_ml.installs import apt_command, conda_command, download, pip_install, project_install, uv_sync
from dockerlint_ml.shell import parse_script


def cmd(text):
    return parse_script(text, 0)[0]


def values(words):
    return [w.value for w in words]


# --- pip / uv -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", [
    "pip", "pip3", "pip3.11", "/opt/conda/bin/pip", "python -m pip", "python3 -m pip", "python3.11 -m pip",
    "/usr/bin/python3 -m pip", "python -u -m pip", "sudo -H pip3", "PIP_X=1 pip",
])
def test_pip_spellings(prefix):
    found = pip_install(cmd(f"{prefix} install numpy"))
    assert found is not None and found.tool == "pip"
    assert values(found.packages) == ["numpy"]


@pytest.mark.parametrize("text", ["uv pip install numpy", "python -m uv pip install numpy", "uv --no-progress pip install numpy"])
def test_uv_spellings(text):
    found = pip_install(cmd(text))
    assert found is not None and found.tool == "uv" and values(found.packages) == ["numpy"]


@pytest.mark.parametrize("text", [
    "pip download x", "pip uninstall -y x", "pip", "uv sync", "uv pip compile x", "python -c 'import pip'",
    "python script.py -m pip install x", "pipx install x", "echo pip install x", "uv install x",
])
def test_not_pip_install(text):
    assert pip_install(cmd(text)) is None


def test_options_before_install():
    found = pip_install(cmd("pip --no-cache-dir -q install x"))
    assert found.no_cache and found.has_option("--quiet") and values(found.packages) == ["x"]


def test_option_values_are_not_packages():
    source = ("pip install -U -r req.txt -rdev.txt --requirement=r3.txt -c c1.txt --constraint c2.txt "
              "-e ./lib --editable=git+https://x/y.git -i https://idx/simple --extra-index-url https://extra "
              "-f /wheels --target /t --trusted-host h --no-binary :all: --config-settings k=v "
              "--upgrade-strategy eager --progress-bar off --python-version 3.11 torch 'numpy>=1.26,<2'")
    found = pip_install(cmd(source))
    assert values(found.packages) == ["torch", "numpy>=1.26,<2"]
    assert values(found.requirement_files) == ["req.txt", "dev.txt", "r3.txt"]
    assert values(found.constraint_files) == ["c1.txt", "c2.txt"]
    assert values(found.editables) == ["./lib", "git+https://x/y.git"]
    assert values(found.index_urls) == ["https://idx/simple", "https://extra"]
    assert found.options["--upgrade"] == [None]
    assert values(found.option_values("--find-links")) == ["/wheels"]
    assert values(found.option_values("--target")) == ["/t"]
    assert not found.no_cache
    # Values sliced out of a word keep exact offsets.
    r3 = found.requirement_files[2]
    assert source[r3.start:r3.end] == "r3.txt"
    dev = found.requirement_files[1]
    assert source[dev.start:dev.end] == "dev.txt"
    spec = found.packages[1]
    assert source[spec.start:spec.end] == "'numpy>=1.26,<2'"


def test_pip_no_cache_spellings():
    assert pip_install(cmd("pip install --no-cache-dir x")).no_cache
    assert pip_install(cmd("pip install --no-cache x")).no_cache  # optparse accepts a unique prefix
    assert not pip_install(cmd("pip install -n x")).no_cache  # -n is not a pip option
    assert pip_install(cmd("pip install --cache-dir /c x")).packages[0].value == "x"


def test_uv_options():
    found = pip_install(cmd("uv pip install -n --system --index https://a --default-index=https://b "
                            "-p 3.11 --torch-backend cu121 -P torch --requirements r.txt --constraints c.txt -C k=v x"))
    assert found.no_cache
    assert values(found.packages) == ["x"]
    assert values(found.index_urls) == ["https://a", "https://b"]
    assert values(found.requirement_files) == ["r.txt"] and values(found.constraint_files) == ["c.txt"]
    assert values(found.option_values("--python")) == ["3.11"]
    assert values(found.option_values("--upgrade-package")) == ["torch"]
    assert pip_install(cmd("uv --no-cache pip install x")).no_cache
    assert pip_install(cmd("uv pip install --no-cache-dir x")).no_cache


def test_pip_inside_bash_c_and_conditionals():
    found = pip_install(parse_script("bash -c 'pip install --no-cache-dir torch'", 0)[0])
    assert found is not None and found.no_cache
    commands = parse_script("if true; then pip install x; fi", 0)
    assert pip_install(commands[1]) is not None and commands[1].unknown


def test_uv_sync():
    found = uv_sync(cmd("uv sync --frozen --no-cache --extra gpu --group dev"))
    assert found is not None and found.no_cache
    assert values(found.option_values("--extra")) == ["gpu"]
    assert found.has_option("--frozen")
    assert uv_sync(cmd("uv sync -n")).no_cache
    assert uv_sync(cmd("uv --project /app sync")) is not None
    assert uv_sync(cmd("uv pip install x")) is None
    assert uv_sync(cmd("pip sync")) is None


@pytest.mark.parametrize("text, label", [
    ("poetry install --no-root", "poetry install"),
    ("poetry -C /app install", "poetry install"),
    ("pdm install --prod", "pdm install"),
    ("pipenv install --system --deploy", "pipenv install"),
    ("pipenv sync", "pipenv sync"),
    ("uv sync --frozen", "uv sync"),
    ("pip install .", "pip install ."),
    ("pip install --no-deps .[gpu]", "pip install .[gpu]"),
    ("pip install -e .", "pip install -e ."),
    ("pip install -r requirements.txt", "pip install -r requirements.txt"),
    ("uv pip install -r req.txt", "uv pip install -r req.txt"),
    ("conda env create -f environment.yml", "conda env create"),
    ("mamba env create -n x -f environment.yml", "mamba env create"),
    ("conda env update -f environment.yml", "conda env update"),
    ("micromamba create -y -f env.yml", "micromamba create -f"),
    ("micromamba install -y -n base -f env.yml", "micromamba install -f"),
])
def test_project_install(text, label):
    assert project_install(cmd(text)) == label


@pytest.mark.parametrize("text", [
    "pip install torch", "poetry add x", "poetry --version", "conda install numpy", "apt-get install x",
    "pip install -e git+https://x/y.git", "uv pip compile r.in",
])
def test_not_project_install(text):
    assert project_install(cmd(text)) is None


# --- conda ----------------------------------------------------------------------------------------------

def test_conda_clean_combined_flags():
    found = conda_command(cmd("/opt/conda/bin/conda clean -afy"))
    assert found.tool == "conda" and found.action == "clean"
    assert found.flags == {"-a", "-f", "-y"}
    assert found.clean_all and found.assume_yes and found.files == []
    assert not conda_command(cmd("conda clean -y --tarballs")).clean_all
    assert conda_command(cmd("mamba clean --all --yes")).clean_all


def test_conda_install_values_are_not_packages():
    found = conda_command(cmd("mamba install -yc conda-forge -n base --channel=nvidia -p /opt/env numpy 'pytorch>=2' -f extra.txt"))
    assert found.action == "install"
    assert values(found.packages) == ["numpy", "pytorch>=2"]
    assert values(found.channels) == ["conda-forge", "nvidia"]
    assert values(found.files) == ["extra.txt"]
    assert found.assume_yes


def test_conda_actions():
    assert conda_command(cmd("conda env create -f e.yml")).action == "env create"
    assert conda_command(cmd("conda env create -f e.yml")).packages == []
    assert conda_command(cmd("micromamba create -n x python=3.11 -y")).packages[0].value == "python=3.11"
    assert conda_command(cmd("conda run -n x python app.py")).action == "run"
    assert conda_command(cmd("conda run -n x python app.py")).packages == []
    assert conda_command(cmd("conda")).action == ""
    assert conda_command(cmd("condax install x")) is None


# --- apt ------------------------------------------------------------------------------------------------

def test_apt_install():
    found = apt_command(cmd("apt-get -yq install --no-install-recommends -t bookworm-backports -o Dpkg::Options::=--force-confold curl 'git=1:2.39*'"))
    assert found.tool == "apt-get" and found.action == "install"
    assert values(found.packages) == ["curl", "git=1:2.39*"]
    assert {"-y", "-q", "--no-install-recommends"} <= found.flags
    assert found.assume_yes and found.no_install_recommends


@pytest.mark.parametrize("text, yes", [
    ("apt-get install x", False), ("apt-get install -y x", True), ("apt-get install --yes x", True),
    ("apt-get install --assume-yes x", True), ("apt-get -qq install x", True), ("apt-get -q install x", False),
    ("apt -qq install x", False), ("apt install -y x", True), ("aptitude install -y x", True),
])
def test_apt_assume_yes(text, yes):
    assert apt_command(cmd(text)).assume_yes is yes


@pytest.mark.parametrize("text, none", [
    ("apt-get install -y x", False), ("apt-get install -y --no-install-recommends x", True),
    ("apt-get install -o APT::Install-Recommends=false x", True), ("apt-get install -oAPT::Install-Recommends=0 x", True),
    ("apt-get install -o APT::Install-Recommends=true x", False),
])
def test_apt_no_install_recommends(text, none):
    assert apt_command(cmd(text)).no_install_recommends is none


def test_apt_other_actions():
    assert apt_command(cmd("apt-get update -qq")).action == "update"
    assert apt_command(cmd("/usr/bin/apt-get dist-upgrade -y")).action == "dist-upgrade"
    assert apt_command(cmd("apt-get clean")).packages == []
    assert apt_command(cmd("apt-cache search x")) is None


# --- curl / wget ----------------------------------------------------------------------------------------

def test_curl():
    source = 'curl -fsSL -H "Accept: x" --retry 3 https://example.com/install.sh -o /tmp/i.sh'
    found = download(cmd(source))
    assert found.tool == "curl" and values(found.urls) == ["https://example.com/install.sh"]
    assert found.output.value == "/tmp/i.sh" and not found.to_stdout
    url = found.urls[0]
    assert source[url.start:url.end] == "https://example.com/install.sh"
    assert download(cmd("curl -fsSL https://x/i.sh")).to_stdout
    assert not download(cmd("curl -fsSLO https://x/a.tgz")).to_stdout
    assert values(download(cmd("curl --url https://x/a -sS")).urls) == ["https://x/a"]
    assert download(cmd("curl -o- https://x/a")).to_stdout


def test_wget():
    found = download(cmd("wget -q -O - https://x/key.gpg"))
    assert found.tool == "wget" and found.to_stdout and values(found.urls) == ["https://x/key.gpg"]
    found = download(cmd("wget -nv --tries=3 -O/tmp/a.tgz -P /dl https://x/a.tgz"))
    assert found.output.value == "/tmp/a.tgz" and not found.to_stdout
    assert not download(cmd("wget https://x/a.tgz")).to_stdout
    assert download(cmd("wget -O- https://x/a")).to_stdout
    assert download(cmd("wget -i urls.txt")).urls == []
    assert download(cmd("git clone https://x")) is None
