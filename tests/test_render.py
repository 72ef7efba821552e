"""Figures arithmetic, the terminal table, verdicts and Markdown escaping."""

from __future__ import annotations

import pytest

from tasks.analyze.analysis import Figures, ServiceFigures
from tasks.config.manifest import Thresholds
from tasks.report import render


def service(
    name: str, isolated: tuple[int, int, int, int], whole: tuple[int, int, int, int]
) -> ServiceFigures:
    def figures(counts: tuple[int, int, int, int]) -> Figures:
        return Figures(
            statements=counts[0], covered=counts[1], branches=counts[2], covered_branches=counts[3]
        )

    return ServiceFigures(name=name, isolated=figures(isolated), whole=figures(whole), files=())


def test_figures__percentages_and_sum() -> None:
    a = Figures(statements=10, covered=4, branches=4, covered_branches=1)
    b = Figures(statements=30, covered=30, branches=0, covered_branches=0)
    total = a + b
    assert total == Figures(statements=40, covered=34, branches=4, covered_branches=1)
    assert total.line_pct == pytest.approx(85.0)
    assert total.branch_pct == pytest.approx(25.0)
    assert total.missed == 6
    assert Figures().line_pct is None and Figures().branch_pct is None


@pytest.mark.parametrize(
    ("thresholds", "isolated", "expected"),
    [
        (Thresholds(), (10, 5, 2, 1), "-"),
        (Thresholds(line=50), (10, 5, 2, 1), "ok"),
        (Thresholds(line=50.5), (10, 5, 2, 1), "below: line < 50.5%"),
        (Thresholds(line=40, branch=60), (10, 5, 2, 1), "below: branch < 60%"),
        (Thresholds(line=60, branch=60), (10, 5, 2, 1), "below: line < 60%, branch < 60%"),
        (Thresholds(branch=60), (10, 5, 0, 0), "ok"),  # no branches: nothing to miss
        (Thresholds(line=60), (0, 0, 0, 0), "below: no statements measured"),
    ],
)
def test_verdict__service_floors_apply_to_isolated_figures(
    thresholds: Thresholds, isolated: tuple[int, int, int, int], expected: str
) -> None:
    row = render.rows([service("api", isolated, (10, 10, 2, 2))], {"api": thresholds}, Thresholds())[0]
    assert render.verdict(row) == expected


def test_rows__total_sums_services_and_uses_whole_suite_for_its_floor() -> None:
    services = [
        service("xp", (100, 30, 10, 2), (100, 90, 10, 9)),
        service("auth", (50, 45, 4, 4), (50, 45, 4, 4)),
    ]
    table = render.rows(services, {"xp": Thresholds(), "auth": Thresholds()}, Thresholds(line=85))
    total = table[-1]
    assert total.label == "Total" and total.is_total
    assert total.isolated == Figures(statements=150, covered=75, branches=14, covered_branches=6)
    assert total.whole.covered == 135
    assert render.verdict(total) == "ok"  # 90% whole-suite, although 50% isolated
    assert table[0].gap == pytest.approx(60.0)
    assert table[1].gap == pytest.approx(0.0)


def test_rows__services_listed_sorted_as_text_are_shown_in_natural_order() -> None:
    figures = (10, 5, 0, 0)
    listed = ["svc1", "svc10", "svc100", "svc11", "svc2", "svc20", "svc3"]
    services = [service(name, figures, figures) for name in listed]
    table = render.rows(services, dict.fromkeys(listed, Thresholds()), Thresholds())
    assert [row.label for row in table] == [
        "svc1",
        "svc2",
        "svc3",
        "svc10",
        "svc11",
        "svc20",
        "svc100",
        "Total",
    ]
    # Any other order is the manifest's own, kept: xp, auth, discord stays so.
    chosen = [service(name, figures, figures) for name in ("xp", "auth", "discord")]
    table = render.rows(chosen, dict.fromkeys(("xp", "auth", "discord"), Thresholds()), Thresholds())
    assert [row.label for row in table] == ["xp", "auth", "discord", "Total"]


