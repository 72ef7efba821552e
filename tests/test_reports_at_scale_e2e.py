"""The reports people read, at 25 services (tests/many_services.py), measured with the real
kit (run-all, combine, report): the terminal masking matrix fits 120 columns, Markdown and
the dashboard hold the full matrix, and the dashboard, in a real headless Chromium, colours
and names large masking gaps, draws its heat map with a legend and a diagonal that stands
out, wraps long paths, and labels its two totals. Every expected figure comes from
coverage.py run without the kit: the classic way (`coverage run -m pytest`, `coverage
json`) for the totals, and each service's tests under coverage.py's API, one by one, for the
matrix."""

from __future__ import annotations

import html
import json
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests import many_services
from tests.conftest import headless, in_process, run, screenshot, tasks
from tests.oracle import no_config, strict_run

pytestmark = pytest.mark.e2e

NAMES = tuple(many_services.name(index) for index in range(many_services.COUNT))
WIDTH = 120
WARN, LARGE = 10.0, 25.0  # the documented thresholds of the dashboard's masking gap (points)


@dataclass(frozen=True)
class Measured:
    project: Path
    report_output: str


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Measured:
    project = many_services.write(tmp_path_factory.mktemp("scale") / "project")
    outputs = []
    for argv in (("run-all",), ("combine",), ("report",)):
        result = (tasks if argv == ("run-all",) else in_process)(project, *argv)
        assert result.returncode == 0, result.output
        outputs.append(result.stdout)
    return Measured(project, outputs[-1])


