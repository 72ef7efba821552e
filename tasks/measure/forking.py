"""Run a service's measured command (`coverage run -m pytest ...`) in a fork of this process
rather than a new interpreter: pytest, coverage.py and their plugins, imported once by this
process (or by the fork server it was forked from, fork_server.py), are not imported again.

What the child must not inherit, it drops: the kit's own modules (a repository may have a
`tasks` package of its own), this process's exit hooks and finalizers (the run's scratch
folder is this process's to remove), its standard streams. A fork is refused (and the
command started as a new process, as before) where it would not be the same run: another
Python, variables that change how Python starts, Windows, or a module of the repository
already imported here, which the child would inherit unmeasured.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import io
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..config.manifest import KIT_MODULE, KIT_PACKAGE, Manifest
from . import processes

# Read by Python as it starts; a forked child has started already, so these would be lost.
STARTUP_VARIABLES = frozenset(
    {
        "PYTHONHOME",
        "PYTHONSAFEPATH",
        "PYTHONSTARTUP",
        "PYTHONOPTIMIZE",
        "PYTHONDEBUG",
        "PYTHONINSPECT",
        "PYTHONNOUSERSITE",
        "PYTHONUSERBASE",
        "PYTHONWARNINGS",
        "PYTHONDEVMODE",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
        "PYTHONHASHSEED",
        "PYTHONINTMAXSTRDIGITS",
        "PYTHONPLATLIBDIR",
        "PYTHONFAULTHANDLER",
        "PYTHONTRACEMALLOC",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONMALLOC",
        "PYTHONNODEBUGRANGES",
        "PYTHONWARNDEFAULTENCODING",
        "PYTHONPYCACHEPREFIX",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONVERBOSE",
        "PYTHONEXECUTABLE",
    }
)
PR_SET_CHILD_SUBREAPER = 36  # prctl(2): orphaned descendants become this process's children


def refusal(manifest: Manifest, argv: Sequence[str], variables: Mapping[str, str]) -> str | None:
    """Why the command cannot run in a fork of this process; None when it can."""
    unusable = unavailable(manifest)
    if unusable:
        return unusable
    if not same_python(argv[0]):
        return f"its Python ({argv[0]}) is not this process's ({sys.executable})"
    changed = sorted(
        name
        for name in STARTUP_VARIABLES
        if variables.get(name, os.environ.get(name)) != os.environ.get(name)
    )
    if changed:
        return f"it sets {', '.join(changed)}, which Python reads as it starts"
    if threading.active_count() > 1:
        return "this process runs threads, which a fork would not carry"
    imported = repository_modules(manifest)
    if imported:
        return f"the repository's {imported[0]} is imported here already, and would go unmeasured"
    return None


def unavailable(manifest: Manifest) -> str | None:
    """Why no run forks here, whatever it runs; None where runs may."""
    if not manifest.fork_server:
        return "settings.fork_server = false in the manifest"
    if not hasattr(os, "fork") or not sys.platform.startswith(("linux", "darwin")):
        return f"no safe fork on {sys.platform}"
    return None


def same_python(python: str) -> bool:
    """Whether `python` is this process's interpreter, in this environment (two virtual
    environments share one real interpreter, so resolving links is not enough)."""
    given, here = Path(python), Path(sys.executable)
    if given.absolute() == here.absolute():
        return True
    return given.parent == here.parent and given.resolve() == here.resolve()


def repository_modules(manifest: Manifest) -> list[str]:
    """The modules imported in this process that come from the repository: its files, not
    an environment's packages or the kit's own."""
    project = str(manifest.project_dir) + os.sep
    kit = str(KIT_PACKAGE) + os.sep
    installed = (
        *{str(Path(path).resolve()) + os.sep for path in sys.path if "-packages" in Path(path).name},
        str(Path(sys.prefix).resolve()) + os.sep,
        str(Path(sys.base_prefix).resolve()) + os.sep,
    )
    resolved: dict[Path, str] = {}  # folder -> its real path: modules share a few hundred folders
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        folder = Path(path).parent
        if folder not in resolved:
            resolved[folder] = str(folder.resolve()) + os.sep
        real = resolved[folder]
        if real.startswith(project) and not real.startswith(kit) and not real.startswith(installed):
            found.append(name)
    return sorted(found)


def load_pytest_plugins(*, preload_packages: bool = False) -> Any:
    """Import pytest's plugins as pytest.main would (a fresh pytest config of its own is
    returned): those its entry points name through pytest's assertion rewriter, so that a
    run forked from here finds them imported as its own pytest would have imported them.
    With `preload_packages`, the packages of the plugins' distributions too (hypothesis,
    say, which its plugin imports as every session ends)."""
    from _pytest.config import get_config

    config = get_config()
    hook = None
    with contextlib.suppress(Exception):  # pytest's own, not a public API: rewriting is a nicety
        from _pytest.assertion import install_importhook

        hook = install_importhook(config)
        config._mark_plugins_for_rewrite(hook, False)
    try:
        config.pluginmanager.load_setuptools_entrypoints("pytest11")
        if preload_packages:
            _import_plugin_packages()
    finally:
        if hook is not None and hook in sys.meta_path:
            sys.meta_path.remove(hook)
    return config


def _import_plugin_packages() -> None:
    """Import the top-level packages of the distributions that bring pytest plugins: they are
    installed packages, never measured, and every run's pytest imports most of them."""
    import importlib
    import importlib.metadata

    plugin_distributions = {
        dist.metadata["Name"]
        for dist in importlib.metadata.distributions()
        if any(entry.group == "pytest11" for entry in dist.entry_points)
    }
    for top, names in importlib.metadata.packages_distributions().items():
        if top in sys.modules or top.startswith("__") or not plugin_distributions.intersection(names):
            continue
        with contextlib.suppress(Exception):  # one that fails here is its run's to report
            importlib.import_module(top)


