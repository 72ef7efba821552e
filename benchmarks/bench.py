"""Measure the kit side by side on a synthetic repository (nox -s bench).

Every variant runs in the same invocation, alternating (variant order rotates each round),
several times; the table gives the median wall time, the min-max, the ratio to the
reference variant and the peak memory of the largest process. Results go to
reports/bench/bench-<size>.json and .md with the commit, so runs can be compared.

This machine may set PYTHONDONTWRITEBYTECODE=1, which makes every run recompile every
module; the measured processes run with it unset (and one warm-up run writes the
bytecode), and the header says so.

    python benchmarks/bench.py --size small --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import synth  # the sibling script: run as `python benchmarks/bench.py`, its folder is on sys.path

KIT = Path(__file__).resolve().parent.parent
# Runs the commands given as JSON argv lists, one after another, in a child process whose
# RUSAGE_CHILDREN then holds the peak RSS of the largest process among them (kB on Linux).
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
for argv in json.loads(sys.argv[1]):
    status = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if status:
        sys.exit(f"exit {status}: {argv}")
print(json.dumps([time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))
"""


@dataclass(frozen=True)
class Variant:
    name: str
    commands: list[list[str]]
    reference: str  # the variant its ratio is taken against


@dataclass(frozen=True)
class Result:
    name: str
    seconds: list[float]
    peak_mib: float
    reference: str

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


SEQUENTIAL = "every service, one after another"


def variants(services: list[str], cores: int) -> list[Variant]:
    kit = [sys.executable, "-m", "tasks"]
    first = services[0]
    alone = f"{first} alone, one process"
    classic = f"{first}: classic coverage run of its own source"
    return [
        Variant(
            "plain pytest, no coverage",
            [[sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]],
            SEQUENTIAL,
        ),
        Variant(SEQUENTIAL, [[*kit, "run", name] for name in services], SEQUENTIAL),
        Variant(
            f"every service, {cores} side by side",
            [[*kit, "run-all", "--jobs", str(cores)]],
            SEQUENTIAL,
        ),
        Variant(
            f"every service in 2 shards, {cores} side by side",
            [[*kit, "run-all", "--jobs", str(cores), "--shards", "2"]],
            SEQUENTIAL,
        ),
        Variant(alone, [[*kit, "run", first]], alone),
        Variant(
            f"{first} in {cores} shards side by side",
            [[*kit, "run-all", first, "--jobs", str(cores), "--shards", str(cores)]],
            alone,
        ),
        Variant(
            f"{first} with {cores} xdist workers",
            [[*kit, "run", first, "--workers", str(cores)]],
            alone,
        ),
        # What the masking matrix costs: the kit's runs measure every service's sources under
        # a static context; a classic run measures only the service's own. Both run plain
        # `coverage run` here, so the kit's own work (start-up, merging the data) is apart.
        Variant(classic, classic_run(first, [first]), classic),
        Variant(
            f"{first}: the same over every service's sources, with a context (what the matrix needs)",
            classic_run(first, services, context=first),
            classic,
        ),
    ]


def classic_run(service: str, measured: list[str], context: str | None = None) -> list[list[str]]:
    sources = ",".join(f"src/{name}" for name in measured)
    argv = [sys.executable, "-m", "coverage", "run", "--rcfile=/dev/null", "--branch", f"--source={sources}"]
    if context:
        argv.append(f"--context={context}")
    argv += ["--data-file=.coverage-data/classic", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return [[*argv, f"tests/{service}"]]


def measure(repo: Path, variant: Variant, env: dict[str, str]) -> tuple[float, float]:
    shutil.rmtree(repo / ".coverage-data", ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(variant.commands)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"{variant.name}: {proc.stderr.strip()}")
    seconds, peak_kb = json.loads(proc.stdout)
    return float(seconds), peak_kb / 1024


def run(size_name: str, repeat: int, out_dir: Path) -> dict[str, object]:
    size = synth.SIZES[size_name]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    env = dict(os.environ)
    bytecode_note = (
        "PYTHONDONTWRITEBYTECODE unset for the measured processes (it is set in this shell)"
        if env.pop("PYTHONDONTWRITEBYTECODE", None)
        else "PYTHONDONTWRITEBYTECODE not set"
    )
    env["PYTHONPATH"] = str(KIT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        repo = Path(scratch) / "repo"
        services = synth.generate(repo, size)
        chosen = variants(services, cores)
        measure(repo, chosen[0], env)  # warm-up: bytecode written, caches filled, not counted
        times: dict[str, list[float]] = {v.name: [] for v in chosen}
        peaks: dict[str, float] = dict.fromkeys(times, 0.0)
        for round_index in range(repeat):
            shift = round_index % len(chosen)
            for variant in chosen[shift:] + chosen[:shift]:
                seconds, peak = measure(repo, variant, env)
                times[variant.name].append(seconds)
                peaks[variant.name] = max(peaks[variant.name], peak)
    results = [Result(v.name, times[v.name], peaks[v.name], v.reference) for v in chosen]
    medians = {r.name: r.median for r in results}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=KIT, capture_output=True, text=True, check=False
    ).stdout.strip()
    report = {
        "size": size_name,
        "shape": asdict(size),
        "repeat": repeat,
        "cores": cores,
        "bytecode": bytecode_note,
        "commit": commit or "unknown",
        "python": sys.version.split()[0],
        "results": [
            {**asdict(r), "median": r.median, "ratio": r.median / medians[r.reference]} for r in results
        ],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"bench-{size_name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / f"bench-{size_name}.md").write_text(markdown(report), encoding="utf-8")
    return report


def markdown(report: dict[str, object]) -> str:
    shape = report["shape"]
    assert isinstance(shape, dict)
    head = (
        f"Bench `{report['size']}` ({shape['services']} services x {shape['modules']} modules x "
        f"{shape['functions']} functions), {report['repeat']} rounds alternating, {report['cores']} cores, "
        f"Python {report['python']}, commit {report['commit']}; {report['bytecode']}.\n\n"
    )
    rows = ["| variant | median | min-max | ratio | vs | peak RSS |", "|---|---:|---:|---:|---|---:|"]
    results = report["results"]
    assert isinstance(results, list)
    for r in results:
        rows.append(
            f"| {r['name']} | {r['median']:.2f} s | {min(r['seconds']):.2f}-{max(r['seconds']):.2f} s | "
            f"{r['ratio']:.2f}x | {r['reference']} | {r['peak_mib']:.0f} MiB |"
        )
    return head + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(synth.SIZES), default="small")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=KIT / "reports" / "bench")
    args = parser.parse_args()
    report = run(args.size, max(1, args.repeat), args.out)
    print(markdown(report), end="")
    print(f"\nwrote {args.out / f'bench-{args.size}.json'} and .md")


if __name__ == "__main__":
    main()
