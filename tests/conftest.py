"""Fixtures: copies of the kit and of repositories to measure, built in tmp_path."""

from __future__ import annotations

import atexit
import base64
import compileall
import contextlib
import fcntl
import functools
import gc
import hashlib
import io
import os
import py_compile
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent.parent

# The tests see no git configuration of the machine's or the developer's: a setting such as
# diff.mnemonicPrefix must not change a result. The tests of such settings set them themselves.
os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
KIT_FILES = ("noxfile.py", "pyproject.toml", "tasks", "configs", "examples")


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def flat(text: str) -> str:
    """`text` with every run of whitespace one space: what the kit says, whatever its folding
    of long lines to 120 columns (tasks/text.py) made of it."""
    return " ".join(text.split())


# Plugins of the kit's own test suite that the repositories it measures do not use, kept out
# of every pytest process the tests start (the measured runs, the oracle's strict runs, the
# audit's collections): hypothesis's imports the whole of hypothesis, half a second of CPU
# each time; pytest-randomly would shuffle each process's tests with a seed of its own, so
# pytest-split's shards would no longer divide a service's tests between them.
SUITE_PLUGINS_OFF = "-p no:hypothesispytest -p no:randomly"


def process_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the tests give the kit's processes: this interpreter's tools first on
    PATH, no GitHub Actions variables, none of the suite's own pytest plugins; then `env`."""
    environment = dict(os.environ)
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", "")
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        environment.pop(name, None)  # the kit's tests may themselves run on GitHub Actions
    addopts = environment.get("PYTEST_ADDOPTS", "")
    environment["PYTEST_ADDOPTS"] = f"{addopts} {SUITE_PLUGINS_OFF}".strip()
    environment.update(env or {})
    return environment


