"""The audit's layout checks, each on a fixture repository with exactly that flaw."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import flat, in_process

pytestmark = pytest.mark.e2e

MANIFEST = """
    [settings]
    root = "repo"

    [services.api]
    source = ["src/api"]
    tests = ["tests/api"]
    [services.api.thresholds]
    line = 50

    [services.worker]
    source = ["src/worker"]
    tests = ["tests/worker"]
    [services.worker.thresholds]
    line = 50
"""

CLEAN = {
    "configs/services.toml": MANIFEST,
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]

        [tool.coverage.run]
        branch = true
    """,
    "repo/src/api/__init__.py": "",
    "repo/src/api/views.py": "def view():\n    return 1\n",
    "repo/src/worker/__init__.py": "",
    "repo/src/worker/jobs.py": "def job():\n    return 2\n",
    "repo/tests/api/test_views.py": "from api.views import view\n\n\ndef test_view():\n"
    "    assert view() == 1\n",
    "repo/tests/worker/test_jobs.py": "from worker.jobs import job\n\n\ndef test_job():\n"
    "    assert job() == 2\n",
}


def audit(make_project: Callable[[dict[str, str]], Path], changes: dict[str, str | None]) -> tuple[int, str]:
    files = {**CLEAN, **{k: v for k, v in changes.items() if v is not None}}
    project = make_project({k: v for k, v in files.items() if changes.get(k, "") is not None})
    result = in_process(project, "audit")
    assert "Traceback" not in result.output, result.output
    return result.returncode, result.stdout


def test_audit__clean_layout_has_no_findings(make_project: Callable[[dict[str, str]], Path]) -> None:
    code, out = audit(make_project, {})
    assert code == 0 and "0 findings" in out, out


# Each service measured by a run of its own, in tox and in CI: no masking, however written.
ONE_SERVICE_A_RUN = {
    "repo/tox.ini": "[testenv:api]\ncommands = coverage run --source=src/api -m pytest tests/api\n"
    "[testenv:worker]\ncommands = pytest --cov=src/worker tests/worker\n",
    "repo/.github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: |\n"
    "          pytest --cov=src/api tests/api && pytest --cov src/worker tests/worker\n"
    "          echo '--cov=src'  # a word that only looks like an option\n"
    "      - run: >\n          coverage run --source=src/worker\n          -m pytest tests/worker\n"
    # A bare --cov measures what the per-service configuration it names says: api alone.
    "      - run: pytest --cov --cov-config=config/.coveragerc.api tests/api\n",
    "repo/config/.coveragerc.api": "[run]\nsource = src/api\n",
}


