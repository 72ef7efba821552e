"""A repository of 25 small services, for the reports at scale (test_reports_at_scale_e2e.py).

Each service has a module of ten small functions (four statements and one branch each) and
its own tests, which call some of them; some services' tests also call other services'
code, so their coverage is borrowed (masking): one service borrows a large share, two a
notable one, twelve a little, ten nothing. Three services have long names, and two have
files whose paths are long (one of them a single 140-character name holding `<b>` and `&`),
with the most lines missed, so they head the recommendations.

    python tests/many_services.py DIR      # write it, with the kit, into DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the kit's checkout is the parent folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import KIT, copy_package, write_files

COUNT = 25
PARTS = 10  # functions per service module
LONG_NAMES = {
    0: "customer-notification-preferences",
    9: "payment-reconciliation-worker-v2",
    17: "search-indexing-and-ranking-service",
    # Past the 25 of the reports at scale: a name of 64 characters, which no table may cut.
    40: "acme-instrumentation-for-the-http-client-library-and-its-plugins",
}
# Files with long paths: (service index, path under src/pkgNN/, functions in it).
LONG_FILES = {
    11: "deeply_nested_subpackage_for_layout_checks/another_rather_long_folder_name/"
    "and_a_module_whose_name_goes_on_and_on.py",
    13: "m" + "x" * 130 + "<b>&.py",
}
LONG_PARTS = 30


def name(index: int) -> str:
    return LONG_NAMES.get(index, f"svc{index:02d}")


def package(index: int) -> str:
    return f"pkg{index:02d}"


def own_parts(index: int) -> range:
    """The functions of its own module a service's tests call."""
    return {1: range(1), 4: range(5), 7: range(8)}.get(index, range(6))


def lent(row: int, lender: int, count: int = COUNT) -> list[int]:
    """The functions of service `row` that service `lender`'s tests call, of `count` services."""
    if row == lender:
        return []
    if row == 0:  # every other service's tests use a little of it; four use more: +20 points
        return [0, 6 + lender - 10] if 10 <= lender <= 13 else [0]
    if row == 1:  # two services' tests run all of it: +45 points, a large gap
        return list(range(PARTS)) if lender in (2, 3) else []
    if row == 4:  # +15 points: a notable gap
        return [5, 6, 7] if lender == 5 else []
    if row == 7:  # +5 points: a small gap
        return [8] if lender == 8 else []
    if row >= 14:  # +5 points each, from the next service (the last from the first of them)
        return [7] if lender == (row + 1 if row < count - 1 else 14) else []
    return []


def module(parts: int) -> str:
    return "".join(
        f"def part{j}(n):\n    if n > {j}:\n        return n - {j}\n    return {j}\n\n\n"
        for j in range(parts)
    )


def files(count: int = COUNT) -> dict[str, str]:
    manifest = ["[gate]", 'base = "main"', ""]
    out = {"pytest.ini": "[pytest]\npythonpath = src\naddopts = -p no:cacheprovider\n"}
    for index in range(count):
        pkg = package(index)
        manifest += [
            f"[services.{name(index)}]",
            f'source = ["src/{pkg}"]',
            f'tests = ["tests/{pkg}"]',
            f"[services.{name(index)}.thresholds]",
            "line = 20",
            "",
        ]
        out[f"src/{pkg}/__init__.py"] = ""
        out[f"src/{pkg}/core.py"] = module(PARTS)
        head = [f"from {pkg} import core"]
        calls = [f"    assert core.part{j}(100) == {100 - j}" for j in own_parts(index)]
        for row in range(count):
            if lent(row, index, count):
                head.append(f"from {package(row)} import core as core{row:02d}")
                calls += [
                    f"    assert core{row:02d}.part{j}(100) == {100 - j}" for j in lent(row, index, count)
                ]
        if index in LONG_FILES:
            path = f"src/{pkg}/{LONG_FILES[index]}"
            out[path] = module(LONG_PARTS)
            head += [
                "import importlib.util",
                "from pathlib import Path",
                f"PATH = Path(__file__).parents[2] / {path!r}",
                "SPEC = importlib.util.spec_from_file_location('long', PATH)",
                "LONG = importlib.util.module_from_spec(SPEC)",
                "SPEC.loader.exec_module(LONG)",
            ]
            calls.append("    assert LONG.part0(100) == 100")
        out[f"tests/{pkg}/test_{pkg}.py"] = "\n".join([*head, "", "", "def test_parts():", *calls, ""])
    out["configs/services.toml"] = "\n".join(manifest)
    return out


def write(project: Path, count: int = COUNT) -> Path:
    """The kit (noxfile.py, pyproject.toml, tasks/) and `count` services, in `project`."""
    project.mkdir(parents=True)
    for kit_file in ("noxfile.py", "pyproject.toml"):
        shutil.copy2(KIT / kit_file, project / kit_file)
    copy_package(project)
    write_files(project, files(count))
    return project


if __name__ == "__main__":
    print(f"wrote {write(Path(sys.argv[1]))}")
