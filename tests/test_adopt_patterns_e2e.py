"""adopt on the patterns of real repositories, each built here: `adopt PATH`, then in PATH
`nox -s coverage-all combine report` with no edit, every service's own and whole-suite
figures checked file by file against strict coverage.py runs of the same tests.

- a uv workspace of namespace-package libraries that depend on each other, by
  [tool.uv.sources] and by plain names in a dev group;
- test requirement files with paths relative to the repository's root, in variant names;
- tox with a test and a benchmark environment, paired -W options and --ignore=;
- a .gitignore that hides the kit's folder (/.coverage*): a fresh clone runs `nox -l`;
- a shared root tests/ folder whose files go to the services they import, and a
  test-utilities library with its own pyproject.toml under tests/;
- a library whose build configuration declares its package beside bench/ and scripts/.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from coverage import Coverage

from tests.conftest import (
    GIT_IDENTITY,
    OFFLINE_VENVS,
    SUITE_PLUGINS_OFF,
    commit_everything,
    copy_kit,
    flat,
    inline_library,
    nox_in_venvs,
    run,
    tasks,
    write_files,
)
from tests.oracle import FileTruth, truth_of

pytestmark = pytest.mark.e2e

KIT_FOLDER = ".coverage-workflows"


@dataclass(frozen=True)
class Runs:
    """One service's tests as the oracle runs them: from `cwd`, with `path` on sys.path."""

    service: str
    cwd: str  # relative to the repository
    tests: tuple[str, ...]
    source: tuple[str, ...]  # the service's own source, relative to the repository
    path: tuple[str, ...] = ()  # what its environment puts on sys.path, relative to the repository
    options: tuple[str, ...] = ()  # pytest's, as the repository's own test command gives them


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit that adopts (read only: adopt writes only into the repository it is given)."""
    return copy_kit(tmp_path_factory.mktemp("kit") / "kit", ".github")


def adopt_and_measure(kit: Path, root: Path) -> dict[str, dict]:
    """adopt (with its check: each service's environment built, its tests collected there),
    then the kit's sessions in the repository with no edit: the figures reported."""
    adopted = tasks(kit, "adopt", str(root), env=OFFLINE_VENVS)
    assert adopted.returncode == 0, adopted.output
    count = len(tomllib.loads((root / KIT_FOLDER / "configs/services.toml").read_text())["services"])
    assert f"{count} of {count} services collect." in adopted.stdout, adopted.stdout
    measured = nox_in_venvs(root, "-s", "coverage-all", "combine", "report")
    assert measured.returncode == 0, adopted.stdout + measured.output
    report = json.loads((root / KIT_FOLDER / "reports/services.json").read_text())
    return {service["name"]: service for service in report["services"]}


def strict(root: Path, runs: list[Runs], sources: list[str], data: Path) -> dict[Path, FileTruth]:
    """Each run's tests under `coverage run --source=<sources>`, combined: coverage.py's own
    figures for those files."""
    files = []
    for number, spec in enumerate(runs):
        data_file = data / f"run-{number}"
        data_file.parent.mkdir(parents=True, exist_ok=True)
        env = {
            "PYTHONPATH": os.pathsep.join(str(root / p) for p in spec.path),
            "PYTEST_ADDOPTS": f"--no-cov {SUITE_PLUGINS_OFF}" if _has_cov() else SUITE_PLUGINS_OFF,
        }
        # None of the repository's settings (the oracle's own), but files in namespace packages
        # count, as the kit counts them.
        rcfile = data_file.with_name(data_file.name + ".rc")
        rcfile.write_text("[report]\ninclude_namespace_packages = true\n")
        argv = [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}", "--branch"]
        argv += [f"--data-file={data_file}", f"--source={','.join(str(root / s) for s in sources)}"]
        result = run(
            [*argv, "-m", "pytest", "-q", "-p", "no:cacheprovider", *spec.options, *spec.tests],
            root / spec.cwd,
            env=env,
        )
        assert result.returncode == 0, result.output
        files.append(str(data_file))
    cov = Coverage(data_file=str(data / "combined"), config_file=False)
    cov.combine(files)
    cov.save()
    cov.set_option("report:include_namespace_packages", True)
    cov.load()
    return truth_of(cov)


def _has_cov() -> bool:
    import importlib.util

    return importlib.util.find_spec("pytest_cov") is not None


def assert_figures(root: Path, figures: dict[str, dict], runs: list[Runs], tmp_path: Path) -> None:
    """Each service's own figure (its tests, its files) and whole-suite figure (every test,
    its files) equal strict runs, file by file."""
    every_source = [s for spec in runs for s in spec.source]
    whole = strict(root, runs, every_source, tmp_path / "whole")
    for spec in runs:
        own = strict(root, [spec], list(spec.source), tmp_path / f"own-{spec.service}")
        reported = {(root / f["path"]).resolve(): f for f in figures[spec.service]["files"]}
        assert set(reported) == set(own), (spec.service, sorted(reported), sorted(own))
        for path, truth in own.items():
            for kind, expected in (("isolated", truth), ("whole_suite", whole[path])):
                figure = reported[path][kind]
                assert figure["statements"] == len(expected.statements), (kind, path)
                assert figure["covered"] == len(expected.statements - expected.missing), (kind, path)
                assert figure["branches"] == expected.branches, (kind, path)
                assert figure["covered_branches"] == expected.taken_branches, (kind, path)


# -- a uv workspace of namespace-package libraries that depend on each other -----------------


def uv_workspace() -> dict[str, str]:
    return {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["libs/*"]\n',
        "uv.lock": "version = 1\n",
        **inline_library("libs/core", "acme-core"),
        "libs/core/src/acme/core/money.py": """
            def cents(amount):
                if amount < 0:
                    raise ValueError("negative")
                return round(amount * 100)


            def euros(cents):
                return cents / 100
        """,
        "libs/core/tests/test_money.py": """
            from acme.core.money import cents


            def test_cents():
                assert cents(1.5) == 150
        """,
        # api depends on core by [tool.uv.sources], and its dev group names report by its name
        **inline_library(
            "libs/api",
            "acme-api",
            """
            dependencies = ["acme-core"]

            [tool.uv.sources]
            acme-core = { workspace = true }

            [dependency-groups]
            dev = ["acme-report"]
            lint = ["not-installed-by-uv-sync"]
            """,
        ),
        "libs/api/src/acme/api/views.py": """
            from acme.core.money import cents, euros
            from acme.report.fmt import shown


            def price(amount):
                return shown(euros(cents(amount)))
        """,
        "libs/api/tests/test_views.py": """
            from acme.api.views import price


            def test_price():
                assert price(2) == "2.00"
        """,
        **inline_library("libs/report", "acme-report"),
        "libs/report/src/acme/report/fmt.py": """
            def shown(value, places=2):
                if places < 0:
                    raise ValueError("places")
                return f"{value:.{places}f}"
        """,
        "libs/report/tests/test_fmt.py": """
            from acme.report.fmt import shown


            def test_shown():
                assert shown(1) == "1.00"
        """,
    }


def test_adopt__a_uv_workspace_of_libraries_that_depend_on_each_other(kit: Path, tmp_path: Path) -> None:
    root = commit_everything(
        write_tree(tmp_path / "repo", uv_workspace()), ".coverage-workflows/.coverage-data/\n"
    )
    figures = adopt_and_measure(kit, root)
    manifest = tomllib.loads((root / KIT_FOLDER / "configs/services.toml").read_text())
    # uv sync installs dev (its default group), not lint; the siblings come from their folders.
    api = manifest["services"]["api"]["install"]
    assert api == ["-e", "../libs/api", "-e", "../libs/report", "-e", "../libs/core"], api
    sources = {name: (f"libs/{name}/src/acme",) for name in ("core", "api", "report")}
    path = ("libs/core/src", "libs/api/src", "libs/report/src")
    runs = [Runs(name, f"libs/{name}", ("tests",), sources[name], path) for name in ("core", "api", "report")]
    assert_figures(root, figures, runs, tmp_path / "oracle")
    # api's tests run core's code: it counts in core's whole-suite figure, not in its own.
    core = figures["core"]
    assert core["whole_suite"]["covered"] > core["isolated"]["covered"], core


def write_tree(root: Path, files: dict[str, str]) -> Path:
    write_files(root, files)
    return root


# -- test requirement files with root-relative paths, in variant names only ----------------


def requirement_files() -> dict[str, str]:
    return {
        "tox.ini": """
            [tox]
            envlist = py3

            [testenv]
            deps = -r {toxinidir}/dev-requirements.txt
            commands = pytest {posargs}
        """,
        "dev-requirements.txt": "pytest\n",
        **inline_library("libs/core", "acme-core"),
        "libs/core/test-requirements.txt": "-r dev-requirements.txt\n-e libs/core\n",
        "libs/core/src/acme_core/__init__.py": """
            def double(x):
                if x is None:
                    return 0
                return 2 * x
        """,
        "libs/core/tests/test_core.py": """
            from acme_core import double


            def test_double():
                assert double(2) == 4
        """,
        # Paths relative to the root, where tox runs pip; two variants and no plain name.
        **inline_library("libs/plugin", "acme-plugin"),
        "libs/plugin/test-requirements-0.txt": "-r dev-requirements.txt\n-e libs/core\n-e libs/plugin\n",
        "libs/plugin/test-requirements-1.txt": "-r dev-requirements.txt\n-e libs/core\n-e libs/plugin\n",
        "libs/plugin/src/acme_plugin/__init__.py": """
            from acme_core import double


            def quadruple(x):
                return double(double(x))
        """,
        "libs/plugin/tests/test_plugin.py": """
            from acme_plugin import quadruple


            def test_quadruple():
                assert quadruple(1) == 4
                assert quadruple(None) == 0  # a line of core's that core's own tests leave out
        """,
    }


def test_adopt__requirement_files_with_root_relative_paths_in_variant_names(
    kit: Path, tmp_path: Path
) -> None:
    root = commit_everything(write_tree(tmp_path / "repo", requirement_files()))
    figures = adopt_and_measure(kit, root)
    manifest = (root / KIT_FOLDER / "configs/services.toml").read_text()
    services = tomllib.loads(manifest)["services"]
    assert services["plugin"]["install"] == ["-e", "../libs/plugin", "pytest", "-e", "../libs/core"]
    assert "libs/plugin/test-requirements-0.txt (of test-requirements-1.txt too: .latest first" in manifest
    runs = [
        Runs(
            name,
            f"libs/{name}",
            ("tests",),
            (f"libs/{name}/src/acme_{name}",),
            ("libs/core/src", "libs/plugin/src"),
        )
        for name in ("core", "plugin")
    ]
    assert_figures(root, figures, runs, tmp_path / "oracle")
    assert figures["core"]["whole_suite"]["covered"] > figures["core"]["isolated"]["covered"]


# -- tox with a test and a benchmark environment, paired -W options and --ignore= -----------

TOX_OPTIONS = ("-W", "error", "-W", "ignore:old call:DeprecationWarning", "--ignore=tests/app/test_slow.py")


def tox_environments() -> dict[str, str]:
    return {
        "tox.ini": """
            [tox]
            envlist = py3, bench

            [testenv]
            deps = pytest
            commands = pytest -W error -W "ignore:old call:DeprecationWarning" \\
                --ignore=tests/app/test_slow.py {posargs:tests}

            [testenv:bench]
            deps = pytest-benchmark
            commands = pytest benchmarks --benchmark-json={toxinidir}/bench.json -s -vvv
        """,
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n',
        "src/app/__init__.py": """
            import warnings


            def total(items):
                warnings.warn("old call", DeprecationWarning, stacklevel=2)
                if not items:
                    return 0
                return sum(items)
        """,
        "tests/app/test_app.py": """
            from app import total


            def test_total():
                assert total([1, 2]) == 3
        """,
        "tests/app/test_slow.py": "def test_slow():\n    raise AssertionError('left out by --ignore')\n",
        "benchmarks/bench_app.py": "def test_bench(benchmark):\n    benchmark(sum, [1])\n",
    }


def test_adopt__tox_test_and_benchmark_environments_paired_options(kit: Path, tmp_path: Path) -> None:
    root = commit_everything(write_tree(tmp_path / "repo", tox_environments()))
    figures = adopt_and_measure(kit, root)
    manifest = tomllib.loads((root / KIT_FOLDER / "configs/services.toml").read_text())
    # The test environment's options, each pair whole; nothing of the benchmark environment's.
    assert manifest["settings"]["pytest_args"] == list(TOX_OPTIONS), manifest["settings"]
    runs = [Runs("app", ".", ("tests/app",), ("src/app",), ("src",), TOX_OPTIONS)]
    assert_figures(root, figures, runs, tmp_path / "oracle")


# -- a .gitignore that hides the kit's folder ------------------------------------------------


def test_adopt__a_gitignore_that_hid_the_kit_s_folder__a_fresh_clone_runs_nox(
    kit: Path, tmp_path: Path
) -> None:
    files = {
        **tox_environments(),
        ".gitignore": "/.coverage*\n__pycache__/\n",
    }
    root = commit_everything(write_tree(tmp_path / "repo", files))
    adopted = tasks(kit, "adopt", "--no-check", str(root))
    assert adopted.returncode == 0, adopted.output
    assert ".gitignore: !/.coverage-workflows/ added (a pattern there hid the kit's files)" in adopted.stdout
    for argv in (["git", "add", "-A"], ["git", "commit", "-qm", "adopt the kit"]):
        assert run(argv, root, env=GIT_IDENTITY).returncode == 0
    clone = tmp_path / "clone"
    assert run(["git", "clone", "-q", str(root), str(clone)], tmp_path).returncode == 0
    assert (clone / KIT_FOLDER / "configs/services.toml").is_file()
    listed = run([sys.executable, "-m", "nox", "-l"], clone)
    assert listed.returncode == 0, listed.output
    assert "coverage-app" in listed.stdout, listed.stdout
    # Measured there, the kit's data stays out of git.
    measured = run([sys.executable, "-m", "coverage_workflows", "run", "app"], clone / KIT_FOLDER)
    assert measured.returncode == 0, measured.output
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], clone)
    assert status.stdout == "", status.stdout