def test_audit__a_run_per_service_in_tox_and_ci_is_no_masking(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    code, out = audit(make_project, ONE_SERVICE_A_RUN)
    assert code == 0 and "0 findings, 0 at error severity." in out, out


# (case, files changed or removed, exit code, what the output must say): one flaw each.
LAYOUT_FLAWS = [
    (
        "omit_a_whole_service",
        {"repo/.coveragerc": "[run]\nomit =\n    src/worker/*\n"},
        1,
        ["error", ".coveragerc [run] omit", "omit leaves out every file of worker (2 files)"],
    ),
    (
        "omit_part_of_a_service",
        {
            "repo/src/api/generated.py": "X = 1\n",
            "repo/pyproject.toml": CLEAN["repo/pyproject.toml"]
            + '\n[tool.coverage.report]\nomit = ["*/generated.py"]\n',
        },
        0,
        ["warning", "omit leaves out 1 of api's 3 files: repo/src/api/generated.py"],
    ),
    (
        "unowned_source",
        {"repo/src/shared/util.py": "def helper():\n    return 3\n"},
        0,
        ["warning", "Python files that belong to no service (1): repo/src/shared/util.py", "gate.ignore"],
    ),
    (
        "namespace_package",
        {"repo/src/worker/__init__.py": None},
        0,
        ["warning", "[tool.coverage.run]", "worker has namespace packages", "include_namespace_packages"],
    ),
    (
        "collects_no_tests",
        {"repo/tests/worker/test_jobs.py": None, "repo/tests/worker/helpers.py": "X = 1\n"},
        1,
        ["error", "[services.worker] tests = ['tests/worker']", "worker's test paths collect no tests"],
    ),
    (
        "imports_nothing_of_its_service",
        {
            "repo/tests/worker/test_jobs.py": "from api.views import view\n\n\n"
            "def test_job():\n    assert view() == 1\n"
        },
        0,
        ["warning", "worker's 1 tests import nothing of worker"],
    ),
    (
        "collection_fails",
        {"repo/tests/api/test_views.py": "def broken(:\n"},
        1,
        [
            "error",
            "collecting api's tests failed (pytest exit status 2: tests/api/test_views.py, line 1: "
            "SyntaxError: invalid syntax)",
            "fix: pytest's whole report: cd repo && python -m pytest --collect-only tests/api.",
        ],
    ),
    (
        "collection_needs_a_package_not_installed",
        {
            "configs/services.toml": MANIFEST.replace(
                'tests = ["tests/api"]', 'tests = ["tests/api"]\npytest_args = ["-q", "-m", "not slow"]'
            ),
            "repo/tests/api/test_views.py": "import api_testkit\n",
        },
        1,
        [
            "collecting api's tests failed (pytest exit status 2: tests/api/test_views.py: "
            "ModuleNotFoundError: No module named 'api_testkit')",
            "a package the tests import belongs in [settings] install (or services.api.install, for api "
            "alone) in configs/services.toml",
            # the service's own pytest arguments, quoted as a shell needs them
            "cd repo && python -m pytest --collect-only -q -m 'not slow' tests/api.",
        ],
    ),
    (
        "conftest_cannot_be_imported",
        {"repo/tests/worker/conftest.py": "import worker_fixtures\n"},
        1,
        [
            "collecting worker's tests failed (pytest exit status 4: tests/worker/conftest.py: "
            "ModuleNotFoundError: No module named 'worker_fixtures')",
        ],
    ),
    (
        "pytest_args_pytest_refuses",
        {
            "configs/services.toml": MANIFEST.replace(
                'tests = ["tests/worker"]', 'tests = ["tests/worker"]\npytest_args = ["--no-such-flag"]'
            )
        },
        1,
        [
            "collecting worker's tests failed (pytest exit status 4: unrecognized arguments: --no-such-flag)",
            "fix: pytest refuses its options: services.worker.pytest_args in configs/services.toml; pytest's "
            "whole report: cd repo && python -m pytest --collect-only --no-such-flag tests/worker.",
        ],
    ),
    (
        "coverage_sources_that_together_span_two_services",
        {"repo/.coveragerc": "[run]\nsource =\n    src/api\n    src/worker\n"},
        1,
        [
            "error: repo/.coveragerc [run] source = ['src/api', 'src/worker']: these sources span 2 services "
            "(api, worker) in one run."
        ],
    ),
    (
        "cov_options_that_together_span_two_services",
        {
            "repo/pyproject.toml": CLEAN["repo/pyproject.toml"].replace(
                'pythonpath = ["src"]', 'pythonpath = ["src"]\naddopts = "--cov=src/api --cov src/worker"'
            )
        },
        1,
        [
            "error: repo/pyproject.toml [tool.pytest.ini_options] addopts: --cov=src/api --cov=src/worker: "
            "pytest-cov measures 2 services (api, worker) in one run."
        ],
    ),
    (
        "tox_coverage_run_over_two_services",
        {"repo/tox.ini": "[testenv]\ncommands = coverage run --source=src/api/,src/worker/ -m pytest\n"},
        1,
        [
            "error: repo/tox.ini [testenv] commands: coverage run --source=src/api/,src/worker/ -m "
            "pytest: one coverage run measures 2 services (api, worker).",
            "fix: measure each service with its own tests: nox -s coverage-api coverage-worker combine "
            "report",
        ],
    ),
    (
        "tox_pytest_cov_over_the_root",
        {
            "repo/tox.ini": "[tox]\nenv_list = cov\n\n[testenv:cov]\ndeps = pytest-cov\ncommands =\n"
            "    python -m pip list\n    - pytest --cov={toxinidir}/src \\\n        {posargs:tests}\n"
        },
        1,
        [
            "error: repo/tox.ini [testenv:cov] commands: pytest --cov={toxinidir}/src {posargs:tests}: "
            "one coverage run measures 2 services (api, worker).",
        ],
    ),
    (
        "workflow_inline_run",
        {
            "repo/.github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: pip install .\n"
            "      - run: 'coverage run --source src -m pytest'  # the whole suite\n"
        },
        1,
        [
            "error: repo/.github/workflows/ci.yml:7 run: coverage run --source src -m pytest: one "
            "coverage run measures 2 services (api, worker).",
        ],
    ),
    (
        "workflow_run_block",
        {
            "repo/.github/workflows/tests.yaml": "on: push\ndefaults:\n  run:\n    shell: bash\njobs:\n"
            "  test:\n    runs-on: ubuntu-latest\n    steps:\n      - name: tests\n        run: |\n"
            "          pip install -e .\n\n          pytest --cov=src/api \\\n"
            "            --cov=src/worker tests && echo done\n      - run: echo next\n"
        },
        1,
        [
            "error: repo/.github/workflows/tests.yaml:13 run: pytest --cov=src/api --cov=src/worker "
            "tests && echo done: one coverage run measures 2 services (api, worker).",
        ],
    ),
    (
        "workflow_of_the_project_beside_the_repository",
        {".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: pytest --cov repo/src\n"},
        1,
        [
            "error: .github/workflows/ci.yml:4 run: pytest --cov repo/src: one coverage run measures "
            "2 services"
        ],
    ),
]


@pytest.mark.parametrize(
    ("case", "changes", "exit_code", "expected"), LAYOUT_FLAWS, ids=[flaw[0] for flaw in LAYOUT_FLAWS]
)
def test_audit__layout_flaw_is_found_with_where_why_and_fix(
    make_project: Callable[[dict[str, str]], Path],
    case: str,
    changes: dict[str, str | None],
    exit_code: int,
    expected: list[str],
) -> None:
    code, out = audit(make_project, changes)
    assert code == exit_code, (case, out)
    for fragment in expected:
        assert flat(fragment) in flat(out), (case, fragment, out)
    assert "\n1 finding, " in out, (case, out)  # exactly the one flaw


def test_audit__warnings_of_one_kind_are_one_line_with_a_count_after_the_errors(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    """Five services without a floor: one warning that counts them, below the error."""
    services = "".join(
        f'\n[services.svc{n}]\nsource = ["src/svc{n}"]\ntests = ["tests/svc{n}"]\n' for n in range(5)
    )
    files: dict[str, str | None] = {
        "configs/services.toml": '[settings]\nroot = "repo"\n' + services,
        "repo/.coveragerc": "[run]\nsource = src\n",  # one error: masking
        **{name: None for name in CLEAN if name.startswith(("repo/src/", "repo/tests/"))},  # not these
    }
    for n in range(5):
        files[f"repo/src/svc{n}/__init__.py"] = f"def f{n}():\n    return {n}\n"
        files[f"repo/tests/svc{n}/test_svc.py"] = (
            f"from svc{n} import f{n}\n\n\ndef test_f():\n    assert f{n}() == {n}\n"
        )
    code, out = audit(make_project, files)
    assert code == 1, out
    lines = [line for line in out.splitlines() if line.startswith(("error", "warning"))]
    assert [line.split(":")[0] for line in lines] == ["error", "warning"], lines
    assert lines[0].startswith("error: repo/.coveragerc"), lines
    assert (
        "warning: configs/services.toml [services.svc0.thresholds] and 4 more places: 5 warnings of one "
        "kind: svc0 has no line floor; svc1 has no line floor; svc2 has no line floor; and 2 more."
    ) in flat(out), out
    assert out.endswith("2 findings, 1 at error severity.\n"), out
