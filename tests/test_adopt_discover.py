"""adopt's discovery on repositories written here: library folders by what their build
configuration declares (namespace packages included), folders under tests/, test files of
a shared tests/ folder given by what they import, and nothing passed over without a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.adopt.build_config import declared_packages
from tasks.adopt.discover import discover
from tests.conftest import write_files


def services(root: Path) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return {s.name: (s.working_dir, s.source, s.tests) for s in discover(root).services}


def test_discover__a_namespace_package_library_and_declared_packages_beside_others(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            # acme/plugin/ with no acme/__init__.py: a namespace package, and a script beside it
            "libs/acme-plugin/pyproject.toml": '[project]\nname = "acme-plugin"\n',
            "libs/acme-plugin/acme/plugin/core.py": "VALUE = 1\n",
            "libs/acme-plugin/scripts/release.py": "print(1)\n",
            "libs/acme-plugin/tests/test_core.py": "from acme.plugin.core import VALUE\n",
            # bench/ is a package too, but the build ships fastlib only
            "libs/fast/pyproject.toml": '[tool.hatch.build.targets.wheel]\npackages = ["fastlib"]\n',
            "libs/fast/fastlib/__init__.py": "",
            "libs/fast/bench/__init__.py": "",
            "libs/fast/tests/test_fast.py": "import fastlib\n",
            # setuptools' find, namespaces and all
            "libs/found/pyproject.toml": '[tool.setuptools.packages.find]\ninclude = ["found*"]\n',
            "libs/found/found_ns/sub/mod.py": "",
            "libs/found/other/__init__.py": "",
            "libs/found/tests/test_found.py": "",
        },
    )
    assert services(tmp_path) == {
        "acme-plugin": ("libs/acme-plugin", ("acme",), ("tests",)),
        "fast": ("libs/fast", ("fastlib",), ("tests",)),
        "found": ("libs/found", ("found_ns",), ("tests",)),
    }


def test_discover__a_library_with_its_own_project_under_tests(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "src/app/__init__.py": "",
            "tests/app/test_app.py": "import app\n",
            "tests/support/pyproject.toml": '[project]\nname = "app-testing"\n',
            "tests/support/src/app_testing/__init__.py": "",
            "tests/support/tests/test_support.py": "import app_testing\n",
        },
    )
    found = discover(tmp_path)
    assert services(tmp_path) == {
        "support": ("tests/support", ("src/app_testing",), ("tests",)),
        "app": (".", ("src/app",), ("tests/app",)),
    }
    assert found.unplaced_tests == []  # the library's own tests are its


def test_discover__shared_tests_given_by_what_they_import(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "src/alpha/__init__.py": "",
            "src/beta/__init__.py": "",
            "scripts/tool.py": "",
            # named after alpha, but tests a script: the prefix says nothing
            "tests/test_alpha_script.py": "import subprocess\n",
            "tests/test_cli.py": "from alpha.cli import main\n",
            "tests/unit/test_parsing.py": "import alpha.parsing as parsing\n",
            "tests/test_both.py": "import alpha\nfrom beta import thing\nfrom . import helpers\n",
            "tests/test_beta_only.py": "def test_x():\n    from beta.x import y\n",
        },
    )
    found = discover(tmp_path)
    assert services(tmp_path) == {
        "alpha": (
            ".",
            ("src/alpha",),
            ("tests/test_both.py", "tests/test_cli.py", "tests/unit/test_parsing.py"),
        ),
        "beta": (".", ("src/beta",), ("tests/test_beta_only.py", "tests/test_both.py")),
    }
    assert found.unplaced_tests == ["tests/test_alpha_script.py"]


def test_discover__a_project_folder_with_tests_but_no_package_is_listed(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "tools/lint/pyproject.toml": "[tool.ruff]\n",
            "tools/lint/tests/test_rules.py": "",
            "src/app/__init__.py": "",
            "tests/test_app.py": "import app\n",
        },
    )
    found = discover(tmp_path)
    assert [s.name for s in found.services] == ["app"]
    assert found.passed_over == [
        "tools/lint/: its pyproject.toml and tests/, but no package (none declared, none found in src/ or "
        "at its top): add a service by hand"
    ]


TOP, SRC = {"shop/__init__.py": ""}, {"src/shop/__init__.py": ""}
SETUPTOOLS_SRC = '[tool.setuptools]\npackages = ["shop"]\n[tool.setuptools.package-dir]\n"" = "src"\n'
FLIT_BACKEND = '[project]\nname = "shop"\n[build-system]\nbuild-backend = "flit_core.buildapi"\n'


@pytest.mark.parametrize(
    ("files", "declared"),
    [
        ({**TOP, "pyproject.toml": '[tool.setuptools]\npackages = ["shop", "shop.api"]\n'}, ["shop"]),
        (
            {**SRC, "pyproject.toml": SETUPTOOLS_SRC},
            ["src/shop"],
        ),
        ({**TOP, **SRC, "pyproject.toml": '[tool.flit.module]\nname = "shop"\n'}, ["shop"]),
        ({**SRC, "pyproject.toml": FLIT_BACKEND}, ["src/shop"]),
        ({**TOP, "pyproject.toml": '[tool.pdm.build]\nincludes = ["shop/", "bench/run.py"]\n'}, ["shop"]),
        ({**TOP, "setup.cfg": "[options]\npackages =\n    shop\n    shop.api\n"}, ["shop"]),
        (
            {**SRC, "setup.cfg": "[options]\npackages = find:\n[options.packages.find]\nwhere = src\n"},
            ["src/shop"],
        ),
        ({**TOP, "pyproject.toml": "[tool.ruff]\n"}, None),  # declares nothing: discovery looks itself
    ],
)
def test_build_config__the_packages_each_backend_declares(
    tmp_path: Path, files: dict[str, str], declared: list[str] | None
) -> None:
    write_files(tmp_path, {"bench/run.py": "", **files})
    assert declared_packages(tmp_path) == declared


def test_discover__services_in_natural_order_svc2_before_svc10(tmp_path: Path) -> None:
    """At hundreds of packages, the manifest (and every table that follows its order) reads
    svc1, svc2, ... svc10, not svc1, svc10, svc100, svc11."""
    files = {}
    for number in (1, 2, 10, 11, 100):
        files[f"libs/svc{number}/pyproject.toml"] = f'[project]\nname = "svc{number}"\n'
        files[f"libs/svc{number}/svc{number}/__init__.py"] = ""
        files[f"libs/svc{number}/tests/test_it.py"] = f"import svc{number}\n"
    write_files(tmp_path, files)
    assert list(services(tmp_path)) == ["svc1", "svc2", "svc10", "svc11", "svc100"]