# -- a shared root tests/ folder, and a test-utilities library under it ---------------------


def shared_tests() -> dict[str, str]:
    return {
        "pyproject.toml": """
            [tool.pytest.ini_options]
            pythonpath = ["src"]

            [dependency-groups]
            dev = ["acme-testing"]

            [tool.uv.sources]
            acme-testing = { path = "tests/support", editable = true }
        """,
        "uv.lock": "version = 1\n",
        "src/alpha/__init__.py": """
            def double(x):
                if x < 0:
                    return 0
                return 2 * x
        """,
        "src/beta/__init__.py": """
            from alpha import double


            def quad(x):
                return double(double(x))
        """,
        "scripts/release.py": "print('release')\n",
        # Named after alpha, but it tests the script: a file name says nothing of whose it is.
        "tests/test_alpha_release.py": """
            import runpy


            def test_release(capsys):
                runpy.run_path("scripts/release.py")
                assert capsys.readouterr().out == "release\\n"
        """,
        "tests/test_cli.py": """
            from acme_testing import check
            from alpha import double


            def test_double():
                check(double(2), 4)
        """,
        "tests/test_both.py": """
            from alpha import double
            from beta import quad


            def test_quad():
                assert quad(1) == 4
                assert double(-1) == 0
        """,
        **inline_library("tests/support", "acme-testing"),
        "tests/support/src/acme_testing/__init__.py": """
            def check(actual, expected):
                assert actual == expected, (actual, expected)
        """,
    }


