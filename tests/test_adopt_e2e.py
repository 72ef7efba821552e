"""`adopt`: the kit set up in repositories built here the way real ones are, then their
sessions run with real nox, each figure checked against a strict coverage.py run.

(a) packages under src/ with tests/<pkg>/, the repository's own noxfile.py with a `tests`
    session, its own `tasks` package imported by its tests, pytest-cov's --cov in addopts;
(b) one folder per package, each with pyproject.toml, src/ and tests/ (colliding `tests`
    packages), a namespace package, and one package whose tests need an extra dependency.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import (
    GIT_IDENTITY,
    SUITE_PLUGINS_OFF,
    build_wheel,
    commit_everything,
    copy_kit,
    nox_in_venvs,
    run,
    tasks,
    write_files,
)
from tests.oracle import strict_run

pytestmark = pytest.mark.e2e

KIT_FOLDER = ".coverage-workflows"
# The oracle's pytest must not start pytest-cov's own measurement inside coverage run's.
NO_COV = {"PYTEST_ADDOPTS": f"--no-cov {SUITE_PLUGINS_OFF}"}

SRC_LAYOUT = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src", "."]
        addopts = "--cov=src --cov-fail-under=50"

        [tool.coverage.run]
        branch = true
    """,
    "noxfile.py": """
        import nox


        @nox.session(python=False)
        def tests(session):
            session.run("pytest", "-q", "-p", "no:cacheprovider", "tests")
    """,
    # The repository's own `tasks`, which its tests import: the kit's must not shadow it.
    "tasks/__init__.py": """
        def label(value):
            return f"<{value}>"
    """,
    "src/alpha/__init__.py": """
        def double(x):
            if x < 0:
                return 0
            return 2 * x


        def never(x):
            return x - 1
    """,
    "src/beta/__init__.py": """
        from alpha import double


        def quad(x):
            return double(double(x))


        def label_of(x):
            from tasks import label

            return label(quad(x))
    """,
    "tests/__init__.py": "",
    "tests/alpha/__init__.py": "",
    "tests/alpha/test_alpha.py": """
        from alpha import double
        from tasks import label


        def test_double():
            assert double(2) == 4
            assert label(1) == "<1>"
    """,
    "tests/beta/__init__.py": "",
    "tests/beta/test_beta.py": """
        from beta import label_of, quad


        def test_quad():
            assert quad(1) == 4
            assert quad(-1) == 0
            assert label_of(1) == "<4>"
    """,
}


def git_repository(root: Path, files: dict[str, str]) -> Path:
    write_files(root, files)
    return commit_everything(root)


def snapshot(root: Path, *, skip: tuple[str, ...] = (".git", ".nox")) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in skip and "__pycache__" not in p.parts
    }


def services_json(root: Path) -> dict[str, dict]:
    report = json.loads((root / KIT_FOLDER / "reports/services.json").read_text())
    return {service["name"]: service for service in report["services"]}


def assert_isolated_equal_strict(
    root: Path,
    service: dict,
    cwd: Path,
    sources: list[Path],
    tests: list[str],
    data: Path,
    env: dict[str, str] | None = None,
) -> None:
    truth = strict_run(cwd, sources, tests, data, env={**NO_COV, **(env or {})})
    files = {(root / f["path"]).resolve(): f for f in service["files"]}
    assert set(files) == set(truth), (sorted(files), sorted(truth))
    for path, expected in truth.items():
        isolated = files[path]["isolated"]
        assert isolated["statements"] == len(expected.statements), path
        assert isolated["covered"] == len(expected.statements - expected.missing), path
        assert isolated["branches"] == expected.branches, path
        assert isolated["covered_branches"] == expected.taken_branches, path