# Each service's tests under coverage.py's API in one process, one service after another,
# every service's package imported afresh for each: which statements of every file they run.
COLUMNS = r"""
import importlib.util, json, sys
from pathlib import Path
from coverage import Coverage

root = Path.cwd()
sys.path.insert(0, str(root / "src"))
result = {}
for column in range(int(sys.argv[1])):
    for name in [name for name in sys.modules if name.startswith("pkg")]:
        del sys.modules[name]
    cov = Coverage(data_file=None, branch=True, source=[str(root / "src")], config_file=False)
    test = root / "tests" / f"pkg{column:02d}" / f"test_pkg{column:02d}.py"
    cov.start()
    try:
        spec = importlib.util.spec_from_file_location(f"oracle_{column}", test)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.test_parts()
    finally:
        cov.stop()
    ran = {}
    for filename in cov.get_data().measured_files():
        _, statements, _, missing, _ = cov.analysis2(filename)
        ran[str(Path(filename).resolve())] = sorted(set(statements) - set(missing))
    result[column] = ran
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Truth:
    statements: dict[str, int]  # service -> statements
    covered: dict[tuple[str, str], int]  # (code of, tests of) -> statements run
    whole: dict[str, int]  # service -> statements run by any service's tests
    totals: dict[str, float]  # coverage.py's JSON report of one classic run of every test

    def share(self, row: str, column: str) -> float:
        return 100.0 * self.covered[row, column] / self.statements[row]

    def whole_share(self, row: str) -> float:
        return 100.0 * self.whole[row] / self.statements[row]

    def gap(self, row: str) -> float:
        return self.whole_share(row) - self.share(row, row)


def owner(project: Path, filename: str) -> str:
    package = Path(filename).relative_to(project / "src").parts[0]
    return NAMES[int(package.removeprefix("pkg"))]


@pytest.fixture(scope="module")
def truth(measured: Measured, tmp_path_factory: pytest.TempPathFactory) -> Truth:
    project, tmp = measured.project, tmp_path_factory.mktemp("truth")
    # The whole suite the classic way: every statement of every file, and coverage.py's totals.
    tests = [f"tests/{many_services.package(index)}" for index in range(many_services.COUNT)]
    data = tmp / ".coverage-whole"
    whole_run = strict_run(project, [project / "src"], tests, data)
    report = tmp / "coverage.json"
    made = run(
        [sys.executable, "-m", "coverage", "json", no_config(data), f"--data-file={data}", "-o", str(report)],
        project,
    )
    assert made.returncode == 0, made.output
    statements = dict.fromkeys(NAMES, 0)
    for path, file in whole_run.items():
        statements[owner(project, str(path))] += len(file.statements)
    # Each column of the matrix: one service's tests alone.
    columns = run([sys.executable, "-c", COLUMNS, str(many_services.COUNT)], project)
    assert columns.returncode == 0, columns.output
    covered = {(row, column): 0 for row in NAMES for column in NAMES}
    union: dict[str, set[int]] = {}
    for column, ran in json.loads(columns.stdout).items():
        for filename, lines in ran.items():
            covered[owner(project, filename), NAMES[int(column)]] += len(lines)
            union.setdefault(filename, set()).update(lines)
    whole = dict.fromkeys(NAMES, 0)
    for filename, lines in union.items():
        whole[owner(project, filename)] += len(lines)
    # The two ways agree: what all services' tests run, one by one, is what one run of them runs.
    for path, file in whole_run.items():
        assert union.get(str(path), set()) == set(file.statements - file.missing), path
    return Truth(statements, covered, whole, json.loads(report.read_text())["totals"])


def borrowing_order(truth: Truth) -> list[str]:
    """The services that borrow, most first (ties in manifest order)."""
    borrowing = [name for name in NAMES if truth.gap(name) > 0.05]
    return sorted(borrowing, key=lambda name: (-round(truth.gap(name), 9), NAMES.index(name)))


def test_masking_terminal__fits_120_columns_with_the_rows_that_borrow_most_and_where_the_rest_is(
    measured: Measured, truth: Truth
) -> None:
    printed = in_process(measured.project, "masking")
    assert printed.returncode == 0, printed.output
    lines = printed.stdout.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, max(lines, key=len)

    order = borrowing_order(truth)
    assert len(order) > 10  # more borrow than the terminal shows
    rows = [line for line in lines if line.split() and line.split()[0] in NAMES]
    assert [line.split()[0] for line in rows] == order[:10]
    for line in rows:
        row, stmts, own, whole, borrowed, lenders = line.split(None, 5)
        assert [stmts, own, whole, borrowed] == [
            str(truth.statements[row]),
            f"[{truth.share(row, row):.1f}%]",
            f"{truth.whole_share(row):.1f}%",
            f"{truth.gap(row):+.1f}",
        ], line
        # Other services' tests, the most first, each with the share of the row it runs.
        ranked = sorted(
            (truth.share(row, c) for c in NAMES if c != row and truth.covered[row, c]), reverse=True
        )
        entries = lenders.split(", ")
        more = re.fullmatch(r"\+(\d+) more", entries[-1])
        if more:
            entries = entries[:-1]
        assert len(entries) + (int(more.group(1)) if more else 0) == len(ranked), line
        for entry, share in zip(entries, ranked, strict=False):
            column, figure = entry.rsplit(" ", 1)
            assert figure == f"{share:.1f}%" == f"{truth.share(row, column):.1f}%", line
    assert any("+22 more" in line for line in rows)  # the row every other service's tests run
    rest = order[10:]
    assert (
        f"{len(rest)} more services borrow, none more than {max(map(truth.gap, rest)):+.1f} points. "
        f"{len(NAMES) - len(order)} services borrow nothing." in lines
    )
    # Where the full matrix is, and it is there.
    text = printed.stdout
    assert "reports/masking.md" in text and "reports/index.html" in text and "masking -- --markdown" in text
    assert (measured.project / "reports/masking.md").is_file()
    assert (measured.project / "reports/index.html").is_file()
    # The report prints the same block.
    block = lines[lines.index(next(line for line in lines if line.startswith("Masking:"))) :]
    report_lines = measured.report_output.splitlines()
    start = report_lines.index(block[0])
    assert report_lines[start : start + len(block)] == block


def markdown_cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [re.sub(r"\\(.)", r"\1", cell.strip()) for cell in cells]


def test_masking_markdown__holds_every_cell_of_the_25_by_25_matrix(measured: Measured, truth: Truth) -> None:
    markdown = (measured.project / "reports/masking.md").read_text(encoding="utf-8")
    assert markdown == in_process(measured.project, "masking", "--markdown").stdout.rstrip("\n") + "\n"
    table = [markdown_cells(line) for line in markdown.splitlines() if line.startswith("| ")]
    header, rows = table[0], table[1:]
    assert header[2:-1] == [f"{name} tests" for name in NAMES]
    assert [row[0] for row in rows] == list(NAMES)
    cells = 0
    for row in rows:
        name = row[0]
        assert row[1] == str(truth.statements[name])
        for column, cell in zip(NAMES, row[2:-1], strict=True):
            expected = f"{truth.share(name, column):.1f}%"
            assert cell == (f"**{expected}**" if column == name else expected), (name, column)
            cells += 1
        assert row[-1] == f"{truth.whole_share(name):.1f}%"
    assert cells == 25 * 25


class _HeatMap(HTMLParser):
    """The cells of the dashboard's masking table: (row, scale, title, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.row: str | None = None
        self.cells: list[dict[str, str]] = []
        self.current: dict[str, str] | None = None
        self.header: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "table":
            self.inside = values.get("id") == "masking"
        elif self.inside and tag == "tr":
            self.row = None
        elif self.inside and tag in ("td", "th"):
            self.current = {"tag": tag, "text": "", **values}

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        if tag not in ("td", "th") or self.current is None:
            return
        cell, self.current = self.current, None
        if cell["tag"] == "th" and "column" not in cell.get("class", ""):
            self.row = cell["text"]
        elif cell["tag"] == "th":
            self.header.append(cell["text"])
        elif cell.get("data-scale"):
            self.cells.append({**cell, "row": self.row or ""})