def test_adopt__shared_tests_go_to_the_services_they_import(kit: Path, tmp_path: Path) -> None:
    root = commit_everything(write_tree(tmp_path / "repo", shared_tests()))
    figures = adopt_and_measure(kit, root)
    manifest = tomllib.loads((root / KIT_FOLDER / "configs/services.toml").read_text())
    assert manifest["services"]["alpha"]["tests"] == ["tests/test_both.py", "tests/test_cli.py"]
    assert manifest["services"]["beta"]["tests"] == ["tests/test_both.py"]
    assert manifest["settings"]["install"] == ["-e", "../tests/support"]  # uv's dev group, from its folder
    text = (root / KIT_FOLDER / "configs/services.toml").read_text()
    assert "#   tests/test_alpha_release.py" in text  # listed, not given to alpha by its name
    path = ("src", "tests/support/src")
    runs = [
        Runs("alpha", ".", ("tests/test_both.py", "tests/test_cli.py"), ("src/alpha",), path),
        Runs("beta", ".", ("tests/test_both.py",), ("src/beta",), path),
    ]
    assert_figures(root, figures, runs, tmp_path / "oracle")


# -- library folders: a namespace package, and a package declared beside bench/ and scripts/ -


def library_folders() -> dict[str, str]:
    return {
        # acme/plugin/ with no acme/__init__.py, at the folder's top (no src/)
        **inline_library("libs/acme-plugin", "acme-plugin"),
        "libs/acme-plugin/acme/plugin/core.py": """
            def greet(name):
                if not name:
                    return "hello"
                return f"hello {name}"
        """,
        "libs/acme-plugin/acme/plugin/unused.py": "def never():\n    return 1\n",
        "libs/acme-plugin/tests/test_core.py": """
            from acme.plugin.core import greet


            def test_greet():
                assert greet("ada") == "hello ada"
        """,
        # The build ships fastlib; bench/ and scripts/ are Python too, but no part of it.
        **inline_library(
            "libs/fast",
            "fastlib",
            """
            [tool.hatch.build.targets.wheel]
            packages = ["fastlib"]

            [tool.pytest.ini_options]
            pythonpath = ["."]
            """,
        ),
        "libs/fast/fastlib/__init__.py": "def inc(x):\n    return x + 1\n",
        "libs/fast/bench/__init__.py": "",
        "libs/fast/bench/run.py": "from fastlib import inc\n\nprint(inc(1))\n",
        "libs/fast/scripts/tool.py": "print('tool')\n",
        "libs/fast/tests/test_inc.py": """
            from fastlib import inc


            def test_inc():
                assert inc(1) == 2
        """,
    }


