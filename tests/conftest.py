"""Fixtures: copies of the kit and of repositories to measure, built in tmp_path."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
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


def run(
    argv: Sequence[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: int = 300,
    input_text: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Result:
    """Run a real process with this interpreter's tools first on PATH (and `preexec_fn`
    called in the child before it starts: resource limits, say)."""
    environment = dict(os.environ)
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", "")
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        environment.pop(name, None)  # the kit's tests may themselves run on GitHub Actions
    environment.update(env or {})
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=environment,
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


def nox(project: Path, *args: str) -> Result:
    """Run real nox sessions in `project`, in this environment (no venv creation, no installs).

    The sessions' own code runs unchanged; only `session.install` is skipped, because this
    environment already has the dependency groups installed.
    """
    return run([sys.executable, "-m", "nox", "--no-venv", "--no-install", *args], project)


def nox_in_venvs(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run real nox sessions in `project`, each in a new virtualenv that sees this
    environment's packages through PYTHONPATH, with pip kept off any index: environments are
    made and installed into as for a user, and nothing is downloaded."""
    environment = {"PYTHONPATH": sysconfig.get_paths()["purelib"], "PIP_NO_INDEX": "1", **(env or {})}
    argv = [sys.executable, "-m", "nox", "--default-venv-backend", "virtualenv", *args]
    return run(argv, project, env=environment, timeout=600)


def tasks(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return run([sys.executable, "-m", "tasks", *args], project, env=env)


def copy_kit(project: Path, *extra: str) -> Path:
    """Copy the kit, its default manifest and the bundled example into `project`."""
    project.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".coverage*")
    for name in (*KIT_FILES, *extra):
        source = KIT / name
        if source.is_dir():
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


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A kit copy (tasks/ and noxfile.py) measuring a repository made of `files`."""

    def make(files: dict[str, str]) -> Path:
        project = tmp_path / "project"
        project.mkdir()
        for name in ("noxfile.py", "pyproject.toml"):
            shutil.copy2(KIT / name, project / name)
        shutil.copytree(KIT / "tasks", project / "tasks", ignore=shutil.ignore_patterns("__pycache__"))
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


@pytest.fixture
def measured_copy(measured_example: Path, tmp_path: Path) -> Path:
    """A private copy of `measured_example` that a test may change."""
    target = tmp_path / "kit"
    shutil.copytree(measured_example, target)
    return target


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
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
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