def test_dashboard_heat_map__holds_every_cell_on_a_scale_of_its_own_for_the_diagonal(
    measured: Measured, truth: Truth
) -> None:
    parser = _HeatMap()
    parser.feed((measured.project / "reports/index.html").read_text(encoding="utf-8"))
    assert parser.header == ["Statements", *NAMES, "All tests"]
    matrix = [cell for cell in parser.cells if cell["data-scale"] in ("own", "borrowed")]
    assert len(matrix) == 25 * 25
    for cell in matrix:
        match = re.fullmatch(r"(.+)'s tests run (\d+\.\d)% of (.+)'s statements", cell["title"])
        assert match, cell
        column, figure, row = match.groups()
        assert row == cell["row"]
        share = truth.share(row, column)
        assert f"{figure}%" == f"{share:.1f}%", (row, column)
        assert cell["data-scale"] == ("own" if row == column else "borrowed")
        # The cell shows the share to a whole percent.
        assert abs(int(cell["text"]) - share) <= 0.5 or (0 < share < 1 and cell["text"] == "1"), cell
    whole = [cell for cell in parser.cells if cell["data-scale"] == "whole"]
    assert [cell["row"] for cell in whole] == list(NAMES)


# Run in a copy of the dashboard: measures what Chromium laid out and writes it into the page.
LAYOUT = """<script>
const box = (el) => el.getBoundingClientRect();
const css = (el) => getComputedStyle(el);
const table = (id) => document.getElementById(id);
const rows = (id) => [...table(id).querySelectorAll("tr")].slice(1);
const layout = {
  viewport: document.documentElement.clientWidth,
  page: document.documentElement.scrollWidth,
  services: rows("services").map((tr) => ({
    name: tr.cells[0].textContent, gap: tr.cells[7].textContent, background: css(tr.cells[7]).backgroundColor,
  })),
  largeGaps: table("large-gaps") ? table("large-gaps").textContent : null,
  gapScale: table("gap-scale") ? table("gap-scale").textContent : null,
  totals: table("totals") ? table("totals").innerText : null,
  heat: {
    scroll: table("masking").parentElement.scrollWidth, visible: table("masking").parentElement.clientWidth,
    rows: rows("masking").map((tr) => ({
      name: tr.cells[0].textContent,
      cells: [...tr.querySelectorAll("td[data-scale]")].map((td) => ({
        scale: td.dataset.scale, background: css(td).backgroundColor, outline: css(td).outlineStyle,
        outlineWidth: parseFloat(css(td).outlineWidth),
      })),
    })),
  },
  legend: table("heat-legend") ? {
    text: table("heat-legend").textContent,
    cells: [...table("heat-legend").querySelectorAll("td")].map((td) => ({
      scale: td.dataset.scale, background: css(td).backgroundColor,
    })),
  } : null,
  recommendations: {
    scroll: table("recommendations").parentElement.scrollWidth,
    visible: table("recommendations").parentElement.clientWidth,
    columns: [...table("recommendations").querySelectorAll("th")].map((th) => box(th).width),
    rows: rows("recommendations").map((tr) => ({
      height: box(tr).height, path: tr.cells[3].textContent, pathWidth: box(tr.cells[3]).width,
    })),
  },
};
const out = document.createElement("pre");
out.id = "layout";
out.textContent = JSON.stringify(layout);
document.body.appendChild(out);
</script>"""


def rgba(colour: str) -> tuple[tuple[int, int, int], float]:
    """Chromium's computed colour, rgb(...) or rgba(...), as its base and its opacity."""
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)", colour)
    assert match, colour
    red, green, blue, alpha = match.groups()
    return (int(red), int(green), int(blue)), float(alpha) if alpha is not None else 1.0