def test_adopt__a_namespace_package_and_a_package_declared_beside_others(kit: Path, tmp_path: Path) -> None:
    root = commit_everything(write_tree(tmp_path / "repo", library_folders()))
    figures = adopt_and_measure(kit, root)
    manifest = tomllib.loads((root / KIT_FOLDER / "configs/services.toml").read_text())["services"]
    assert (manifest["acme-plugin"]["source"], manifest["fast"]["source"]) == (["acme"], ["fastlib"])
    runs = [
        Runs(
            "acme-plugin", "libs/acme-plugin", ("tests",), ("libs/acme-plugin/acme",), ("libs/acme-plugin",)
        ),
        Runs("fast", "libs/fast", ("tests",), ("libs/fast/fastlib",), ("libs/fast",)),
    ]
    assert_figures(root, figures, runs, tmp_path / "oracle")
    unused = next(f for f in figures["acme-plugin"]["files"] if f["path"].endswith("unused.py"))
    assert unused["isolated"]["covered"] == 0  # never imported, counted at 0%


# -- all of them in one repository ------------------------------------------------------------


def moved(files: dict[str, str], renames: dict[str, str]) -> dict[str, str]:
    """`files` with each of `renames` made in every path and text."""

    def renamed(text: str) -> str:
        for old, new in renames.items():
            text = text.replace(old, new)
        return text

    return {renamed(path): renamed(text) for path, text in files.items()}