def test_terminal_table__columns_and_masking_summary() -> None:
    services = [
        service("xp", (100, 30, 10, 2), (100, 90, 10, 9)),
        service("auth", (50, 45, 4, 4), (50, 45, 4, 4)),
    ]
    table = render.rows(services, {"xp": Thresholds(line=40), "auth": Thresholds()}, Thresholds())
    text = render.terminal_table(table)
    lines = text.splitlines()
    assert lines[0].split() == [
        "Service",
        "Stmts",
        "Miss",
        "Line",
        "Branch",
        "Whole-suite",
        "Gap",
        "Thresholds",
    ]
    assert lines[2].split() == [
        "xp",
        "100",
        "70",
        "30.0%",
        "20.0%",
        "90.0%",
        "+60.0",
        "below:",
        "line",
        "<",
        "40%",
    ]
    assert lines[-1].split()[:7] == ["Total", "150", "75", "50.0%", "42.9%", "90.0%", "+40.0"]
    summary = render.masking_summary(table)
    assert "Masking gap for xp: its own tests cover 30.0% of its lines, the whole suite 90.0%" in summary
    assert "No masking for auth" in summary


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain_name", "plain\\_name"),
        ("a|b", "a\\|b"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
        ("[x](http://e)", "\\[x\\]\\(http://e\\)"),
        ("`code` *b*", "\\`code\\` \\*b\\*"),
        ("two\nlines", "two lines"),
        ("no baseline for 'main' & \"x\"", "no baseline for 'main' &amp; \"x\""),
    ],
)
def test_md_escape__names_cannot_inject_markup(raw: str, escaped: str) -> None:
    assert render.md_escape(raw) == escaped


def test_markdown_table__renders_a_table_with_escaped_names() -> None:
    table = render.rows([service("a|b", (10, 5, 0, 0), (10, 8, 0, 0))], {"a|b": Thresholds()}, Thresholds())
    text = render.markdown_table(table)
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) == 4  # header, alignment, one service, total
    assert all(line.count("|") - line.count("\\|") == 9 for line in lines)
    assert "| a\\|b | 10 | 5 | 50.0% | n/a | 80.0% | +30.0 | \\- |" in text


def test_md_code__any_text_stays_literal() -> None:
    from tasks.report.render import md_code

    assert md_code("reports/a.log") == "`reports/a.log`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x``") == "``` `x`` ```"
    assert md_code("<img src=x>|*y*\nz") == "`<img src=x>|*y* z`"


def test_columns__a_cell_too_long_for_the_width_goes_whole_and_its_row_goes_on_below() -> None:
    name = "a-service-name-far-too-long-to-share-a-line-with-its-figures"
    rows = [("Service", "Stmts", "Line"), ("short", "40", "55.0%"), (name, "160", "33.8%")]
    lines = render.columns(rows, right=(1, 2), wrap=(0,), width=40)
    assert lines == [
        "Service  Stmts   Line",
        "---------------------",
        "short       40  55.0%",
        name,
        "           160  33.8%",
    ]
    assert render.columns(rows, right=(1, 2), wrap=(0,)) == render.columns(rows, right=(1, 2))  # fits 120


def test_fold__at_spaces_under_the_line_it_continues_and_never_inside_a_word() -> None:
    from tasks.text import fold

    path = "src/" + "x" * 150 + ".py"
    text = "  " + " ".join(f"svc{n:02d}," for n in range(40)) + f" then {path} ends"
    folded = fold(text, width=60).split("\n")
    assert all(len(line) <= 60 for line in folded if path not in line)
    assert [line for line in folded if path in line] == [f"    {path}"]  # whole, on a line of its own
    assert all(line.startswith("    ") for line in folded[1:])
    assert " ".join(" ".join(folded).split()) == " ".join(text.split())  # nothing lost or added