def test_adopt__src_layout_with_its_own_noxfile_and_tasks(tmp_path: Path) -> None:
    kit = copy_kit(tmp_path / "kit", ".github")
    host = git_repository(tmp_path / "host", SRC_LAYOUT)
    before = snapshot(host)

    adopted = nox_in_venvs(kit, "-s", "adopt", "--", str(host))
    assert adopted.returncode == 0, adopted.output
    assert "alpha: package alpha in src/, tested by tests/alpha" in adopted.stdout, adopted.stdout
    assert "Packages without tests (not measured): tasks" in adopted.stdout, adopted.stdout

    # Nothing of the repository's own changed but the include at the end of its noxfile.
    after = snapshot(host)
    changed = {name for name in before if after.get(name) != before[name]}
    assert changed == {"noxfile.py"}, changed
    assert after["noxfile.py"].startswith(before["noxfile.py"]), after["noxfile.py"]
    assert not (host / "coverage_workflows").exists() and not (host / "configs").exists()
    manifest = (host / KIT_FOLDER / "configs/services.toml").read_text()
    assert "line = 50 # from --cov-fail-under in pyproject.toml" in manifest, manifest
    assert 'install = ["pytest-cov"]' in manifest, manifest
    assert 'base = "main"' in manifest, manifest

    listed = run([sys.executable, "-m", "nox", "-l"], host)
    assert listed.returncode == 0, listed.output
    names = {line.split()[1] for line in listed.stdout.splitlines() if line[:2] in ("* ", "- ")}
    assert {"tests", "coverage-alpha", "coverage-beta", "combine", "report", "gate"} <= names, names
    assert not names & {"lint", "bench", "tests-3.11", "tests-floor", "adopt"}, names
    # A plain `nox` still runs what it ran before: the repository's own tests, only.
    assert [line.split()[1] for line in listed.stdout.splitlines() if line.startswith("* ")] == ["tests"]

    measured = nox_in_venvs(host, "-s", "coverage-all", "combine", "report", "gate")
    assert measured.returncode == 0, measured.output
    assert "gate: PASS" in measured.stdout, measured.stdout
    figures = services_json(host)
    for name in ("alpha", "beta"):
        assert_isolated_equal_strict(
            host, figures[name], host, [host / "src" / name], [f"tests/{name}"], tmp_path / "strict" / name
        )
    # The CI matrix names the data files from the repository's top, where the workflow's
    # upload steps run (as the copied coverage.yml runs it: nox at the top, the kit in its folder).
    listing = run([sys.executable, "-m", "nox", "--json", "-l", "-t", "coverage"], host)
    (tmp_path / "listing.json").write_text(listing.stdout)
    outputs = tmp_path / "github_output"
    argv = [sys.executable, "-m", "coverage_workflows", "matrix", "--listing", str(tmp_path / "listing.json")]
    matrix = run([*argv, "--github-output"], host / KIT_FOLDER, env={"GITHUB_OUTPUT": str(outputs)})
    assert matrix.returncode == 0, matrix.output
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert written["data-dir"] == f"{KIT_FOLDER}/.coverage-data", written
    assert all((host / entry["data"]).is_file() for entry in json.loads(written["matrix"])["include"])
    # beta's tests run alpha's code: the masking the kit exists to show.
    assert figures["alpha"]["whole_suite"]["covered"] > figures["alpha"]["isolated"]["covered"]

    # The kit's runs wrote nothing outside its folder but what pytest itself keeps.
    outside = {
        name
        for name in snapshot(host, skip=(".git", ".nox", ".pytest_cache", KIT_FOLDER))
        if name not in before and not name.startswith(".github/")
    }
    assert outside == {".gitignore"}, outside
    assert {k: v for k, v in snapshot(host).items() if k in before and k != "noxfile.py"} == {
        k: v for k, v in before.items() if k != "noxfile.py"
    }
    # The repository's own session still runs its tests, which import its own tasks.
    own = run([sys.executable, "-m", "nox", "-s", "tests"], host)
    assert own.returncode == 0, own.output
    assert "2 passed" in own.output, own.output


TESTKIT = "notify_testkit"  # what notify's tests import: in its test dependency group only


