"""What the kit prints, at 300 services (tests/many_services.py), measured with the real kit
(run-all), one of them failing and two whose data never arrived: every line of every
command's output fits 120 columns, or wraps cleanly (only a path or name longer than a line
runs past, whole, at the end of its line), and none is over 200 characters. The partial
results say so: `no data` rows outside the total, one notice line per command, names whole.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import many_services
from tests.conftest import Result, commit_everything, in_process, tasks, write_files

# The kit's own text at 300 services: the same on every Python and coverage.py (one_pass).
pytestmark = [pytest.mark.e2e, pytest.mark.one_pass]

COUNT = 300
WIDTH, HARD_LIMIT = 120, 200
LONG_WORD = 40  # a word this long (a path, a name, a command) may not fit beside others
FAILING = many_services.name(40)  # the 64-character name: its tests fail
NEVER_ARRIVED = (many_services.name(5), many_services.name(33))  # their data is gone
UNMEASURED = (FAILING, *NEVER_ARRIVED)


def badly_wrapped(output: str) -> list[str]:
    """The lines that neither fit WIDTH nor wrap cleanly, or are longer than HARD_LIMIT."""
    bad = []
    for line in output.splitlines():
        if len(line) > HARD_LIMIT:
            bad.append(line)
        elif len(line) > WIDTH:
            before, _, last = line.rstrip().rpartition(" ")
            if len(before) > WIDTH or len(last) < LONG_WORD:
                bad.append(line)
    return bad


@dataclass(frozen=True)
class Project:
    path: Path
    run_all: Result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = many_services.write(tmp_path_factory.mktemp("width") / "project", COUNT)
    write_files(path, {"tests/pkg40/test_broken.py": "def test_broken():\n    assert 1 == 2\n"})
    commit_everything(path, ".coverage-data/\nreports/\n.coverage*\n")
    run_all = tasks(path, "run-all")
    assert run_all.returncode == 1, run_all.output
    for name in NEVER_ARRIVED:
        (path / ".coverage-data" / name).unlink()
    return Project(path, run_all)


def test_run_all__its_table_names_the_failed_service_whole_and_fits(project: Project) -> None:
    assert badly_wrapped(project.run_all.output) == []
    assert f"{FAILING}  FAILED (exit 1): tests failed" in project.run_all.stdout
    assert f"nox -s coverage-{FAILING}" in project.run_all.stdout
    assert f"{COUNT} service runs" in project.run_all.stdout


# Every command that reads the project, each with the exit status it must give.
COMMANDS = [
    (("combine",), 3),
    (("combine", "--allow-missing"), 0),
    (("report", "--allow-missing", "--format", "json"), 0),
    (("masking", "--allow-missing"), 0),
    (("recommend", "--allow-missing"), 0),
    (("gate",), 1),
    (("gate", "--allow-missing", "--base", "main"), 0),
    (("affected", "--base", "main"), 0),
    (("baseline", "--allow-missing"), 3),
    (("ratchet", "--allow-missing"), 3),
    (("baseline", "--status"), 3),  # no history yet: incomplete data is never recorded
    (("audit",), 0),
    (("services",), 0),
    (("report", "--no-such-option"), 2),
    (("recommend", "--service", "no-such-service"), 2),
    (("--help",), 0),
]


@pytest.fixture(scope="module")
def outputs(project: Project) -> dict[tuple[str, ...], Result]:
    results = {}
    for argv, code in COMMANDS:
        result = tasks(project.path, *argv) if argv == ("--help",) else in_process(project.path, *argv)
        assert result.returncode == code, (argv, result.output)
        results[argv] = result
    return results


def test_every_command__fits_120_columns_or_wraps_cleanly(outputs: dict[tuple[str, ...], Result]) -> None:
    bad = {" ".join(argv): badly_wrapped(result.output) for argv, result in outputs.items()}
    assert {argv: lines for argv, lines in bad.items() if lines} == {}


def test_partial_results__no_data_rows_a_total_over_the_measured_and_one_notice(
    outputs: dict[tuple[str, ...], Result],
) -> None:
    lines = outputs["report", "--allow-missing", "--format", "json"].stdout.splitlines()
    total_at = next(index for index, line in enumerate(lines) if line.startswith("Total"))
    table = lines[:total_at]  # the per-service table, above its total
    for name in UNMEASURED:
        (at,) = [index for index, line in enumerate(table) if line.split()[:1] == [name]]
        shown = table[at] if len(table[at].split()) > 1 else table[at + 1]  # a long name: figures below
        assert "no data" in shown and "0.0%" not in shown, shown
    total = lines[total_at]
    assert total.startswith(f"Total ({COUNT - len(UNMEASURED)} of {COUNT})")
    # Each measured row's statements (the first number on its line, or on the line below a
    # long name), summed: the total's.
    figures = [line for line in table if re.search(r"\d+\.\d%", line)]
    statements = sum(int(next(cell for cell in line.split() if cell.isdigit())) for line in figures)
    assert int(total.split()[4]) == statements
    assert len(figures) == COUNT - len(UNMEASURED)
    # Below the table: the services that borrow most, and one line of what was written: no
    # line per service (the table says it), however many services.
    assert len(lines) - total_at - 1 <= 20, "\n".join(lines[total_at:])
    for argv in (
        ("report", "--allow-missing", "--format", "json"),
        ("masking", "--allow-missing"),
        ("recommend", "--allow-missing"),
        ("gate", "--allow-missing", "--base", "main"),
    ):
        notices = [line for line in outputs[argv].output.splitlines() if "INCOMPLETE" in line]
        assert len(notices) == 1, (argv, notices)
    advice = outputs["recommend", "--allow-missing"].stdout.split("\n", 1)[1]  # after the notice
    assert not any(re.search(rf"\b{name}\b", advice) for name in NEVER_ARRIVED)  # no figure, no advice
    assert re.search(r"\bsvc06\b", advice)


def test_names__kept_whole_in_every_table(outputs: dict[tuple[str, ...], Result]) -> None:
    long_names = [name for name in many_services.LONG_NAMES.values()]
    report = outputs["report", "--allow-missing", "--format", "json"].stdout
    for name in long_names:
        assert re.search(rf"^{re.escape(name)}( |$)", report, re.MULTILINE), name


def test_stale_data__one_line_for_the_services_a_change_touches_alike(
    project: Project, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(project.path, copy, symlinks=True)
    in_process(copy, "combine", "--allow-missing")
    shared = copy / "src" / "pkg00" / "core.py"  # every service's tests run part of it
    shared.write_text(shared.read_text() + "\n\ndef added():\n    return 1\n")
    result = in_process(copy, "report", "--allow-missing")
    assert result.returncode == 3, result.output
    assert badly_wrapped(result.output) == []
    assert "nox -s coverage-all combine" in result.stderr
    assert len(result.stderr.splitlines()) < 12, result.stderr
