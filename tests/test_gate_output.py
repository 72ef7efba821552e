"""The gate's renderings: annotations capped and escaped, Markdown escaped."""

from __future__ import annotations

from pathlib import Path

from tasks.config.manifest import Manifest
from tasks.gate import policies
from tasks.gate import verdict as output
from tasks.gate.policies import ChangedFile
from tests.test_policies import load, services


def run_with(tmp_path: Path, changed: list[ChangedFile]) -> tuple[output.GateRun, Manifest]:
    manifest = load(tmp_path)
    verdict = policies.evaluate(manifest, services(), changed)
    return output.GateRun(verdict=verdict, diff=None, services=tuple(services())), manifest


def test_annotations__capped_with_a_count_of_the_rest(tmp_path: Path) -> None:
    uncovered = tuple(range(1, 60, 2))  # 30 separate one-line ranges
    changed = [
        ChangedFile(
            path="repo/src/api/a,b:c.py",
            service="api",
            lines=uncovered,
            uncovered=uncovered,
            branches=0,
            covered_branches=0,
            uncovered_ranges=tuple((line, line) for line in uncovered),
        )
    ]
    result, manifest = run_with(tmp_path, changed)
    lines = output.github_annotations(result.verdict, None, manifest)
    assert len(lines) == output.ANNOTATION_CAP + 1
    assert lines[0] == (
        "::error file=repo/src/api/a%2Cb%3Ac.py,line=1,endLine=1,title=Uncovered changed lines::"
        "api: changed lines 1-1 are not covered by api's own tests"
    )
    assert lines[-1] == "::notice::20 more uncovered changed ranges; see the gate's summary."


def test_markdown__escapes_file_names(tmp_path: Path) -> None:
    changed = [
        ChangedFile(
            path="repo/src/api/<img src=x>|*.py",
            service="api",
            lines=(1,),
            uncovered=(1,),
            branches=0,
            covered_branches=0,
            uncovered_ranges=((1, 1),),
        )
    ]
    result, manifest = run_with(tmp_path, changed)
    text = output.markdown(result, manifest)
    assert "<img" not in text
    assert "&lt;img src=x&gt;\\|\\*\\.py" in text
    assert "| changed | changed:api | line | 75% | 0.0% | **fail** |" in text


def test_terminal__a_file_name_with_a_newline_never_starts_a_line_of_its_own(tmp_path: Path) -> None:
    """A changed file named `a\\n::warning::injected.py`: on GitHub Actions a line that starts
    with `::` is a workflow command; the plain listing writes the newline as an escape."""
    hostile = "repo/src/api/a\n::warning::injected.py"
    changed = [
        ChangedFile(
            path=hostile,
            service="api",
            lines=(1, 2),
            uncovered=(1, 2),
            branches=0,
            covered_branches=0,
            uncovered_ranges=((1, 2),),
        )
    ]
    result, manifest = run_with(tmp_path, changed)
    result = output.GateRun(
        verdict=policies.Verdict(
            checks=result.verdict.checks,
            changed=result.verdict.changed,
            unowned=(hostile,),
            notes=result.verdict.notes,
        ),
        diff=None,
        services=result.services,
    )
    text = output.terminal(result, manifest)
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")], text
    assert "repo/src/api/a\\x0a::warning::injected.py: lines 1-2" in text