def folders_layout(wheel: Path) -> dict[str, str]:
    return {
        # billing: a namespace package (no __init__.py) with a module its tests never import
        "packages/billing/pyproject.toml": """
            [tool.pytest.ini_options]
            pythonpath = ["src", "../ledger/src"]

            [tool.coverage.report]
            fail_under = 40
        """,
        "packages/billing/src/billing/invoices.py": """
            from ledger.book import Book


            def total(lines):
                amount = 0
                for quantity, price in lines:
                    if quantity < 0:
                        raise ValueError("negative quantity")
                    amount += quantity * price
                return amount


            def post(book: Book, customer, lines):
                return book.record(customer, total(lines))
        """,
        "packages/billing/src/billing/refunds.py": """
            def refund(amount):
                return -abs(amount)
        """,
        "packages/billing/tests/__init__.py": "",
        "packages/billing/tests/test_invoices.py": """
            from billing.invoices import post, total
            from ledger.book import Book


            def test_post():
                assert total([(2, 5)]) == 10
                assert post(Book(), "ada", [(1, 3)]) == ("ada", 3)
        """,
        "packages/ledger/pyproject.toml": """
            [tool.pytest.ini_options]
            pythonpath = ["src"]
        """,
        "packages/ledger/src/ledger/__init__.py": "",
        "packages/ledger/src/ledger/book.py": """
            class Book:
                def __init__(self):
                    self.entries = []

                def record(self, customer, amount):
                    if amount <= 0:
                        raise ValueError("amount must be positive")
                    self.entries.append((customer, amount))
                    return (customer, amount)
        """,
        # The same `tests` package name in every folder: each runs from its own.
        "packages/ledger/tests/__init__.py": "",
        "packages/ledger/tests/test_book.py": """
            from ledger.book import Book


            def test_empty():
                assert Book().entries == []
        """,
        "packages/notify/pyproject.toml": f"""
            [tool.pytest.ini_options]
            pythonpath = ["src"]

            [dependency-groups]
            test = ["{TESTKIT} @ {wheel.as_uri()}"]
        """,
        "packages/notify/src/notify/__init__.py": """
            def message(name, urgent=False):
                if urgent:
                    return f"{name}!"
                return name
        """,
        "packages/notify/tests/__init__.py": "",
        "packages/notify/tests/test_message.py": f"""
            from {TESTKIT} import READY
            from notify import message


            def test_message():
                assert READY
                assert message("a") == "a"
        """,
    }


def test_adopt__one_folder_per_package_each_measured_in_its_own(tmp_path: Path) -> None:
    kit = copy_kit(tmp_path / "kit")
    wheel = build_wheel(tmp_path / "wheels", TESTKIT)
    host = git_repository(tmp_path / "host", folders_layout(wheel))

    adopted = tasks(kit, "adopt", "--no-check", str(host))
    assert adopted.returncode == 0, adopted.output
    for name in ("billing", "ledger", "notify"):
        assert (
            f"{name}: packages/{name}/ has its own pyproject.toml, the package {name} and tests/"
            in adopted.stdout
        )
    manifest = (host / KIT_FOLDER / "configs/services.toml").read_text()
    assert 'working_dir = "packages/billing"' in manifest, manifest
    assert f'install = ["{TESTKIT} @ {wheel.as_uri()}"]' in manifest, manifest  # notify's alone
    assert manifest.count("install =") == 1, manifest
    assert "line = 40 # from fail_under in packages/billing/.coveragerc" not in manifest
    assert "line = 40 # from fail_under in packages/billing/pyproject.toml [tool.coverage.report]" in manifest

    measured = nox_in_venvs(host, "-s", "coverage-all", "combine", "report")
    assert measured.returncode == 0, measured.output
    figures = services_json(host)
    # The strict run of notify sees the test kit the way its session installed it.
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    for name in ("billing", "ledger", "notify"):
        folder = host / "packages" / name
        env = {"PYTHONPATH": str(unpacked)} if name == "notify" else None
        if name == "billing":
            # A never-imported file of a namespace package counts, at 0%, as in the strict run.
            files = {f["path"]: f for f in figures[name]["files"]}
            refunds = files["packages/billing/src/billing/refunds.py"]["isolated"]
            assert (refunds["covered"], refunds["statements"]) == (0, 2), refunds  # def and return
        assert_isolated_equal_strict(
            host, figures[name], folder, [folder / "src" / name], ["tests"], tmp_path / "strict" / name, env
        )


