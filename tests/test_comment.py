"""The pull-request comment (within GitHub's limit, names escaped) and badge colours."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest

from tasks.analyze.analysis import Figures, ServiceFigures
from tasks.config.manifest import Thresholds
from tasks.gate import comment
from tasks.gate.policies import FAIL, PASS, ChangedFile, Check, Verdict
from tasks.gate.verdict import GateRun, details
from tasks.report import badges


def service(name: str, covered: int, whole: int, statements: int = 100) -> ServiceFigures:
    return ServiceFigures(
        name=name,
        isolated=Figures(statements=statements, covered=covered),
        whole=Figures(statements=statements, covered=whole),
        files=(),
    )


SERVICES = (service("xp", 40, 85), service("a|uth", 90, 90))


def gate_details(verdict: Verdict) -> list[str]:
    """The gate's own Markdown details, which the comment quotes."""
    return details(GateRun(verdict=verdict, diff=None, services=SERVICES), markdown=True)


def changed(index: int, service_name: str = "xp") -> ChangedFile:
    return ChangedFile(
        path=f"src/xp/[evil](http://x)_{index}.py",
        service=service_name,
        lines=(1, 2, 3, 4),
        uncovered=(2, 3),
        uncovered_ranges=((2, 3),),
        branches=0,
        covered_branches=0,
    )


def test_comment__table_with_deltas_changed_lines_and_escaped_names() -> None:
    verdict = Verdict(
        checks=(
            Check(
                policy="changed",
                scope="changed:xp",
                metric="line",
                target=90,
                actual=50.0,
                status=FAIL,
                covered=2,
                total=4,
            ),
        ),
        changed=(changed(1),),
        unowned=("tools/<script>.py",),
    )
    baseline = {"total": Figures(statements=200, covered=180), "xp": Figures(statements=100, covered=45)}
    body = comment.build(
        SERVICES, verdict, baseline, "https://ci.example/run (1)", details=gate_details(verdict)
    )
    lines = body.splitlines()
    assert lines[0] == comment.MARKER
    assert lines[1] == "## Coverage: **fail**"
    assert "| xp | 40.0% | n/a | 85.0% | +45.0 | -5.0 | 2 of 4 (50.0%) |" in lines
    assert "| a\\|uth | 90.0% | n/a | 90.0% | +0.0 | - | - |" in lines  # no baseline for it
    assert "| **Total** | 65.0% | n/a | 87.5% | +22.5 | -2.5 | 2 of 4 (50.0%) |" in lines
    assert "- xp: src/xp/\\[evil\\]\\(http://x\\)\\_1\\.py: lines 2-3" in lines
    assert "- tools/&lt;script&gt;\\.py" in lines
    assert lines[-1] == "[Full report](https://ci.example/run%20%281%29)"
    assert "<script>" not in body and "](http://x)" not in body


@pytest.mark.parametrize("limit", [2_000, 10_000, comment.GITHUB_LIMIT])
def test_comment__thousands_of_uncovered_files_are_cut_to_the_limit(limit: int) -> None:
    many = tuple(changed(i) for i in range(5_000))
    verdict = Verdict(checks=(), changed=many, unowned=())
    body = comment.build(SERVICES, verdict, None, "index.html", details=gate_details(verdict), limit=limit)
    assert len(body) <= limit
    cut = re.search(r"^\.\.\. (\d+) more lines cut to fit GitHub's comment limit", body, re.MULTILINE)
    assert cut is not None
    listed = body.count("\n- xp: ")
    # header line "Changed lines not covered..." + listed files + the cut ones = every detail line
    assert listed + int(cut.group(1)) == len(many)
    assert "| **Total** |" in body and body.rstrip().endswith("[Full report](index.html)")


def test_comment__short_enough_is_never_cut() -> None:
    verdict = Verdict(checks=(), changed=(changed(1),), unowned=())
    body = comment.build(SERVICES, verdict, None, "index.html", details=gate_details(verdict))
    assert "cut to fit" not in body and "\\[evil\\]" in body
    assert body.splitlines()[1] == f"## Coverage: {PASS}"


@pytest.mark.parametrize(
    ("percent", "floor", "colour"),
    [
        (95.0, None, "brightgreen"),
        (90.0, 95.0, "red"),
        (85.0, None, "green"),
        (72.0, 70.0, "yellowgreen"),
        (61.0, None, "yellow"),
        (41.4, 40.0, "orange"),
        (None, 80.0, "lightgrey"),
    ],
)
def test_badge_colour__red_below_the_floor_else_the_usual_scale(
    percent: float | None, floor: float | None, colour: str
) -> None:
    assert badges.colour(percent, floor) == colour


def test_badge_svg__escapes_the_label() -> None:
    item = badges.Badge(name="x", label='a<b>&"c', message="50.0%", colour="green")
    svg = ElementTree.fromstring(badges.svg(item))  # well-formed: the label is escaped
    assert svg.get("aria-label") == 'a<b>&"c: 50.0%'
    assert [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")] == ['a<b>&"c', "50.0%"]


def test_comment__a_header_near_the_limit_never_overflows() -> None:
    many = tuple(changed(i) for i in range(50))
    verdict = Verdict(checks=(), changed=many, unowned=())
    head_only = len(
        comment.build(SERVICES, verdict, None, "index.html", limit=10**6).split("Changed lines not")[0]
    )
    for limit in range(head_only - 40, head_only + 200, 7):
        body = comment.build(SERVICES, verdict, None, "index.html", details=["x" * 30] * 20, limit=limit)
        assert len(body) <= limit, limit
    tiny = comment.build(SERVICES, verdict, None, "index.html", limit=300)
    assert len(tiny) <= 300 and "too long for a comment" in tiny


def test_dashboard_and_recommendations__hostile_paths_and_components_are_escaped() -> None:
    from tasks.report import dashboard, masking, recommend, render

    hostile = "<img src=x onerror=alert(1)>|[x](javascript:alert(1))"
    advice = recommend.Advice(
        services=(
            recommend.ServiceAdvice(
                name="xp", statements=10, missed=5, line_pct=50.0, targets=(), components=((hostile, 10, 5),)
            ),
        ),
        files=(
            recommend.FileAdvice(
                path=f"src/{hostile}.py",
                service="xp",
                component=hostile,
                statements=10,
                missed=5,
                line_pct=50.0,
                uncovered="1-5",
            ),
        ),
    )
    markdown = recommend.markdown(advice)
    assert "<img" not in markdown and "](javascript" not in markdown and "&lt;img" in markdown
    matrix = masking.MaskingMatrix(
        services=("xp",), statements={"xp": 10}, covered={("xp", "xp"): 5}, whole={"xp": 5}
    )
    row = render.Row(
        label="xp",
        isolated=Figures(statements=10, covered=5),
        whole=Figures(statements=10, covered=5),
        thresholds=Thresholds(),
    )
    page = dashboard.page_html(
        dashboard.Page(
            title=hostile,
            generated="now",
            rows=[row],
            matrix=matrix,
            advice=advice,
            trend_svg=None,
            trend_note=hostile,
            links=[(f"{hostile}.md", hostile)],
            service_links={},
            badges={},
            warnings=[hostile],
        )
    )
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
