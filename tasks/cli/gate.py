"""Commands that judge: gate, and stability (the flaky lines the gate forgives)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, TextIO

from ..config import manifest as manifest_module
from ..config.manifest import Manifest
from ..errors import EXIT_FAILED, EXIT_OK, ConfigError
from .shared import add_allow_stale


def add_stability(commands: Any) -> None:
    stability = commands.add_parser(
        "stability",
        help="run a service's tests several times and list lines covered differently (nox -s stability)",
        description="Run SERVICE's tests --runs times under coverage, recording each test's name, and "
        "list the lines whose coverage differs between runs. Further arguments go to pytest.",
        allow_abbrev=False,
    )
    stability.add_argument("service")
    stability.add_argument("--runs", type=int, default=2, metavar="N", help="runs to compare (default 2)")


def add_gate(commands: Any) -> None:
    gate = commands.add_parser(
        "gate",
        help="fail when coverage breaks a policy (nox -s gate)",
        description="Evaluate the total, service, file and changed-line policies of the manifest.",
        allow_abbrev=False,
    )
    gate.add_argument(
        "--base", help="git ref whose merge-base the change is measured from (default: gate.base)"
    )
    gate.add_argument("--staged", action="store_true", help="changed lines = the staged changes (pre-commit)")
    add_allow_stale(gate)
    gate.add_argument(
        "--allow-missing",
        action="store_true",
        help="judge data combined without some services (combine --allow-missing); by default the gate "
        "then fails, INCOMPLETE",
    )
    gate.add_argument(
        "--exclude-untracked",
        action="store_true",
        help="leave out files not yet added to git (by default every line of them counts as changed)",
    )
    gate.add_argument(
        "--report-url",
        metavar="URL",
        help="the full report's address for the pull-request comment (default: the Actions run on CI)",
    )
    gate.add_argument(
        "--policy",
        dest="policies",
        action="append",
        choices=manifest_module.POLICIES,
        help="evaluate only these policies (repeatable); default: all that are not off",
    )


def handle_stability(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..gate import stability

    result = stability.measure(manifest, args.service, args.runs, extra, out)
    print(stability.terminal(manifest, result), file=out)
    return EXIT_OK if result.steady else EXIT_FAILED


def handle_gate(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..gate import gate, policies, verdict
    from ..history import regression

    result = gate.run(
        manifest,
        base=args.base,
        staged=args.staged,
        only=args.policies,
        baseline_of=regression.baseline_figures,
        include_untracked=not args.exclude_untracked,
        allow_stale=args.allow_stale,
        allow_missing=args.allow_missing,
    )
    written = verdict.write_outputs(result, manifest, out, link=args.report_url)
    print(f"verdict written to {manifest.display(written)}", file=out)
    return EXIT_FAILED if result.verdict.status == policies.FAIL else EXIT_OK


def add_affected(commands: Any) -> None:
    affected = commands.add_parser(
        "affected",
        help="the services a change can alter, each with why (nox -s affected -- --base REF)",
        description="List the services whose figures the change since the merge-base of --base can "
        "alter, from what each service's data says its tests ran; the others' data is carried forward. "
        "See docs/affected.md.",
        allow_abbrev=False,
    )
    affected.add_argument(
        "--base", help="git ref whose merge-base the change is measured from (default: gate.base)"
    )
    form = affected.add_mutually_exclusive_group()
    form.add_argument(
        "--json", action="store_true", help="print an object with affected, carried and reasons"
    )
    form.add_argument(
        "--github-output",
        action="store_true",
        help="append the matrix of the affected services' shards (from nox's listing) to $GITHUB_OUTPUT",
    )
    affected.add_argument(
        "--listing",
        default="-",
        metavar="FILE",
        help="with --github-output: nox's JSON listing (default: stdin)",
    )
    affected.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="the folder of the base's per-service data files (default: the manifest's data_dir)",
    )


def handle_affected(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..gate import affected

    reading = manifest
    if args.data is not None:
        if not args.data.is_dir():
            raise ConfigError(f"--data {args.data}: no such folder (where the base's data files were put).")
        reading = dataclasses.replace(manifest, data_dir=args.data.resolve())
    found = affected.find(reading, args.base or manifest.gate.base)
    if args.json:
        print(affected.as_json(manifest, found), file=out)
        return EXIT_OK
    for line in affected.as_text(manifest, found):
        print(line, file=out)
    if args.github_output:
        from .measure import write_matrix_outputs

        chosen = found.services(manifest)
        write_matrix_outputs(
            manifest,
            args.listing,
            only=chosen,
            extra={
                "affected": json.dumps(chosen),
                "carried": json.dumps(found.carried(manifest)),
                "everything": "; ".join(found.everything),
            },
            out=out,
        )
    return EXIT_OK