def test_adopt__twice_changes_nothing_and_upgrade_keeps_local_edits(tmp_path: Path) -> None:
    kit = copy_kit(tmp_path / "kit")
    host = git_repository(tmp_path / "host", SRC_LAYOUT)
    assert tasks(kit, "adopt", "--no-check", str(host)).returncode == 0
    adopted = snapshot(host)

    again = tasks(kit, "adopt", "--no-check", str(host))
    assert again.returncode == 0, again.output
    assert "Nothing to change" in again.stdout, again.stdout
    assert snapshot(host) == adopted

    # A newer kit: the vendored copy is kept until --upgrade asks for it.
    newer = kit / "tasks/report/render.py"
    newer.write_text(newer.read_text() + "\n# a newer kit\n")
    kept = tasks(kit, "adopt", "--no-check", str(host))
    assert "holds another version of the kit (0 added, 1 changed, 0 gone)" in kept.stdout, kept.stdout
    assert snapshot(host) == adopted

    # A local edit of a vendored file: --upgrade refuses, naming it, and changes nothing.
    vendored = host / KIT_FOLDER / "coverage_workflows/gate/gate.py"
    vendored.write_text(vendored.read_text() + "\n# a local fix\n")
    edited = snapshot(host)
    refused = tasks(kit, "adopt", "--no-check", str(host), "--upgrade")
    assert refused.returncode == 2, refused.output
    assert "coverage_workflows/gate/gate.py" in refused.stderr, refused.stderr
    assert snapshot(host) == edited

    forced = tasks(kit, "adopt", "--no-check", str(host), "--upgrade", "--force")
    assert forced.returncode == 0, forced.output
    assert f"{KIT_FOLDER}/coverage_workflows/report/render.py: updated" in forced.stdout, forced.stdout
    assert f"{KIT_FOLDER}/coverage_workflows/gate/gate.py: updated" in forced.stdout, forced.stdout
    assert (host / KIT_FOLDER / "coverage_workflows/report/render.py").read_bytes() == newer.read_bytes()
    assert (host / KIT_FOLDER / "configs/services.toml").read_bytes() == adopted[
        f"{KIT_FOLDER}/configs/services.toml"
    ]
    assert "Nothing to change" in tasks(kit, "adopt", "--no-check", str(host), "--upgrade").stdout


def test_gate__a_change_to_the_vendored_kit_is_no_unowned_file(tmp_path: Path) -> None:
    kit = copy_kit(tmp_path / "kit")
    host = git_repository(tmp_path / "host", SRC_LAYOUT)
    assert tasks(kit, "adopt", "--no-check", str(host)).returncode == 0
    commit = run(["git", "add", "-A"], host), run(["git", "commit", "-qm", "adopt"], host, env=GIT_IDENTITY)
    assert all(result.returncode == 0 for result in commit)
    kit_file = host / KIT_FOLDER / "coverage_workflows/gate/gate.py"
    kit_file.write_text(kit_file.read_text() + "\n# edited\n")
    (host / "src/alpha/__init__.py").write_text((host / "src/alpha/__init__.py").read_text() + "\nLATE = 1\n")
    (host / "loose.py").write_text("X = 1\n")  # a file no service owns: the gate must list it
    folder = host / KIT_FOLDER
    for argv in (["run", "alpha"], ["run", "beta"], ["combine"]):
        result = run([sys.executable, "-m", "coverage_workflows", *argv], folder)
        assert result.returncode == 0, result.output
    gated = run([sys.executable, "-m", "coverage_workflows", "gate", "--base", "HEAD"], folder)
    assert "no service owns" in gated.stdout, gated.stdout
    unowned = gated.stdout.split("no service owns", 1)[1].split("\n\n", 1)[0]
    assert "loose.py" in unowned and KIT_FOLDER not in unowned and "coverage_workflows" not in unowned, (
        unowned
    )


def test_adopt__a_session_of_the_same_name_stays_the_repository_s(tmp_path: Path) -> None:
    kit = copy_kit(tmp_path / "kit")
    files = dict(SRC_LAYOUT)
    files["noxfile.py"] += """

        @nox.session(python=False)
        def report(session):
            session.log("the repository's own report")
    """
    host = git_repository(tmp_path / "host", files)
    assert tasks(kit, "adopt", "--no-check", str(host)).returncode == 0

    listed = run([sys.executable, "-m", "nox", "-l"], host)
    assert listed.returncode == 0, listed.output
    assert "already has a session named 'report'; the kit's report is left out" in listed.stderr, (
        listed.stderr
    )
    assert "coverage-alpha" in listed.stdout, listed.stdout
    own = run([sys.executable, "-m", "nox", "-s", "report"], host)
    assert own.returncode == 0 and "the repository's own report" in own.stderr, own.output