def all_patterns() -> dict[str, str]:
    plugins = moved(
        requirement_files(),
        {"libs/core": "plugins/base", "libs/plugin": "plugins/ext", "acme_core": "acme_base"}
        | {"acme-core": "acme-base", "acme_plugin": "acme_ext", "acme-plugin": "acme-ext"},
    )
    shared = shared_tests()
    files = {
        **uv_workspace(),
        **plugins,
        **tox_environments(),
        **{k: v for k, v in shared.items() if k != "pyproject.toml"},
        **library_folders(),
    }
    # One pyproject.toml at the root: the workspace's, and the shared tests' pytest and uv settings.
    files["pyproject.toml"] = "\n".join(
        textwrap.dedent(text).strip() + "\n"
        for text in (uv_workspace()["pyproject.toml"], shared["pyproject.toml"])
    )
    files["tox.ini"] = files["tox.ini"].replace(
        "[testenv]\n            deps = pytest",
        "[testenv]\n            deps = -r {toxinidir}/dev-requirements.txt",
    )
    files[".gitignore"] = "/.coverage*\n__pycache__/\n"
    return files


def test_adopt__every_pattern_in_one_repository(kit: Path, tmp_path: Path) -> None:
    files = all_patterns()
    assert "-r {toxinidir}/dev-requirements.txt" in files["tox.ini"]
    root = commit_everything(write_tree(tmp_path / "repo", files))
    figures = adopt_and_measure(kit, root)
    assert set(figures) == {
        "core",
        "api",
        "report",
        "base",
        "ext",
        "acme-plugin",
        "fast",
        "app",
        "alpha",
        "beta",
    }
    workspace = ("libs/core/src", "libs/api/src", "libs/report/src")
    plugins = ("plugins/base/src", "plugins/ext/src")
    shared = ("src", "tests/support/src")
    runs = [
        *(
            Runs(n, f"libs/{n}", ("tests",), (f"libs/{n}/src/acme",), workspace, TOX_OPTIONS)
            for n in ("core", "api", "report")
        ),
        *(
            Runs(n, f"plugins/{n}", ("tests",), (f"plugins/{n}/src/acme_{n}",), plugins, TOX_OPTIONS)
            for n in ("base", "ext")
        ),
        Runs(
            "acme-plugin",
            "libs/acme-plugin",
            ("tests",),
            ("libs/acme-plugin/acme",),
            ("libs/acme-plugin",),
            TOX_OPTIONS,
        ),
        Runs("fast", "libs/fast", ("tests",), ("libs/fast/fastlib",), ("libs/fast",), TOX_OPTIONS),
        Runs("app", ".", ("tests/app",), ("src/app",), shared, TOX_OPTIONS),
        Runs("alpha", ".", ("tests/test_both.py", "tests/test_cli.py"), ("src/alpha",), shared, TOX_OPTIONS),
        Runs("beta", ".", ("tests/test_both.py",), ("src/beta",), shared, TOX_OPTIONS),
    ]
    assert_figures(root, figures, runs, tmp_path / "oracle")
    ignored = run(["git", "check-ignore", "--no-index", f"{KIT_FOLDER}/configs/services.toml"], root)
    assert ignored.returncode == 1, ignored.output  # committable: the negation is there


