"""Reports people read, on the measured example: the masking matrix (against classic runs of
each service's tests), recommendations, badges, editor files, `report --open`, and the
dashboard checked in a real headless Chromium."""

from __future__ import annotations

import json
import math
import re
import sys
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tasks.analyze import combined
from tasks.config import loader
from tasks.report import masking
from tests.conftest import headless, in_process, run, screenshot
from tests.oracle import strict_run
from tests.test_gitdiff import commit_all, git

pytestmark = pytest.mark.e2e

SERVICES = ("xp", "auth", "discord")


def services_json(project: Path) -> dict[str, dict[str, object]]:
    """The per-service figures the report wrote (written now if no report ran yet)."""
    if not (project / "reports/services.json").exists():
        assert in_process(project, "report", "--format", "json").returncode == 0
    summary = json.loads((project / "reports/services.json").read_text())
    return {s["name"]: s for s in summary["services"]}


def test_masking_matrix__each_cell_equals_a_classic_run_of_that_service_tests(
    measured_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(measured_copy)
    loaded = loader.load(project_dir=measured_copy)
    _, shared = combined.open_coverage(loaded, measured_copy / ".coverage-data/combined", cache=False)
    matrix = masking.build(shared, loaded)
    every_source = [src for service in loaded.services for src in service.source]
    for column in loaded.services:
        # One classic coverage run of this service's tests over every service's sources.
        truth = strict_run(column.cwd, every_source, list(column.tests), tmp_path / f"oracle-{column.name}")
        for row in loaded.services:
            files = [t for path, t in truth.items() if row.owns(path)]
            assert matrix.statements[row.name] == sum(len(t.statements) for t in files), row.name
            covered = sum(len(t.statements - t.missing) for t in files)
            assert matrix.covered[row.name, column.name] == covered, (row.name, column.name)

    # The diagonal is each service's isolated figure.
    figures = services_json(measured_copy)
    for name in SERVICES:
        assert matrix.covered[name, name] == figures[name]["isolated"]["covered"], name  # type: ignore[index]
    # xp is masked: the auth and discord tests each cover more of it than its own tests do.
    xp_own = matrix.share("xp", "xp")
    assert xp_own is not None
    assert matrix.share("xp", "auth") > xp_own  # type: ignore[operator]
    assert matrix.share("xp", "discord") > xp_own  # type: ignore[operator]

    printed = in_process(measured_copy, "masking")
    assert printed.returncode == 0, printed.output
    xp_row = next(line for line in printed.stdout.splitlines() if line.startswith("xp "))
    assert xp_row.split()[1:] == [
        str(matrix.statements["xp"]),
        f"[{xp_own:.1f}%]",
        f"{matrix.share('xp', 'auth'):.1f}%",
        f"{matrix.share('xp', 'discord'):.1f}%",
        f"{matrix.whole_share('xp'):.1f}%",
    ]
    markdown = in_process(measured_copy, "masking", "--markdown").stdout
    assert f"| xp | {matrix.statements['xp']} | **{xp_own:.1f}%** |" in markdown


def test_recommend__impact_is_missed_lines_and_targets_are_lines_to_go(measured_copy: Path) -> None:
    # The example declares xp's components: api = handlers.py and service.py.
    result = in_process(measured_copy, "recommend", "--top", "3")
    assert result.returncode == 0, result.output
    figures = services_json(measured_copy)
    every_file = [
        (f["isolated"]["statements"] - f["isolated"]["covered"], f["path"], name)  # type: ignore[index]
        for name, service in figures.items()
        for f in service["files"]  # type: ignore[attr-defined]
    ]
    top = sorted(every_file, key=lambda item: (-item[0], item[1]))[:3]
    listed = re.findall(r"^\s*(\d+)\s+(\w+)\s+(\S+)\s+(\S+\.py)\s", result.stdout, re.MULTILINE)
    assert [(int(impact), path, service) for impact, service, _, path in listed] == top
    # xp's goal is 70%: ceil(0.70 x statements) - covered more lines of its own.
    xp = figures["xp"]["isolated"]
    needed = math.ceil(0.70 * xp["statements"]) - xp["covered"]  # type: ignore[index]
    assert re.search(rf"^xp\s.*floor 40% met; goal 70%: {needed} more lines$", result.stdout, re.MULTILINE)
    api = [f for f in figures["xp"]["files"] if f["path"].endswith(("handlers.py", "service.py"))]  # type: ignore[attr-defined]
    api_missed = sum(f["isolated"]["statements"] - f["isolated"]["covered"] for f in api)
    api_statements = sum(f["isolated"]["statements"] for f in api)
    assert f"api {api_missed} of {api_statements}" in result.stdout
    assert in_process(measured_copy, "recommend", "--service", "xq").returncode == 2  # names the closest


def test_badges__svg_and_shields_endpoint_per_service_red_below_its_floor(measured_copy: Path) -> None:
    manifest = measured_copy / "configs/services.toml"
    text = manifest.read_text()
    raised = re.sub(r"(\[services\.xp\.thresholds\][^\n]*\n)line = 40", r"\1line = 50", text)
    assert raised != text
    manifest.write_text(raised)

    result = in_process(measured_copy, "report", "--format", "badges")
    assert result.returncode == 0, result.output
    figures = services_json(measured_copy)
    folder = measured_copy / "reports/badges"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{scope}.{ext}" for scope in ("total", *SERVICES) for ext in ("svg", "json")
    )
    for name in SERVICES:
        endpoint = json.loads((folder / f"{name}.json").read_text())
        line = figures[name]["isolated"]["line_pct"]  # type: ignore[index]
        assert endpoint == {
            "schemaVersion": 1,
            "label": f"{name} coverage",
            "message": f"{line:.1f}%",
            # xp's 41.4% is below its raised floor of 50; auth and discord (88%) are green
            "color": "red" if name == "xp" else "green",
        }
        svg = ElementTree.fromstring((folder / f"{name}.svg").read_text())
        texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
        assert texts == [f"{name} coverage", f"{line:.1f}%"]
    total = json.loads((folder / "total.json").read_text())
    summary = json.loads((measured_copy / "reports/services.json").read_text())
    assert total["message"] == f"{summary['total']['whole_suite']['line_pct']:.1f}%"


