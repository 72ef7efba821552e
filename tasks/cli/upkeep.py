"""Commands of the weekly upkeep: maintenance, audit, and collect (which adopt runs too)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, TextIO

from ..config.manifest import Manifest
from ..errors import EXIT_CONFIG, EXIT_FAILED, EXIT_OK


def add_maintenance(commands: Any) -> None:
    maintenance = commands.add_parser(
        "maintenance",
        help="retention, history compaction, audit, tool versions, weekly digest (nox -s maintenance)",
        description="The weekly upkeep; writes reports/maintenance/digest.md (and the job summary on "
        "GitHub Actions). Exit 1 when the audit finds an error. See docs/maintenance.md.",
        allow_abbrev=False,
    )
    maintenance.add_argument(
        "--dry-run", action="store_true", help="list what retention would remove; remove nothing"
    )
    _branch_option(maintenance)


def add_prune_envs(commands: Any) -> None:
    prune = commands.add_parser(
        "prune-envs",
        help="remove the kit's environments no session uses any more (nox -s prune-envs, maintenance)",
        description="Remove the environments in nox's folder that the kit built for install lists the "
        "manifest no longer has, and say how much space that freed. The nox sessions pass the folder "
        "and the environments in use. See docs/maintenance.md.",
        allow_abbrev=False,
    )
    prune.add_argument("--envdir", required=True, type=Path, help="nox's folder of environments (.nox)")
    prune.add_argument(
        "--current",
        action="append",
        default=[],
        metavar="NAME",
        help="an environment session in use (repeatable)",
    )
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")


def handle_prune_envs(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..upkeep import environments_prune

    found = environments_prune.stale(args.envdir, set(args.current))
    if not args.dry_run:
        environments_prune.remove(found, args.envdir)
    for line in environments_prune.describe(found, args.envdir, dry_run=args.dry_run):
        print(line, file=out)
    return EXIT_OK


def add_audit(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="check the configuration for masking-prone settings (nox -s audit)",
        description="Report settings that bring coverage masking back or make figures lie, each with "
        "why and the fix. Exit 1 when one is an error.",
        allow_abbrev=False,
    )
    _branch_option(audit)


def _branch_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--branch", help="the branch whose history and baseline count (default: the one gate.base names)"
    )


def handle_maintenance(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    import datetime

    from ..gate import gitdiff
    from ..measure import datafiles
    from ..upkeep import audit, digest, maintenance
    from ..upkeep.findings import ERROR

    now = datetime.datetime.now(datetime.UTC)
    branch = args.branch or gitdiff.branch_of(manifest.project_dir, manifest.gate.base)
    removed = maintenance.expired(manifest, now)
    if not args.dry_run:
        maintenance.remove(removed)
    thinned = maintenance.thin_history(manifest, dry_run=args.dry_run)
    baseline = maintenance.baseline_snapshot(manifest, branch)
    findings = audit.audit(manifest, maintenance.baseline_figures(baseline))
    page = digest.Digest(
        now=now,
        removed=removed,
        thinned=thinned,
        findings=findings,
        tool_list=maintenance.tools(manifest),
        this_week=maintenance.week(manifest, branch, now),
        core_note=maintenance.core_change(baseline, branch),
        dry_run=args.dry_run,
    )
    text = digest.digest(manifest, page, digest.MARKDOWN)
    target = manifest.reports_dir / maintenance.DIGEST
    with datafiles.atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(text)
    # The terminal gets the same page in plain text: Markdown's escapes are noise there.
    print(digest.digest(manifest, page, digest.PLAIN), file=out)
    print(f"digest written to {manifest.display(target)}", file=out)
    return EXIT_FAILED if any(f.severity == ERROR for f in findings) else EXIT_OK


def handle_audit(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..gate import gitdiff
    from ..upkeep import audit, maintenance
    from ..upkeep.findings import ERROR

    branch = args.branch or gitdiff.branch_of(manifest.project_dir, manifest.gate.base)
    baseline = maintenance.baseline_snapshot(manifest, branch)
    findings = audit.audit(manifest, maintenance.baseline_figures(baseline))
    for finding in findings:
        print("\n".join(audit.as_text(finding)), file=out)  # repository text escaped in it
    errors = sum(f.severity == ERROR for f in findings)
    plural = "" if len(findings) == 1 else "s"
    print(f"{len(findings)} finding{plural}, {errors} at error severity.", file=out)
    return EXIT_FAILED if errors else EXIT_OK


def add_collect(commands: Any) -> None:
    collect = commands.add_parser(
        "collect",
        help="collect each service's tests in its own environment (nox -s collect)",
        description="Run pytest's collection for each service (default: all) with its manifest's "
        "options, in the environment its coverage-<service> session uses. Exit 2 when one cannot "
        "collect, naming pytest's error and the manifest setting behind it. adopt runs it.",
        allow_abbrev=False,
    )
    collect.add_argument("services", nargs="*", help="only these services (default: every service)")


def handle_collect(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..measure import outcomes
    from ..upkeep import audit_layout

    found = audit_layout.collections(manifest, args.services or manifest.names)
    failed = 0
    width = max(len(service.name) for service in found)
    for service, result in found.items():
        if isinstance(result, str):
            failed += 1
            key = outcomes.key_behind(manifest.path, service.name, result)
            print(f"{service.name:<{width}}  CANNOT COLLECT: {outcomes.one_line(result, 160)}", file=out)
            print(
                f"{'':<{width}}  the setting behind it: {key} in {manifest.display(manifest.path)}", file=out
            )
        else:
            count = result["tests"]
            print(f"{service.name:<{width}}  {count} test{'' if count == 1 else 's'}", file=out)
    print(f"{len(found) - failed} of {len(found)} services collect.", file=out)
    return EXIT_CONFIG if failed else EXIT_OK