def run(
    argv: Sequence[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: int = 300,
    input_text: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Result:
    """Run a real process in `process_environment` (and `preexec_fn` called in the child
    before it starts: resource limits, say)."""
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=process_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input_text,
        preexec_fn=preexec_fn,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def git(repo: Path, *args: str) -> str:
    """A git command in `repo` with an identity of its own (no user or signing setup needed)."""
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


# For audit hooks: whether an `open` event's arguments (path, mode, flags) open for writing.
OPENS_FOR_WRITING = """
import os
import re

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def opens_for_writing(args):
    path, mode, flags = args
    return any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & WRITE_FLAGS)
"""


def audit_hook_env(folder: Path, source: str) -> dict[str, str]:
    """The environment that makes every Python process started with it (and the processes
    those start) run `source` first, as its sitecustomize module: an audit hook (PEP 578)
    that watches what the process does, or makes it fail."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(source, encoding="utf-8")
    return {"PYTHONPATH": str(folder)}


def nox(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run real nox sessions in `project`, in this environment (no venv creation, no installs).

    The sessions' own code runs unchanged; only `session.install` is skipped, because this
    environment already has the dependency groups installed.
    """
    return run([sys.executable, "-m", "nox", "--no-venv", "--no-install", *args], project, env=env)


# Where nox builds virtualenvs that see this environment's packages, with pip kept off any
# index; the backend also as the variable, for a nox the command starts (adopt's check).
OFFLINE_VENVS = {
    "PYTHONPATH": sysconfig.get_paths()["purelib"],
    "PIP_NO_INDEX": "1",
    "NOX_DEFAULT_VENV_BACKEND": "virtualenv",
}


def nox_in_venvs(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run real nox sessions in `project`, each in a new virtualenv that sees this
    environment's packages through PYTHONPATH, with pip kept off any index: environments are
    made and installed into as for a user, and nothing is downloaded."""
    environment = {**OFFLINE_VENVS, **(env or {})}
    argv = [sys.executable, "-m", "nox", "--default-venv-backend", "virtualenv", *args]
    return run(argv, project, env=environment, timeout=600)


def tasks(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`python -m tasks ARGS` in `project`, as a process of its own: for the tests whose
    subject is the process (its exit status with no traceback, signals, locks, what it
    leaves behind when killed, what a child process of it writes to the terminal)."""
    return run([sys.executable, "-m", "tasks", *args], project, env=env)


def in_process(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`python -m tasks ARGS` in `project`, run in this process: the same parser, handlers and
    exit codes as the command line (`tasks.cli.main.main`), in `process_environment`, without
    a Python start-up and the kit's imports each time. For the tests of a figure, a file or
    a message. The commands that start the kit's processes (run, run-all, stability, adopt)
    are not run so: what those print is not in the result, and they start from where the
    kit's files are."""
    from tasks.cli.main import main
    from tasks.config import manifest
    from tasks.gate import affected

    command = args[2] if args[:1] == ("--manifest",) else args[0]
    assert command not in {"run", "run-all", "stability", "adopt"}, f"{command} starts processes: use tasks()"
    out, err = io.StringIO(), io.StringIO()
    # The kit is the copy in `project` (its own files are neither unowned code nor a service's),
    # as it is for `python -m tasks` there; the modules that hold its place, for the call.
    kit_package = (project / "tasks").resolve() if (project / "tasks").is_dir() else manifest.KIT_PACKAGE
    holders = {module: module.KIT_PACKAGE for module in (manifest, affected)}
    saved_environment, saved_cwd = dict(os.environ), Path.cwd()
    environment = process_environment(env)
    try:
        for module in holders:
            module.KIT_PACKAGE = kit_package
        os.environ.clear()
        os.environ.update(environment)
        os.chdir(project)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            # Warnings as a new process has them (printed, some ignored), not the suite's errors.
            warnings.resetwarnings()
            for ignored in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter("ignore", ignored)
            try:
                code = main(list(args), out=out, err=err)
            except SystemExit as exc:  # argparse's usage errors and --help, as `python -m` ends
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    err.write(exc.code + "\n")
            # What the command left open (the analysis cache's SQLite connection lives as long
            # as its process) is closed now, as the process's exit would close it, not when a
            # later test happens to collect it.
            gc.collect()
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environment)
        for module, place in holders.items():
            module.KIT_PACKAGE = place
    return Result(code, out.getvalue(), err.getvalue())


@functools.cache
def _compiled_package() -> Path:
    """The kit's package with its bytecode, made once per test process in a folder of its
    own. Copies carry the bytecode, so the hundreds of `python -m tasks` processes a pass
    starts from them do not each compile the kit from source again (PYTHONDONTWRITEBYTECODE
    keeps them from saving what they compile). Checked against the source's hash on import:
    a test that edits a module of its copy runs what it wrote."""
    folder = Path(tempfile.mkdtemp(prefix="kit-compiled-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    package = folder / "tasks"
    shutil.copytree(KIT / "tasks", package, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(package, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    return package


def copy_package(project: Path) -> Path:
    """The kit's package (tasks/), with its bytecode, copied into `project`."""
    return Path(shutil.copytree(_compiled_package(), project / "tasks"))


def copy_kit(project: Path, *extra: str) -> Path:
    """Copy the kit, its default manifest and the bundled example into `project`."""
    project.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".coverage*")
    for name in (*KIT_FILES, *extra):
        source = KIT / name
        if name == "tasks":
            copy_package(project)
        elif source.is_dir():
            shutil.copytree(source, project / name, ignore=ignore)
        else:
            shutil.copy2(source, project / name)
    return project


@pytest.fixture
def kit_copy(tmp_path: Path) -> Path:
    """The kit with its default manifest and bundled example, copied into tmp_path."""
    return copy_kit(tmp_path / "kit")


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


def turn_fork_server_off(project: Path) -> None:
    """Each run a new process, as where fork is not there (docs/performance.md): the
    manifest's [settings] says fork_server = false."""
    manifest = project / "configs" / "services.toml"
    text = manifest.read_text(encoding="utf-8")
    if re.search(r"^\[settings\]$", text, re.MULTILINE):
        text = re.sub(r"^\[settings\]$", "[settings]\nfork_server = false", text, count=1, flags=re.MULTILINE)
    else:
        text = "[settings]\nfork_server = false\n" + text
    manifest.write_text(text, encoding="utf-8")


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A kit copy (tasks/ and noxfile.py) measuring a repository made of `files`."""

    def make(files: dict[str, str]) -> Path:
        project = tmp_path / "project"
        project.mkdir()
        for name in ("noxfile.py", "pyproject.toml"):
            shutil.copy2(KIT / name, project / name)
        copy_package(project)
        write_files(project, files)
        return project

    return make


MEASURE = ("-s", "coverage-xp", "coverage-auth", "coverage-discord", "combine")


@pytest.fixture(scope="session")
def measured_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit with the example measured and combined once per test run (read only)."""
    project = copy_kit(tmp_path_factory.mktemp("measured") / "kit", ".gitignore")
    result = nox(project, *MEASURE)
    assert result.returncode == 0, result.output
    return project


def private_copy(read_only: Path, tmp_path: Path) -> Path:
    """A copy of a shared, read-only project (a module or session fixture's) in the test's
    own `tmp_path`, as `kit`: the test may change it."""
    return Path(shutil.copytree(read_only, tmp_path / "kit", symlinks=True))


@pytest.fixture
def measured_copy(measured_example: Path, tmp_path: Path) -> Path:
    """A private copy of `measured_example` that a test may change."""
    return private_copy(measured_example, tmp_path)


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless Chromium: found on PATH, else installed with apt (Debian's `chromium`
    package) when this process may; skipped, saying why, only where neither works."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    if shutil.which("apt-get") is None:
        pytest.skip("no chromium on PATH and no apt-get to install it (install Chromium to run this check)")
    if os.geteuid() != 0:
        pytest.skip("no chromium on PATH, and installing it needs root: sudo apt-get install chromium")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # One installer at a time: each pytest-xdist worker asks, and apt-get refuses a second one
    # while the first holds dpkg's lock; the one that waited finds chromium installed.
    with (Path(tempfile.gettempdir()) / "coverage-workflows-chromium.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            if shutil.which("chromium"):
                break
            installed = subprocess.run(
                argv, capture_output=True, text=True, timeout=900, env=environment, check=False
            )
            if installed.returncode != 0:
                pytest.skip(f"cannot install chromium ({' '.join(argv)}): {installed.stderr.strip()[-300:]}")
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("apt-get installed chromium but it is not on PATH")
    return found


def screenshot(chromium: str, page: Path, folder: Path, height: int) -> Path:
    """A 1280-pixel-wide PNG of `page`, `height` tall, in `folder`; checked to be a real one."""
    shot = folder / "dashboard.png"
    window = f"--window-size=1280,{height}"
    taken = headless(
        chromium, page, folder / "profile-shot", "--hide-scrollbars", window, f"--screenshot={shot}"
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    return shot


def headless(chromium: str, page: Path, profile: Path, *args: str) -> Result:
    """Run Chromium headless on a file; a fresh profile each time (root needs --no-sandbox)."""
    return run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
            page.as_uri(),
        ],
        page.parent,
        timeout=120,
    )


def build_wheel(folder: Path, package: str) -> Path:
    """A minimal pure-Python wheel of `package`, written by hand (no build backend, no
    index): one module setting READY, its metadata and a RECORD with the hashes pip checks."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{package}-0.1.dist-info"
    files = {
        f"{package}/__init__.py": "READY = True\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{package}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


INLINE_BACKEND = '''"""A build backend in the library's own folder (pip downloads nothing to build it): a
wheel, editable or not, that puts the library's source folder on sys.path, and declares the
project's dependencies and extras, as a real backend would."""

import base64
import hashlib
import pathlib
import tomllib
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
PROJECT = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NAME = PROJECT["name"].replace("-", "_")
VERSION = PROJECT.get("version", "0.1")


def _metadata():
    lines = ["Metadata-Version: 2.1", f"Name: {PROJECT['name']}", f"Version: {VERSION}"]
    lines += [f"Requires-Dist: {requirement}" for requirement in PROJECT.get("dependencies", [])]
    for extra, requirements in PROJECT.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {requirement}; extra == "{extra}"' for requirement in requirements]
    return "\\n".join(lines) + "\\n"


def _build(directory):
    info = f"{NAME}-{VERSION}.dist-info"
    source = HERE / "src" if (HERE / "src").is_dir() else HERE
    files = {
        f"_{NAME}_inline.pth": f"{source}\\n",
        f"{info}/METADATA": _metadata(),
        f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: inline\\nRoot-Is-Purelib: true\\n"
        "Tag: py3-none-any\\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\\n".join([*record, f"{info}/RECORD,,"]) + "\\n"
    wheel = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(directory) / wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []
'''


def inline_library(folder: str, name: str, body: str = "") -> dict[str, str]:
    """The files of a library at `folder` that pip builds offline: a pyproject.toml naming
    `name`, with `body` (more of [project] and further tables) after its [project] header,
    and a build backend of its own in the folder (INLINE_BACKEND)."""
    header = '[build-system]\nrequires = []\nbuild-backend = "_inline_backend"\nbackend-path = ["."]\n\n'
    project = f'[project]\nname = "{name}"\nversion = "0.1"\n'
    return {
        f"{folder}/pyproject.toml": header + project + textwrap.dedent(body).lstrip("\n"),
        f"{folder}/_inline_backend.py": INLINE_BACKEND,
    }


GIT_IDENTITY = {
    name: "t" for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
}


def commit_everything(root: Path, ignored: str = "") -> Path:
    """Make `root` a git repository on `main` whose first commit holds everything in it but
    what `ignored` (.gitignore lines) leaves out."""
    if ignored:
        (root / ".gitignore").write_text(ignored, encoding="utf-8")
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "start"],
    ):
        result = run(argv, root, env=GIT_IDENTITY)
        assert result.returncode == 0, result.output
    return root