def test_editors__lcov_and_xml_at_the_repository_root_with_its_own_paths(measured_copy: Path) -> None:
    result = in_process(measured_copy, "report")
    assert result.returncode == 0, result.output
    root = measured_copy / "examples/monorepo"
    lcov = (root / "lcov.info").read_text()
    files = re.findall(r"^SF:(.*)$", lcov, re.MULTILINE)
    assert files and all((root / f).is_file() and f.startswith("src/") for f in files), files
    # The same records as the report's own LCOV, paths aside.
    original = (measured_copy / "reports/coverage.lcov").read_text()
    assert lcov == "TN:coverage-workflows\n" + original.replace("SF:examples/monorepo/", "SF:")
    tree = ElementTree.parse(root / "coverage.xml")
    assert [s.text for s in tree.iter("source")] == [str(root)]
    names = [c.get("filename") for c in tree.iter("class")]
    assert names and all((root / str(n)).is_file() for n in names)
    assert (root / "coverage.xml").read_text().startswith("<?xml")  # how Coverage Gutters spots Cobertura


def test_editors__none_unless_the_manifest_asks_for_them(measured_copy: Path) -> None:
    manifest = measured_copy / "configs/services.toml"
    text = manifest.read_text()
    line = next(line for line in text.splitlines() if line.startswith("editor_dir ="))
    manifest.write_text(text.replace(line + "\n", "", 1))
    result = in_process(measured_copy, "report")
    assert result.returncode == 0, result.output
    root = measured_copy / "examples/monorepo"
    assert not (root / "lcov.info").exists() and not (root / "coverage.xml").exists()
    assert "lcov.info" not in result.stdout
    assert (measured_copy / "reports/coverage.lcov").is_file()  # the kit's own folder has its LCOV


