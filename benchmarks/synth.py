"""Generate a synthetic multi-service repository to measure the kit on.

Each service is a package under src/ with modules of functions that have branches and
loops; some functions call into the next service (so whole-suite coverage differs from
isolated coverage, as in real monorepos); each service's tests call most, not all, of its
functions, with a loop size that sets how long the tests take. Deterministic for a seed.

With git, the repository has two commits: the base on `main`, then on `change` a change
that adds a guard (two lines its tests never run) to a few percent of the functions, for
the changed-line gate to measure against `main`.

    python benchmarks/synth.py DIR --size small|medium|large
"""

from __future__ import annotations

import argparse
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Size:
    services: int
    modules: int  # per service
    functions: int  # per module
    work: int  # loop iterations per test call: how long the tests run
    tested: float  # share of functions a service's own tests call
    changed: float = 0.03  # share of functions the `change` commit touches


SIZES = {
    # Every group once, in seconds: that none breaks unseen (tests/test_bench.py), no figure.
    "tiny": Size(services=2, modules=2, functions=3, work=50, tested=0.7),
    "small": Size(services=3, modules=8, functions=8, work=6000, tested=0.7),
    "medium": Size(services=8, modules=40, functions=10, work=3000, tested=0.7),
    # About a minute of plain pytest on a 2-core machine.
    "large": Size(services=20, modules=60, functions=12, work=12000, tested=0.7),
}
# The bench's load group, whatever the size: thousands of small files, quick tests.
LOAD = Size(services=10, modules=300, functions=3, work=20, tested=0.7)


def function_source(rng: random.Random, name: str, call: str | None, *, changed: bool = False) -> str:
    a, b, c = rng.randint(2, 7), rng.randint(10, 90), rng.randint(100, 5000)
    lines = [
        f"def {name}(n, y):",
        "    total = 0",
        *(["    if n < 0:", "        raise ValueError(n)"] if changed else []),
        "    for i in range(n):",
        f"        if i % {a} == 0:",
        "            total += i * y",
        f"        elif i % {a} == 1:",
        "            total -= y",
        "        else:",
        "            total ^= i",
        f"    while total > {c * b}:",
        f"        total //= {b}",
        *([f"    total += {call}(1, 1)"] if call else []),
        f"    if total > {c}:",
        "        return total // 7",
        "    if total < 0:",
        "        return -total",
        "    return total",
    ]
    return "\n\n" + "\n".join(lines) + "\n"


def generate(root: Path, size: Size, seed: int = 1, *, git: bool = False) -> list[str]:
    """Write the repository and its manifest under `root`; the service names. With `git`,
    commit it on `main`, then the change on `change` (checked out)."""
    names = write_sources(root, size, seed, changed=set())
    (root / "conftest.py").write_text(
        "import sys\nfrom pathlib import Path\n\nsys.path.insert(0, str(Path(__file__).parent / 'src'))\n",
        encoding="utf-8",
    )
    manifest = ['[settings]\nroot = "."\n\n[gate]\nbase = "main"\n']
    for service in names:
        manifest.append(f'\n[services.{service}]\nsource = ["src/{service}"]\ntests = ["tests/{service}"]\n')
    (root / "configs").mkdir()
    (root / "configs" / "services.toml").write_text("".join(manifest), encoding="utf-8")
    if git:
        (root / ".gitignore").write_text(".coverage-data/\nreports/\n.nox/\n__pycache__/\n", encoding="utf-8")
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "base")
        _git(root, "checkout", "-q", "-b", "change")
        write_sources(root, size, seed, changed=changed_functions(size, seed))
        _git(root, "commit", "-q", "-am", "change: guard a few functions")
    return names


def changed_functions(size: Size, seed: int) -> set[tuple[int, int, int]]:
    """(service, module, function) indexes the `change` commit touches."""
    rng = random.Random(seed + 1)  # noqa: S311 (a reproducible workload, not a secret)
    everything = [
        (s, m, f) for s in range(size.services) for m in range(size.modules) for f in range(size.functions)
    ]
    return set(rng.sample(everything, max(1, round(len(everything) * size.changed))))


def write_sources(root: Path, size: Size, seed: int, changed: set[tuple[int, int, int]]) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not a secret)
    names = [f"svc{index:02d}" for index in range(size.services)]
    for position, service in enumerate(names):
        package = root / "src" / service
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text("", encoding="utf-8")
        tests = root / "tests" / service
        tests.mkdir(parents=True, exist_ok=True)
        # Calls go to the next service only, so imports never form a cycle.
        other = names[position + 1] if position + 1 < len(names) else None
        for module_index in range(size.modules):
            module = f"mod{module_index:03d}"
            imports, bodies, tested = [], [], []
            for function_index in range(size.functions):
                function = f"f{function_index:02d}"
                call = None
                if other and rng.random() < 0.1:
                    target_module = f"mod{rng.randrange(size.modules):03d}"
                    target = f"f{rng.randrange(size.functions):02d}"
                    alias = f"{other}_{target_module}_{target}"
                    imports.append(f"from {other}.{target_module} import {target} as {alias}\n")
                    call = alias
                touched = (position, module_index, function_index) in changed
                bodies.append(function_source(rng, function, call, changed=touched))
                if rng.random() < size.tested:
                    tested.append(function)
            (package / f"{module}.py").write_text("".join(dict.fromkeys(imports)) + "".join(bodies), "utf-8")
            test_lines = [f"from {service} import {module}\n"]
            for function in tested:
                test_lines.append(
                    f"\n\ndef test_{function}():\n"
                    f"    for y in (1, 3, -2):\n"
                    f"        assert {module}.{function}({size.work}, y) >= 0\n"
                )
            (tests / f"test_{service}_{module}.py").write_text("".join(test_lines), encoding="utf-8")
    return names


def _git(root: Path, *args: str) -> None:
    identity = [
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run(["git", *identity, *args], cwd=root, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--git", action="store_true", help="commit the base on main and a change on change")
    args = parser.parse_args()
    names = generate(args.root, SIZES[args.size], args.seed, git=args.git)
    print(f"wrote {len(names)} services to {args.root}")


if __name__ == "__main__":
    main()
