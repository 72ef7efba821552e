"""What the reports say, line by line, against coverage.py's public API on the same data:
the per-service XML and HTML against the service's own context, the whole-suite XML, JSON,
LCOV and HTML against all of it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from coverage import Coverage

from tasks.config import loader
from tests.conftest import in_process

pytestmark = pytest.mark.e2e

# A source line in coverage.py's HTML page: its class (run, mis, exc, par, pln) and number.
HTML_LINE = re.compile(r'<p class="(?P<kind>\w+)[^"]*">\s*<span class="n"><a id="t(?P<line>\d+)"')


def public_truth(project: Path, context: str | None) -> dict[str, tuple[set[int], set[int]]]:
    """Per file (as recorded, relative to the project): (statements, missing), from a fresh
    Coverage object over the combined data, narrowed to `context` with the public API."""
    cov = Coverage(data_file=str(project / ".coverage-data" / "combined"), config_file=False)
    cov.set_option("run:relative_files", True)
    cov.load()
    data = cov.get_data()
    if context is not None:
        data.set_query_contexts([f"^{re.escape(context)}$"])
    truth = {}
    for filename in data.measured_files():
        _, statements, _, missing, _ = cov.analysis2(filename)
        truth[filename] = (set(statements), set(missing))
    return truth


def xml_lines(path: Path) -> dict[str, tuple[set[int], set[int]]]:
    """Per file of a Cobertura report: (lines listed, lines with no hits)."""
    root = ElementTree.parse(path).getroot()
    sources = [Path(s.text or "") for s in root.iter("source")]
    found = {}
    for cls in root.iter("class"):
        lines = {int(e.get("number", "0")): int(e.get("hits", "0")) for e in cls.iter("line")}
        found[cls.get("filename", "")] = (set(lines), {n for n, hits in lines.items() if hits == 0})
    assert sources  # filenames are relative to the <source> folders
    return found


def html_lines(page: str, statements: set[int]) -> tuple[set[int], set[int]]:
    """(statement lines, missing lines) of one file's coverage.py HTML page, on the first
    lines of `statements` (the page marks the other lines of a long statement like its first)."""
    kinds = {int(m["line"]): m["kind"] for m in HTML_LINE.finditer(page)}
    assert kinds, "no source line found in the page"
    shown = {n for n, k in kinds.items() if k in ("run", "mis", "par") and n in statements}
    return shown, {n for n, k in kinds.items() if k == "mis" and n in statements}


def html_page(folder: Path, filename: str) -> str:
    """The page coverage.py wrote for `filename`, found by its title (page names are hashed)."""
    for page in folder.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        if f"<title>Coverage for {filename}:" in text:
            return text
    raise AssertionError(f"no page for {filename} in {folder}")


def test_reports__every_format_equals_the_public_api_line_for_line(measured_copy: Path) -> None:
    project = measured_copy
    built = in_process(project, "report")
    assert built.returncode == 0, built.output
    manifest = loader.load(project_dir=project)
    reports = project / "reports"
    everything = public_truth(project, None)

    coverage_json = json.loads((reports / "coverage.json").read_text())["files"]
    lcov: dict[str, dict[int, int]] = {}
    current = ""
    for line in (reports / "coverage.lcov").read_text().splitlines():
        if line.startswith("SF:"):
            current = line[3:]
            lcov[current] = {}
        elif line.startswith("DA:"):
            number, hits = line[3:].split(",")[:2]
            lcov[current][int(number)] = int(hits)
    whole_xml = xml_lines(reports / "coverage.xml")
    for filename, (statements, missing) in everything.items():
        assert set(coverage_json[filename]["missing_lines"]) == missing, filename
        # (coverage.py before 7.17 also lists lines it ran that are no statement's first line)
        executed = set(coverage_json[filename]["executed_lines"]) & statements
        assert executed == statements - missing, filename
        assert (
            set(lcov[filename]) == statements and {n for n, h in lcov[filename].items() if h == 0} == missing
        )
        root_relative = str(Path(filename).relative_to(manifest.display(manifest.root)))
        xml_found = next(v for k, v in whole_xml.items() if filename.endswith(k) or k == root_relative)
        assert xml_found == (statements, missing), filename
        assert html_lines(html_page(reports / "html", filename), statements) == (statements, missing), (
            filename
        )

    for service in manifest.services:
        own = public_truth(project, service.name)
        mine = {f: t for f, t in own.items() if service.owns((project / f).resolve())}
        assert mine, service.name
        per_service_xml = xml_lines(reports / "services" / f"{service.name}.xml")
        assert len(per_service_xml) == len(mine), service.name  # only the service's own files
        for filename, (statements, missing) in mine.items():
            found = next(v for k, v in per_service_xml.items() if filename.endswith(k))
            assert found == (statements, missing), (service.name, filename)
            page = html_page(reports / "html" / "services" / service.name, filename)
            assert html_lines(page, statements) == (statements, missing), (service.name, filename)