def run_forked(
    argv: Sequence[str],
    cwd: Path,
    mark: str,
    *,
    timeout: float | None,
    variables: Mapping[str, str],
    log: Path,
) -> int:
    """As processes.run_marked, with `argv` (`python -m coverage ...`) run in a forked child:
    its exit status once every process of the run has ended; its output copied to ours and
    to `log`; TimedOut past `timeout` seconds, with every process of the run ended."""
    environment = {**variables, processes.MARK: mark}
    if sys.stdout.isatty() and "PY_COLORS" not in os.environ and "PY_COLORS" not in environment:
        environment["PY_COLORS"] = "1"  # as run_marked: pytest's colours, through a pipe
    _adopt_orphans()
    log.parent.mkdir(parents=True, exist_ok=True)
    reading, writing = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends in os._exit; its figures are the run's
        os.close(reading)
        _child(list(argv[3:]), cwd, environment, writing)
    os.close(writing)
    with log.open("wb") as written, os.fdopen(reading, "rb") as output:
        copier = threading.Thread(target=processes.copy_output, args=(output, written), daemon=True)
        copier.start()
        try:
            status = _wait(pid, timeout)
        except TimeoutError:
            _kill(pid)
            processes.stop(mark, also=_orphans)
            copier.join(timeout=processes.STOP_S)
            raise processes.TimedOut from None
        except BaseException:  # Ctrl-C: as run_marked, end the child and go on
            _kill(pid)
            copier.join(timeout=processes.STOP_S)
            raise
        processes.end_marked(mark, also=_orphans)
        copier.join(timeout=processes.LINGER_S)
    return status


def _wait(pid: int, timeout: float | None) -> int:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.01)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _adopt_orphans() -> None:
    """Become the subreaper of the run (Linux): a process the tests fork and leave running
    carries no mark in its environment (it was never started anew), but stays our child."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _orphans() -> list[int]:
    """This process's children still running (the run's orphans, adopted); the ended ones
    are reaped."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    me = str(os.getpid())
    found = []
    for entry in processes.PROC.glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if fields[1] == me and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _child(arguments: list[str], cwd: Path, environment: dict[str, str], output: int) -> None:
    """In the forked child: become what `python -m coverage <arguments>` started in `cwd`
    with `environment` would be, run it, and end with its exit status."""
    code = 1
    try:
        own_streams(output)
        _forget_parent()
        before = os.environ.get("PYTHONPATH", "")
        os.environ.update(environment)
        os.chdir(cwd)
        _python_path(before, os.environ.get("PYTHONPATH", ""))
        from coverage.cmdline import main

        code = _exit_status(main(arguments))  # what `python -m coverage` gives sys.exit()
        _exit_as_python_does()
    except SystemExit as exc:
        code = _exit_status(exc.code)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        end_child(code)


def _exit_status(value: object) -> int:
    """The exit status sys.exit(value) gives: an int as it is, None 0, anything else 1."""
    return value if isinstance(value, int) else (0 if value is None else 1)


def end_child(code: int) -> NoReturn:
    """End a forked child with `code`: its output flushed, and none of the parent's clean-up
    (exit hooks, finalizers, `finally` blocks further up) run in it."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def own_streams(output: int) -> None:
    """In a forked child: standard output and error to the file `output`, no input, Python's
    streams made anew on them (the parent's may be buffers of its own), Ctrl-C as in a new
    process."""
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    quiet = os.open(os.devnull, os.O_RDONLY)
    os.dup2(quiet, 0)
    os.close(quiet)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _forget_parent() -> None:
    """Drop what belongs to the parent: its exit hooks and finalizers (they would remove the
    run's scratch folder), and the kit's modules (the repository may have its own `tasks`)."""
    atexit._clear()
    weakref.finalize._registry.clear()  # type: ignore[attr-defined]
    weakref.finalize._registered_with_atexit = False  # type: ignore[attr-defined]
    if "logging" in sys.modules:  # as at its import in a new interpreter
        atexit.register(logging.shutdown)
    for name in [name for name in sys.modules if name == KIT_MODULE or name.startswith(KIT_MODULE + ".")]:
        del sys.modules[name]


def _python_path(before: str, after: str) -> None:
    """sys.path as a new interpreter would build it from PYTHONPATH (coverage.py then puts
    the working directory first, as for `python -m`)."""
    old = {str(Path(entry).absolute()) for entry in before.split(os.pathsep) if entry}
    new = [str(Path(entry).absolute()) for entry in after.split(os.pathsep) if entry]
    rest = [entry for entry in sys.path[1:] if str(Path(entry).absolute()) not in old]
    inherited = list(sys.path)
    sys.path[:] = [sys.path[0] if sys.path else "", *new, *rest]
    _renew_copies(inherited, [str(Path.cwd()), *sys.path[1:]])


def _renew_copies(inherited: list[str], now: list[str]) -> None:
    """A copy of sys.path an installed package took as it was imported (pytest-xdist gives
    its workers the one it took) is the parent's: make it the one a new process would take."""
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if "-packages" not in path:
            continue
        for value in list(vars(module).values()):
            if type(value) is list and value is not sys.path and value == inherited:
                value[:] = now


def _exit_as_python_does() -> None:
    """What the interpreter does as it ends: wait for the threads that are not daemons,
    then run the exit hooks (multiprocessing's, which ends the pools the tests left)."""
    with contextlib.suppress(Exception):
        threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
