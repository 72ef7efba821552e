"""What adopt reads from a repository's own files, on repositories written here: the pytest
options of the environment that runs a service's tests (tox, noxfile), its test requirement
files with their paths, and its own libraries, installed from their folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.adopt import libraries, pytest_options, requirements
from tasks.adopt.discover import Found
from tests.conftest import write_files

API = Found(name="api", working_dir=".", source=("src/api",), tests=("tests/api",), reason="")
SMOKE = Found(name="smoke", working_dir=".", source=("src/smoke",), tests=("tests/smoke",), reason="")
TOOLS = Found(name="tools", working_dir="libs/tools", source=("tools",), tests=("tests",), reason="")

TOX_ENVIRONMENTS = """
    [tox]
    envlist = py311, bench, smoke

    [testenv]
    deps = pytest
    commands =
        pytest -W error -W "ignore:old call:DeprecationWarning" --ignore=tests/slow \\
            --ignore tests/old -p no:cacheprovider --cov=src --cov-report=xml -n auto {posargs:tests}

    [testenv:bench]
    commands = pytest benchmarks --benchmark-json={toxinidir}/bench.json

    [testenv:smoke]
    commands = pytest -s -vvv tests/smoke

    [testenv:tools]
    changedir = libs/tools
    commands = python -m pytest -x tests
"""


def test_pytest_options__the_base_environment_whole_never_merged_with_the_others(tmp_path: Path) -> None:
    write_files(tmp_path, {"tox.ini": TOX_ENVIRONMENTS})
    chosen = pytest_options.choose(tmp_path, [API, SMOKE, TOOLS])
    assert chosen.default is not None
    # Each option with its value, as written; the kit's own (coverage, xdist) left out.
    assert chosen.default.value == [
        "-W",
        "error",
        "-W",
        "ignore:old call:DeprecationWarning",
        "--ignore=tests/slow",
        "--ignore",
        "tests/old",
        "-p",
        "no:cacheprovider",
    ]
    assert chosen.default.where == "tox.ini [testenv] commands"
    # The environment whose command names a service's tests gives that service its own; the
    # benchmark environment names no service's tests and gives nothing to anyone.
    assert {name: (d.value, d.where) for name, d in chosen.services.items()} == {
        "smoke": (["-s", "-vvv"], "tox.ini [testenv:smoke] commands"),
        "tools": (["-x"], "tox.ini [testenv:tools] commands"),
    }


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("pytest -Werror -kslow tests", ["-Werror", "-kslow"]),
        (
            "pytest --deselect tests/a.py::test_x -o xfail_strict=true",
            ["--deselect", "tests/a.py::test_x", "-o", "xfail_strict=true"],
        ),
        ("pytest --cov src --cov-fail-under 80 --numprocesses 4 -q", ["-q"]),
        (
            "python -m pytest --maxfail 2 --import-mode=importlib {envtmpdir}",
            ["--maxfail", "2", "--import-mode=importlib"],
        ),
        ("coverage run -m pytest -ra", ["-ra"]),
    ],
)
def test_pytest_options__pairs_stay_whole_and_the_kits_own_go(
    tmp_path: Path, command: str, expected: list[str]
) -> None:
    write_files(tmp_path, {"tox.ini": f"[testenv]\ncommands = {command}\n"})
    chosen = pytest_options.choose(tmp_path, [API])
    assert chosen.default is not None and chosen.default.value == expected


def test_pytest_options__the_noxfile_s_test_session_without_tox(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "noxfile.py": """
                import nox


                @nox.session
                def smoke(session):
                    session.run("pytest", "-s", "tests/smoke")


                @nox.session
                def tests(session):
                    session.install("pytest")
                    session.run("pytest", "-x", "-W", "error", *session.posargs)
            """,
        },
    )
    chosen = pytest_options.choose(tmp_path, [API, SMOKE])
    assert chosen.default is not None
    assert (chosen.default.value, chosen.default.where) == (
        ["-x", "-W", "error"],
        "noxfile.py's session 'tests'",
    )
    assert {name: d.value for name, d in chosen.services.items()} == {"smoke": ["-s"]}


def test_pytest_options__none_without_a_test_command(tmp_path: Path) -> None:
    write_files(tmp_path, {"tox.ini": "[testenv:lint]\ncommands = ruff check .\n"})
    assert pytest_options.choose(tmp_path, [API]) == pytest_options.Chosen(None, {})


# -- requirement files ----------------------------------------------------------------------

KIT_FOLDER = ".coverage-workflows"


def test_requirements__root_relative_paths_resolved_for_pip_in_the_kit_folder(tmp_path: Path) -> None:
    """tox runs pip from the root: the file's -r and -e paths are the root's, and the list
    adopt writes names them from the kit's folder, the nested file read in."""
    write_files(
        tmp_path,
        {
            "dev-requirements.txt": "pytest>=8  # the runner\n",
            "libs/core/pyproject.toml": '[project]\nname = "acme-core"\n',
            "libs/util/setup.py": "from setuptools import setup\nsetup(name='acme-util')\n",
            "libs/api/test-requirements.txt": """
                # what api's tests need
                -r dev-requirements.txt
                -e libs/core
                pytest-asyncio>=0.21 ; python_version >= "3.9"
                ./libs/util[test]
                --index-url https://example.invalid/simple
            """,
        },
    )
    folder = tmp_path / "libs/api"
    picked = requirements.pick(folder, tmp_path)
    assert picked is not None and picked.path == folder / "test-requirements.txt"
    assert requirements.resolved(picked.path, tmp_path, folder, tmp_path / KIT_FOLDER) == [
        "pytest>=8",
        "-e",
        "../libs/core",
        'pytest-asyncio>=0.21 ; python_version >= "3.9"',
        "../libs/util[test]",
        "--index-url",
        "https://example.invalid/simple",
    ]


