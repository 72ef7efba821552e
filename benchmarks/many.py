"""Repositories of many small services for the bench's `many` group: where the cost of a
run per service (an interpreter, pytest and coverage.py started for a few tests) decides
the time, not the tests themselves.

Each service has one module of a few small functions with a branch each, and a test file
that calls most of them and one function of the next service (its figure borrows from its
neighbour, as real services' do). A manifest declares every service; a second one says
`fork_server = false`, for the same runs each a new process. A third, of 1,000 services in
folders of their own with the JSON listing nox gives of their sessions, times the CI matrix.
"""

from __future__ import annotations

import json
from pathlib import Path

FUNCTIONS = 8
UNFORKED = "configs/unforked.toml"
MATRIX_MANIFEST = "configs/matrix.toml"
MATRIX_LISTING = "matrix-listing.json"
MATRIX_SERVICES = 1000
MATRIX_RUNNERS = 20


def name(index: int) -> str:
    return f"svc{index}"  # unpadded: the natural order of svc2 before svc10 is part of the test


def module() -> str:
    return "".join(
        f"def f{j}(n):\n    if n > {j}:\n        return n - {j}\n    return {j}\n\n\n"
        for j in range(FUNCTIONS)
    )


def generate(root: Path, count: int) -> list[str]:
    """`count` services under `root` with the manifests; the service names."""
    names = [name(index) for index in range(count)]
    (root / "src").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = src\naddopts = -p no:cacheprovider\n", "utf-8")
    tables = []
    for index, service in enumerate(names):
        package = root / "src" / service
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        (package / "core.py").write_text(module(), encoding="utf-8")
        neighbour = names[(index + 1) % count]
        tests = root / "tests" / service
        tests.mkdir(parents=True)
        calls = [f"    assert core.f{j}(100) == {100 - j}" for j in range(FUNCTIONS - 2)]
        (tests / f"test_{service}.py").write_text(
            "\n".join(
                [
                    f"from {service} import core",
                    f"from {neighbour} import core as neighbour",
                    "",
                    "",
                    "def test_core():",
                    *calls,
                    "    assert neighbour.f0(0) == 0",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        tables.append(f'[services.{service}]\nsource = ["src/{service}"]\ntests = ["tests/{service}"]\n')
    (root / "configs").mkdir()
    (root / "configs" / "services.toml").write_text("\n".join(tables), encoding="utf-8")
    (root / UNFORKED).write_text("[settings]\nfork_server = false\n\n" + "\n".join(tables), encoding="utf-8")
    _matrix(root)
    return names


def _matrix(root: Path) -> None:
    """A manifest of MATRIX_SERVICES services packed into MATRIX_RUNNERS runners, and the
    listing nox gives of their sessions (`nox --json -l -t coverage`), written here: nox
    takes minutes to list a thousand sessions, and the bench times the kit's part."""
    tables = [f'[settings]\nroot = "matrix-repo"\n\n[ci]\nrunners = {MATRIX_RUNNERS}\n']
    listing = []
    for index in range(MATRIX_SERVICES):
        service = name(index)
        for folder in ("src", "tests"):
            (root / "matrix-repo" / folder / service).mkdir(parents=True)
        tables.append(f'[services.{service}]\nsource = ["src/{service}"]\ntests = ["tests/{service}"]\n')
        listing.append({"session": f"coverage-{service}", "tags": ["coverage"]})
    (root / MATRIX_MANIFEST).write_text("\n".join(tables), encoding="utf-8")
    (root / MATRIX_LISTING).write_text(json.dumps(listing), encoding="utf-8")