def test_dashboard__in_headless_chromium_at_25_services(
    measured: Measured, truth: Truth, tmp_path: Path, chromium: str
) -> None:
    reports = measured.project / "reports"
    page = reports / "index.html"
    source = page.read_text(encoding="utf-8")
    # Every link and image resolves to a file beside the page.
    targets = re.findall(r'(?:href|src)="([^"#:]+)"', source)
    assert "html/index.html" in targets and "masking.md" in targets
    assert [t for t in targets if not (reports / html.unescape(t)).is_file()] == []

    probe = reports / "layout-probe.html"  # beside the page, so its links resolve the same
    probe.write_text(source.replace("</body>", LAYOUT + "</body>"), encoding="utf-8")
    try:
        dumped = headless(
            chromium,
            probe,
            tmp_path / "profile",
            "--window-size=1280,2000",
            "--virtual-time-budget=5000",
            "--dump-dom",
        )
    finally:
        probe.unlink()
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    found = re.search(r'<pre id="layout">(.*?)</pre>', dumped.stdout, re.DOTALL)
    assert found, dumped.stdout[-2000:]
    layout = json.loads(html.unescape(found.group(1)))
    assert layout["page"] <= layout["viewport"] >= 1200  # nothing wider than the window

    # The masking gap: coloured from 10 points, and named from 25; a small one plain.
    levels = {
        name: "large" if truth.gap(name) >= LARGE else "warn" if truth.gap(name) >= WARN else None
        for name in NAMES
    }
    assert sorted(filter(None, levels.values())) == ["large", "warn", "warn"]  # and 22 small ones
    gaps = {row["name"]: row for row in layout["services"]}
    plain = ((0, 0, 0), 0.0)  # no background of its own
    colours = {}
    for name in NAMES:
        cell = gaps[name]
        assert cell["gap"].startswith(f"{truth.gap(name):+.1f}"), cell
        if levels[name] is None:
            assert rgba(cell["background"]) == plain and cell["gap"] == f"{truth.gap(name):+.1f}", cell
        else:
            assert rgba(cell["background"]) != plain, cell
            colours.setdefault(levels[name], set()).add(cell["background"])
    assert len(colours["warn"]) == len(colours["large"]) == 1 and colours["warn"] != colours["large"]
    for name in NAMES:
        assert (gaps[name]["gap"].endswith("large")) == (levels[name] == "large")
        named = re.search(rf"(?<![\w-]){re.escape(name)} \+", layout["largeGaps"] or "")
        assert bool(named) == (levels[name] == "large"), name
    assert "10 points" in layout["gapScale"] and "25" in layout["gapScale"]

    # The heat map: the whole matrix on screen, a legend, and a diagonal that stands out.
    assert layout["heat"]["scroll"] <= layout["heat"]["visible"]
    bases: dict[str, set[tuple[int, int, int]]] = {}
    for row in layout["heat"]["rows"]:
        cells = row["cells"]
        assert [cell["scale"] for cell in cells] == [
            "own" if column == row["name"] else "borrowed" for column in NAMES
        ] + ["whole"]
        for cell in cells:
            base, _ = rgba(cell["background"])
            bases.setdefault(cell["scale"], set()).add(base)
            assert (cell["outline"] != "none" and cell["outlineWidth"] >= 2) == (cell["scale"] == "own")
        diagonal = next(cell for cell in cells if cell["scale"] == "own")
        # No borrowed cell of the row is drawn stronger than the row's own figure.
        assert all(
            rgba(cell["background"])[1] <= rgba(diagonal["background"])[1]
            for cell in cells
            if cell["scale"] == "borrowed"
        ), row["name"]
    assert all(len(found) == 1 for found in bases.values()), bases  # one hue per scale
    assert len({next(iter(found)) for found in bases.values()}) == 3  # three different hues
    legend = layout["legend"]
    assert legend is not None and "Own tests" in legend["text"] and "borrowed" in legend["text"]
    legend_bases = {cell["scale"]: rgba(cell["background"])[0] for cell in legend["cells"]}
    assert legend_bases == {scale: next(iter(found)) for scale, found in bases.items()}

    # Long paths wrap: no column squeezed, no row absurdly tall, every path whole.
    recommendations = layout["recommendations"]
    assert recommendations["scroll"] <= recommendations["visible"]
    assert min(recommendations["columns"]) > 80, recommendations["columns"]
    shown = [row["path"] for row in recommendations["rows"]]
    for index, relative in many_services.LONG_FILES.items():
        assert f"src/{many_services.package(index)}/{relative}" in shown  # escaped and whole
    assert max(row["height"] for row in recommendations["rows"]) <= 160, recommendations["rows"]
    assert min(row["pathWidth"] for row in recommendations["rows"]) > 160

    # The two totals, each labelled, as coverage.py's own JSON report has them.
    lines = 100.0 * truth.totals["covered_lines"] / truth.totals["num_statements"]
    both = truth.totals["percent_covered"]
    assert abs(lines - both) > 1  # they differ enough to be told apart
    totals = layout["totals"]
    assert re.search(rf"Total, lines\s+{lines:.1f}%", totals), totals
    assert re.search(
        rf"Total, lines and branches together, as coverage.py's HTML counts\s+{both:.1f}%", totals
    ), totals
    # ... and the linked page of coverage.py shows the second.
    combined_page = (reports / "html/index.html").read_text(encoding="utf-8")
    assert f'<span class="pc_cov">{truth.totals["percent_covered_display"]}%</span>' in combined_page

    screenshot(chromium, page, tmp_path, height=2400)  # the page renders to a real image