def test_requirements__paths_relative_to_the_file_stay_the_file_s(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "libs/core/pyproject.toml": '[project]\nname = "acme-core"\n',
            "libs/api/requirements/test.txt": "-r base.txt\n-e ../../core\n",
            "libs/api/requirements/base.txt": "-c ../constraints.txt\nrequests\n",
            "libs/api/constraints.txt": "requests<3\n",
        },
    )
    folder = tmp_path / "libs/api"
    picked = requirements.pick(folder, tmp_path)
    assert picked is not None
    assert requirements.resolved(picked.path, tmp_path, folder, tmp_path / KIT_FOLDER) == [
        "-c",
        "../libs/api/constraints.txt",
        "requests",
        "-e",
        "../libs/core",
    ]


@pytest.mark.parametrize(
    ("files", "chosen", "why"),
    [
        (
            ["test-requirements-1.txt", "test-requirements-0.txt"],
            "test-requirements-0.txt",
            "the lowest number",
        ),
        (
            ["test-requirements-0.txt", "test-requirements.latest.txt"],
            "test-requirements.latest.txt",
            ".latest first",
        ),
        (["test-requirements.txt", "test-requirements-0.txt"], "test-requirements.txt", ""),
    ],
)
def test_requirements__one_variant_by_a_documented_rule(
    tmp_path: Path, files: list[str], chosen: str, why: str
) -> None:
    write_files(tmp_path, {f"svc/{name}": "pytest\n" for name in files})
    picked = requirements.pick(tmp_path / "svc", tmp_path)
    assert picked is not None and picked.path.name == chosen
    assert why in picked.why


def test_requirements__the_file_tox_installs_wins(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "svc/test-requirements-0.txt": "pytest\n",
            "svc/test-requirements-1.txt": "pytest\n",
            "tox.ini": """
                [testenv]
                deps =
                    -r {toxinidir}/svc/test-requirements-1.txt
                commands = pytest
            """,
        },
    )
    picked = requirements.pick(tmp_path / "svc", tmp_path)
    assert picked is not None and picked.path.name == "test-requirements-1.txt"
    assert picked.why == "named by tox.ini [testenv] deps"


# -- the repository's own libraries -----------------------------------------------------------


def test_libraries__named_by_name_installed_from_their_folders_with_what_they_depend_on(
    tmp_path: Path,
) -> None:
    write_files(
        tmp_path,
        {
            "libs/core/pyproject.toml": '[project]\nname = "Acme_Core"\ndependencies = ["acme-base>=1"]\n',
            "libs/base/setup.cfg": "[metadata]\nname = acme.base\n",
            "libs/api/pyproject.toml": """
                [project]
                name = "acme-api"
                dependencies = ["acme-util", "requests"]
            """,
            "libs/util/pyproject.toml": '[project]\nname = "acme-util"\n',
            "tests/support/pyproject.toml": '[project]\nname = "acme-testing"\n',
        },
    )
    found = libraries.find(tmp_path)
    assert set(found) == {"acme-core", "acme-base", "acme-api", "acme-util", "acme-testing"}
    kit = tmp_path / KIT_FOLDER
    words = ["-e", "../libs/api", "acme-core[fast]>=2", "acme-testing", "pytest"]
    out, installed = libraries.editable(words, found, kit, own=(tmp_path / "libs/api").resolve())
    assert out == [
        "-e",
        "../libs/api",
        "-e",
        "../libs/core[fast]",
        "-e",
        "../tests/support",
        "pytest",
        "-e",
        "../libs/util",  # api's own dependency
        "-e",
        "../libs/base",  # core's
    ]
    assert installed == ["acme-core", "acme-testing", "acme-util", "acme-base"]
