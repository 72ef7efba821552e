"""Services that live in their own folders: own src/ (a namespace package), own tests/
package with a colliding name, run from their own directory; checked against strict runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.analyze import analysis, combined
from tasks.config import loader
from tests.conftest import nox
from tests.oracle import strict_run

pytestmark = pytest.mark.e2e

REPO = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.billing]
        working_dir = "services/billing"
        source = ["src/billing"]
        tests = ["tests"]

        [services.ledger]
        working_dir = "services/ledger"
        source = ["src/ledger"]
        tests = ["tests"]
    """,
    # billing: a namespace package (no __init__.py), one module its tests never import
    "repo/services/billing/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src", "../ledger/src"]
    """,
    "repo/services/billing/src/billing/invoices.py": """
        from ledger.book import Book


        def total(lines):
            amount = 0
            for quantity, price in lines:
                if quantity < 0:
                    raise ValueError("negative quantity")
                amount += quantity * price
            return amount


        def post(book: Book, customer, lines):
            amount = total(lines)
            if amount == 0:
                return None
            return book.record(customer, amount)
    """,
    "repo/services/billing/src/billing/refunds.py": """
        def refund(amount, reason):
            if not reason:
                raise ValueError("a refund needs a reason")
            return -abs(amount)
    """,
    "repo/services/billing/tests/__init__.py": "",
    "repo/services/billing/tests/test_invoices.py": """
        from billing.invoices import post, total
        from ledger.book import Book


        def test_total():
            assert total([(2, 5), (1, 3)]) == 13


        def test_post_records_in_the_ledger():
            book = Book()
            entry = post(book, "ada", [(1, 10)])
            assert entry == ("ada", 10)
            assert book.balance("ada") == 10
            assert book.report() == ["ada: 10"]
    """,
    # ledger: a regular package whose own tests are thin; billing's tests use it more
    "repo/services/ledger/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
    """,
    "repo/services/ledger/src/ledger/__init__.py": "",
    "repo/services/ledger/src/ledger/book.py": """
        class Book:
            def __init__(self):
                self.entries = []

            def record(self, customer, amount):
                if amount <= 0:
                    raise ValueError("amount must be positive")
                entry = (customer, amount)
                self.entries.append(entry)
                return entry

            def balance(self, customer):
                return sum(amount for who, amount in self.entries if who == customer)

            def report(self):
                lines = []
                for customer in sorted({who for who, _ in self.entries}):
                    lines.append(f"{customer}: {self.balance(customer)}")
                return lines
    """,
    "repo/services/ledger/tests/__init__.py": "",
    "repo/services/ledger/tests/test_book.py": """
        from ledger.book import Book


        def test_empty_book():
            assert Book().entries == []
    """,
}


def test_own_folder_services__measured_like_strict_runs(
    make_project: Callable[[dict[str, str]], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(REPO)
    result = nox(project, "-s", "coverage-billing", "coverage-ledger", "combine", "report")
    assert result.returncode == 0, result.output
    summary = {
        s["name"]: s for s in json.loads((project / "reports" / "services.json").read_text())["services"]
    }

    billing_files = {f["path"]: f for f in summary["billing"]["files"]}
    never_imported = "repo/services/billing/src/billing/refunds.py"
    assert never_imported in billing_files, billing_files  # namespace package, never imported
    assert billing_files[never_imported]["isolated"]["covered"] == 0
    assert billing_files[never_imported]["isolated"]["statements"] == 4

    ledger = summary["ledger"]
    assert ledger["whole_suite"]["covered"] > ledger["isolated"]["covered"]  # billing's tests mask ledger

    monkeypatch.chdir(project)
    loaded = loader.load(project_dir=project)
    _, shared = combined.open_coverage(loaded, project / ".coverage-data" / "combined", cache=False)
    for service, figures in zip(loaded.services, analysis.service_figures(shared, loaded), strict=True):
        truth = strict_run(service.cwd, list(service.source), list(service.tests), tmp_path / service.name)
        # A strict run does not see a never-imported file of a namespace package unless it
        # is configured to; the kit always counts such files, at 0%.
        for file in figures.files:
            absolute = (project / file.path).resolve()
            if absolute not in truth:
                assert file.path == never_imported
                continue
            assert file.isolated.statements == len(truth[absolute].statements), file.path
            assert set(file.isolated_missing) == truth[absolute].missing, file.path
            assert file.isolated.covered_branches == truth[absolute].taken_branches, file.path