# -- last, on its own: a service that cannot collect ------------------------------------------


def three_services(broken: str) -> dict[str, str]:
    """alpha, beta and gamma in src/, each tested in tests/<name>/; `broken`'s tests import a
    package nothing installs."""
    files = {"pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n'}
    for name in ("alpha", "beta", "gamma"):
        files[f"src/{name}/__init__.py"] = """
            def sign(x):
                if x < 0:
                    return -1
                return 1
        """
        missing = "import not_a_dependency_anywhere  # noqa: F401\n" if name == broken else ""
        files[f"tests/{name}/test_{name}.py"] = (
            f"{missing}from {name} import sign\n\n\ndef test_sign():\n    assert sign(2) == 1\n"
        )
    return files


def test_adopt__a_service_that_cannot_collect_is_named_and_the_others_run(kit: Path, tmp_path: Path) -> None:
    root = commit_everything(write_tree(tmp_path / "repo", three_services("beta")))
    adopted = tasks(kit, "adopt", str(root), env=OFFLINE_VENVS)
    # adopt wrote everything, and says which service cannot run and the setting behind it.
    assert adopted.returncode == 2, adopted.output
    assert (root / KIT_FOLDER / "configs/services.toml").is_file()
    assert "alpha  1 test\n" in adopted.stdout and "gamma  1 test\n" in adopted.stdout, adopted.stdout
    said = flat(adopted.stdout)
    expected = (
        "beta CANNOT COLLECT: pytest exit status 2: tests/beta/test_beta.py: ModuleNotFoundError: No module"
    )
    assert expected in said, said
    key = "[settings] install (or services.beta.install, for beta alone)"
    assert f"the setting behind it: {key} in .coverage-workflows/configs/services.toml" in said, said
    assert "2 of 3 services collect." in said, said

    # The other services are measured and reported; beta's failure stays with beta.
    measured = nox_in_venvs(root, "-s", "coverage-all", "combine", "report")
    assert measured.returncode == 2, measured.output
    report = json.loads((root / KIT_FOLDER / "reports/services.json").read_text())
    figures = {service["name"]: service for service in report["services"]}
    runs = [Runs(name, ".", (f"tests/{name}",), (f"src/{name}",), ("src",)) for name in ("alpha", "gamma")]
    assert_figures(root, figures, runs, tmp_path / "oracle")
    table = measured.stderr[measured.stderr.rindex("service runs:") :]  # nox's end, after its summary
    assert "beta  FAILED (exit 2): collection error" in table, table
    assert "ModuleNotFoundError: No module named 'not_a_dependency_anywhere'" in table, table
    assert "again: nox -s coverage-beta" in table, table
    assert "passed: alpha, gamma" in table, table
    (row,) = [line for line in measured.stdout.splitlines() if line.startswith("beta ") and "no data" in line]
    assert row.split()[2:] == ["-", "no", "data", "no", "data", "no", "data", "n/a", "not", "measured"], row

    # So does a list of its sessions: a, b and c, then combine and report.
    listed = nox_in_venvs(
        root, "-s", "coverage-alpha", "coverage-beta", "coverage-gamma", "combine", "report"
    )
    assert listed.returncode == 2, listed.output
    assert "Total (2 of 3)" in listed.stdout, listed.stdout
    assert "beta  FAILED (exit 2): collection error" in listed.stderr[listed.stderr.rindex("service runs:") :]