def test_editors__someone_elses_file_is_left_alone_and_an_unwritable_folder_exits_2(
    measured_copy: Path,
) -> None:
    foreign = measured_copy / "examples/monorepo/coverage.xml"
    foreign.write_text('<?xml version="1.0" ?>\n<coverage version="pytest-cov"/>\n')
    result = in_process(measured_copy, "report")
    assert result.returncode == 0, result.output
    assert foreign.read_text().endswith('<coverage version="pytest-cov"/>\n')
    assert "left examples/monorepo/coverage.xml alone: another tool wrote it" in result.stdout
    assert (measured_copy / "examples/monorepo/lcov.info").read_text().startswith("TN:coverage-workflows\n")

    before = (measured_copy / "reports/index.html").read_bytes()
    manifest = measured_copy / "configs/services.toml"
    manifest.write_text(
        manifest.read_text().replace('editor_dir = "."', 'editor_dir = "pyproject.toml/editors"', 1)
    )
    refused = in_process(measured_copy, "report")
    assert refused.returncode == 2, refused.output
    assert "cannot write editor files to examples/monorepo/pyproject.toml/editors" in refused.stderr
    assert "Traceback" not in refused.output
    assert (measured_copy / "reports/index.html").read_bytes() == before  # nothing half-published


def dashboard_links(page: Path, html: str) -> list[str]:
    """Local link and image targets of the dashboard that do not resolve to a file."""
    parser = _Links()
    parser.feed(html)
    local = [t for t in parser.targets if not t.startswith(("http:", "https:", "#", "data:"))]
    assert "html/index.html" in local
    assert {f"html/services/{name}/index.html" for name in SERVICES} <= set(local)
    assert {f"badges/{name}.svg" for name in ("total", *SERVICES)} <= set(local)
    return [t for t in local if not (page.parent / t).is_file()]


def test_dashboard__every_link_resolves_on_disk(measured_copy: Path) -> None:
    assert in_process(measured_copy, "report").returncode == 0
    page = measured_copy / "reports/index.html"
    assert dashboard_links(page, page.read_text()) == []


def test_report_open__hands_the_dashboard_to_the_browser(measured_copy: Path, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    result = run(
        [sys.executable, "-m", "tasks", "report", "--open"],
        measured_copy,
        env={"BROWSER": f"{sys.executable} {browser} %s"},
    )
    assert result.returncode == 0, result.output
    assert opened.read_text() == (measured_copy / "reports/index.html").as_uri()
    refused = in_process(measured_copy, "report", "--open", "--format", "xml")
    assert refused.returncode == 2 and "--open shows the HTML dashboard" in refused.stderr


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("href", "src"):
            if values.get(key):
                self.targets.append(str(values[key]))
        if values.get("id"):
            self.ids.add(str(values["id"]))


def test_dashboard__opens_in_headless_chromium_with_table_heat_map_trend_and_live_links(
    measured_copy: Path, tmp_path: Path, chromium: str
) -> None:
    git(measured_copy, "init", "-q", "-b", "main")
    commit_all(measured_copy, "measured")
    for number in range(2):  # two snapshots of two commits: a trend line
        if number:
            git(measured_copy, "commit", "-q", "--allow-empty", "-m", "another commit")
        recorded = in_process(measured_copy, "baseline")
        assert recorded.returncode == 0, recorded.output
    result = in_process(measured_copy, "report")
    assert result.returncode == 0, result.output
    page = measured_copy / "reports/index.html"

    dumped = headless(chromium, page, tmp_path / "profile-dom", "--virtual-time-budget=5000", "--dump-dom")
    dom = dumped.stdout
    assert dumped.returncode == 0 and "<body" in dom, dumped.stderr[-2000:]
    parser = _Links()
    parser.feed(dom)
    assert {"services", "masking", "trend", "recommendations", "links"} <= parser.ids
    assert re.search(r'<div id="trend"><svg[^>]*>.*<polyline', dom, re.DOTALL), "no trend line drawn"
    masking_table = dom[dom.index('id="masking"') :]
    for name in SERVICES:
        assert f"<th>{name}</th>" in masking_table
    # Every link and image of the rendered page resolves to a file beside it: coverage.py's
    # HTML for the combined data and for each service, the downloads, the badges.
    assert dashboard_links(page, dom) == []

    screenshot(chromium, page, tmp_path, height=2200)  # the page renders to a real image
