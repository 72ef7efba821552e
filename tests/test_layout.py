"""The package layout, read from the AST of every module under tasks/: imports run one way
through the pipeline's stages, never in a cycle, always relative; modules stay small."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections import deque
from dataclasses import dataclass
from importlib import metadata
from itertools import pairwise
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import KIT, write_files

TASKS = KIT / "tasks"
# The stages of the pipeline, lowest first: a stage may use its own and the ones before it.
STAGES = (
    "errors",
    "text",
    "config",
    "measure",
    "analyze",
    "report",
    "gate",
    "history",
    "upkeep",
    "adopt",
    "cli",
    "__main__",
)
MAX_LINES = 400
MAX_TOP_LEVEL_FILES = 5
MIN_SUBPACKAGES = 5


@dataclass(frozen=True)
class Import:
    """One import statement of a package module, with the package modules it loads."""

    module: str  # the importing module, dotted: tasks.config.manifest
    where: str  # path:line
    text: str  # the statement written out on one line
    targets: tuple[str, ...]  # the package modules it names, resolved (a package is its __init__)
    absolute: bool  # names the package by its own name, which breaks once vendored under another
    escapes: bool  # a relative import reaching above the package


def python_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def module_name(root: Path, path: Path) -> str:
    """tasks/config/manifest.py is tasks.config.manifest; tasks/config/__init__.py is tasks.config."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage(module: str) -> str:
    """The first component under the package; the package's own __init__ ranks lowest."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else STAGES[0]


def is_module(root: Path, parts: list[str]) -> bool:
    """Whether the dotted name is a module or package of the package, not an attribute of one."""
    path = root.joinpath(*parts[1:])
    return path.is_dir() or (path.parent / f"{path.name}.py").is_file()


def targets(root: Path, base: list[str], names: list[str]) -> tuple[str, ...]:
    """`from BASE import NAME...`: NAME when it is a submodule of BASE, else BASE itself."""
    found = []
    for name in names:
        candidate = [*base, name]
        found.append(".".join(candidate if name != "*" and is_module(root, candidate) else base))
    return tuple(dict.fromkeys(found))


def statement(root: Path, path: Path, node: ast.Import | ast.ImportFrom) -> Import | None:
    """The import as seen by the layout, or None when it names nothing of the package."""
    shown = f"{path.relative_to(root.parent).as_posix()}:{node.lineno}"
    own = root.name
    # The package a relative import starts from: the module's folder (for __init__ too).
    package = [own, *path.parent.relative_to(root).parts]
    module = module_name(root, path)
    text = ast.unparse(node)
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names if alias.name.split(".")[0] == own]
        if not names:
            return None
        return Import(module, shown, text, tuple(names), absolute=True, escapes=False)
    names = [alias.name for alias in node.names]
    dotted = node.module.split(".") if node.module else []
    if node.level == 0:
        if dotted[0] != own:
            return None
        return Import(module, shown, text, targets(root, dotted, names), absolute=True, escapes=False)
    if node.level > len(package):
        return Import(module, shown, text, (), absolute=False, escapes=True)
    base = package[: len(package) - node.level + 1] + dotted
    return Import(module, shown, text, targets(root, base, names), absolute=False, escapes=False)


def imports(root: Path) -> list[Import]:
    """Every import statement of every module, in file and line order. All of them count: one
    inside a function or under `if TYPE_CHECKING:` is as much a dependency as one at the top."""
    found: list[Import] = []
    for path in python_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        nodes = sorted(
            (node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)),
            key=lambda node: (node.lineno, node.col_offset),
        )
        found.extend(seen for node in nodes if (seen := statement(root, path, node)) is not None)
    return found


def import_graph(root: Path) -> dict[str, dict[str, Import]]:
    """Module -> imported module -> the first statement that imports it."""
    graph: dict[str, dict[str, Import]] = {module_name(root, path): {} for path in python_files(root)}
    for seen in imports(root):
        for target in seen.targets:
            if target != seen.module:  # a module naming itself loads nothing new
                graph[seen.module].setdefault(target, seen)
    return graph


def upward_imports(root: Path = TASKS) -> list[str]:
    found = []
    for seen in imports(root):
        own = stage(seen.module)
        if own not in STAGES:
            continue  # an unknown stage has no rank; shape_problems reports it
        higher = [
            stage(target)
            for target in seen.targets
            if stage(target) in STAGES and STAGES.index(stage(target)) > STAGES.index(own)
        ]
        if higher:
            found.append(f"{seen.where}: {seen.text} ({own} -> {', '.join(dict.fromkeys(higher))})")
    return found


def strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's components, each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, {})):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def shortest_cycle(graph: dict[str, dict[str, Import]], start: str, within: set[str]) -> list[str]:
    """A shortest way from `start` back to itself inside one component (breadth first)."""
    paths = deque([[start]])
    seen = {start}
    while paths:
        path = paths.popleft()
        for target in sorted(graph.get(path[-1], {})):
            if target == start:
                return [*path, start]
            if target in within and target not in seen:
                seen.add(target)
                paths.append([*path, target])
    raise AssertionError(f"{start} is in no cycle of {sorted(within)}")


def import_cycles(root: Path = TASKS) -> list[str]:
    """One cycle per tangle of modules that import each other, with the statements that close it;
    the tangle's other members are named too, since breaking one cycle may leave another."""
    graph = import_graph(root)
    found = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        cycle = shortest_cycle(graph, component[0], set(component))
        statements = "; ".join(f"{graph[a][b].where}: {graph[a][b].text}" for a, b in pairwise(cycle))
        rest = sorted(set(component) - set(cycle))
        tangled = f"; also tangled with {', '.join(rest)}" if rest else ""
        found.append(f"{' -> '.join(cycle)} ({statements}){tangled}")
    return found


def absolute_imports(root: Path = TASKS) -> list[str]:
    found = []
    for seen in imports(root):
        if seen.absolute:
            found.append(f"{seen.where}: {seen.text}")
        elif seen.escapes:
            found.append(f"{seen.where}: {seen.text} (reaches above the package)")
    return found


def shape_problems(root: Path = TASKS) -> list[str]:
    files = python_files(root)
    shown = root.name
    found = []
    for path in files:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append(f"{path.relative_to(root.parent).as_posix()}: {lines} lines, at most {MAX_LINES}")
    top_level = [path for path in files if path.parent == root]
    if len(top_level) > MAX_TOP_LEVEL_FILES:
        found.append(f"{shown}/: {len(top_level)} .py files directly inside, at most {MAX_TOP_LEVEL_FILES}")
    subpackages = [folder for folder in root.iterdir() if (folder / "__init__.py").is_file()]
    if len(subpackages) < MIN_SUBPACKAGES:
        found.append(f"{shown}/: {len(subpackages)} subpackages, at least {MIN_SUBPACKAGES}")
    # Every file's stage, not only every subpackage's: a stray top-level module has no rank either.
    unknown = {path.relative_to(root).parts[0]: stage(module_name(root, path)) for path in files}
    for entry, name in sorted(unknown.items()):
        if name not in STAGES:
            found.append(f"{shown}/{entry}: stage {name!r} is not one of STAGES")
    return found


def assert_saw_the_package() -> None:
    """An empty or misplaced scan finds no problem; these counts say it read the real package."""
    graph = import_graph(TASKS)
    assert len(graph) >= 30
    assert sum(len(targets) for targets in graph.values()) >= 100


def test_imports__run_one_way() -> None:
    assert upward_imports() == []
    assert_saw_the_package()


def test_imports__form_no_cycle() -> None:
    assert import_cycles() == []
    assert_saw_the_package()


def test_imports__are_relative_inside_the_package() -> None:
    assert absolute_imports() == []
    assert_saw_the_package()


def test_modules__are_small_and_in_known_stages() -> None:
    assert shape_problems() == []
    assert_saw_the_package()


@pytest.mark.parametrize(
    ("path", "module", "expected_stage"),
    [
        ("tasks/__init__.py", "tasks", "errors"),
        ("tasks/errors.py", "tasks.errors", "errors"),
        ("tasks/__main__.py", "tasks.__main__", "__main__"),
        ("tasks/config/__init__.py", "tasks.config", "config"),
        ("tasks/config/manifest.py", "tasks.config.manifest", "config"),
        ("tasks/report/html/page.py", "tasks.report.html.page", "report"),
    ],
)
def test_module_name__and_stage(path: str, module: str, expected_stage: str) -> None:
    assert module_name(Path("/kit/tasks"), Path("/kit") / path) == module
    assert stage(module) == expected_stage


# A fake package to resolve imports against: what exists decides submodule or attribute.
RESOLVED = {
    "tasks/__init__.py": "",
    "tasks/errors.py": "",
    "tasks/config/__init__.py": "",
    "tasks/config/manifest.py": "",
    "tasks/measure/__init__.py": "",
    "tasks/measure/runner.py": "",
    "tasks/measure/sub/__init__.py": "",
    "tasks/gate/__init__.py": "",
    "tasks/gate/policies.py": "",
}


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("tasks/config/layout.py", "from . import manifest", ("tasks.config.manifest",)),
        ("tasks/config/layout.py", "from . import TOTAL", ("tasks.config",)),  # an attribute of config
        ("tasks/config/__init__.py", "from . import manifest", ("tasks.config.manifest",)),
        (
            "tasks/gate/gate.py",
            "from ..measure import runner, sub",
            ("tasks.measure.runner", "tasks.measure.sub"),
        ),
        (
            "tasks/gate/gate.py",
            "from ..measure import runner, Options",
            ("tasks.measure.runner", "tasks.measure"),
        ),
        ("tasks/gate/gate.py", "from .policies import FAIL", ("tasks.gate.policies",)),
        ("tasks/gate/gate.py", "from ..measure.runner import *", ("tasks.measure.runner",)),
        ("tasks/gate/gate.py", "from .. import errors", ("tasks.errors",)),
        ("tasks/__main__.py", "from . import errors", ("tasks.errors",)),
        ("tasks/gate/gate.py", "from tasks.config import manifest", ("tasks.config.manifest",)),
        ("tasks/gate/gate.py", "import tasks.config.manifest", ("tasks.config.manifest",)),
    ],
)
def test_statement__resolves_to_package_modules(
    tmp_path: Path, path: str, source: str, expected: tuple[str, ...]
) -> None:
    write_files(tmp_path, RESOLVED)
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    seen = statement(tmp_path / "tasks", tmp_path / path, node)
    assert seen is not None
    assert seen.targets == expected


@pytest.mark.parametrize(
    "source", ["import os", "from os import path", "import tasksx", "from tasksx import y"]
)
def test_statement__ignores_other_packages(tmp_path: Path, source: str) -> None:
    write_files(tmp_path, RESOLVED)
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    assert statement(tmp_path / "tasks", tmp_path / "tasks/gate/gate.py", node) is None


FAKE = {
    "tasks/__init__.py": "",
    "tasks/errors.py": "class KitError(Exception): ...\n",
    "tasks/config/__init__.py": "",
    "tasks/report/__init__.py": "",
}


# Each case plants one kind of problem; every checker must find exactly what was planted there
# (and nothing in the imports beside it that the layout allows).
@pytest.mark.parametrize(
    ("files", "upward", "cycles", "absolute"),
    [
        pytest.param(
            {
                "tasks/config/x.py": """
                    from typing import TYPE_CHECKING

                    from ..errors import KitError
                    from ..report import y
                    from .. import errors, report

                    if TYPE_CHECKING:
                        from ..report.y import Y

                    def later() -> None:
                        from ..report import y
                    """,
                "tasks/report/y.py": "from ..errors import KitError\n",  # a lower stage: allowed
            },
            [
                "tasks/config/x.py:4: from ..report import y (config -> report)",
                "tasks/config/x.py:5: from .. import errors, report (config -> report)",
                "tasks/config/x.py:8: from ..report.y import Y (config -> report)",
                "tasks/config/x.py:11: from ..report import y (config -> report)",
            ],
            [],
            [],
            id="upward-import",
        ),
        pytest.param(
            {
                "tasks/report/a.py": "from . import b\n",
                "tasks/report/b.py": "def later() -> None:\n    from .a import A\n",
                "tasks/report/c.py": "from . import a\n",  # imports into the cycle, not part of it
            },
            [],
            [
                "tasks.report.a -> tasks.report.b -> tasks.report.a "
                "(tasks/report/a.py:1: from . import b; tasks/report/b.py:2: from .a import A)"
            ],
            [],
            id="cycle",
        ),
        pytest.param(
            {
                "tasks/config/x.py": "from ... import outside\n",
                "tasks/report/z.py": """
                    import os
                    import tasksx
                    from tasks.config import x
                    import tasks.errors
                    from ..config import x as same
                    """,
            },
            [],
            [],
            [
                "tasks/config/x.py:1: from ... import outside (reaches above the package)",
                "tasks/report/z.py:3: from tasks.config import x",
                "tasks/report/z.py:4: import tasks.errors",
            ],
            id="absolute-import",
        ),
    ],
)
def test_checkers__find_exactly_the_planted_imports(
    tmp_path: Path, files: dict[str, str], upward: list[str], cycles: list[str], absolute: list[str]
) -> None:
    write_files(tmp_path, {**FAKE, **files})
    root = tmp_path / "tasks"
    assert upward_imports(root) == upward
    assert import_cycles(root) == cycles
    assert absolute_imports(root) == absolute


def test_import_cycles__name_the_rest_of_a_tangle(tmp_path: Path) -> None:
    """a <-> b and b <-> c: one component; its shortest cycle is reported, and c beside it."""
    write_files(
        tmp_path,
        {
            **FAKE,
            "tasks/report/a.py": "from . import b\n",
            "tasks/report/b.py": "from . import a, c\n",
            "tasks/report/c.py": "from . import b\n",
        },
    )
    assert import_cycles(tmp_path / "tasks") == [
        "tasks.report.a -> tasks.report.b -> tasks.report.a "
        "(tasks/report/a.py:1: from . import b; tasks/report/b.py:1: from . import a, c)"
        "; also tangled with tasks.report.c"
    ]


FIVE_STAGES = {f"tasks/{name}/__init__.py": "" for name in STAGES[1:6]}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({"tasks/__init__.py": "", "tasks/errors.py": "", **FIVE_STAGES}, [], id="in-shape"),
        pytest.param(
            {
                **{
                    f"tasks/{name}.py": ""
                    for name in ("__init__", "__main__", "errors", "cli", "gate", "history")
                },
                "tasks/config/__init__.py": "",
                "tasks/report/__init__.py": "",
                "tasks/report/long.py": "x = 1\n" * (MAX_LINES + 1),
                "tasks/report/short.py": "x = 1\n" * MAX_LINES,
                "tasks/utils/__init__.py": "",
            },
            [
                f"tasks/report/long.py: {MAX_LINES + 1} lines, at most {MAX_LINES}",
                "tasks/: 6 .py files directly inside, at most 5",
                "tasks/: 3 subpackages, at least 5",
                "tasks/utils: stage 'utils' is not one of STAGES",
            ],
            id="out-of-shape",
        ),
    ],
)
def test_shape_problems__find_exactly_the_planted_ones(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    write_files(tmp_path, files)
    assert shape_problems(tmp_path / "tasks") == expected


def documented_modules(text: str) -> dict[str, set[str]]:
    """Stage -> the module file names docs/architecture.md's tree lists under it."""
    tree = text.split("```", 2)[1]
    listed: dict[str, set[str]] = {}
    current = ""
    for line in tree.splitlines():
        if match := re.match(r"  (\w+)/ ", line):
            current = match.group(1)
        elif re.match(r"  \S", line):  # a top-level file of the package
            current = ""
        listed.setdefault(current, set()).update(re.findall(r"\b(\w+\.py)\b", line))
    return listed


def test_architecture_doc__lists_every_module_where_it_is() -> None:
    listed = documented_modules((KIT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    for folder in sorted(p for p in TASKS.iterdir() if (p / "__init__.py").is_file()):
        actual = {path.name for path in folder.glob("*.py")} - {"__init__.py"}
        assert listed.get(folder.name, set()) == actual, folder.name
    assert len(listed) > MIN_SUBPACKAGES  # the tree was read, not an empty block


# -- dependencies -------------------------------------------------------------------------

# The dependency groups the kit's own sessions install (noxfile.py), beside the project's.
SESSION_GROUPS = ("coverage", "upkeep", "ratchet")


def declared_distributions() -> set[str]:
    """Every distribution the project's dependencies and the sessions' groups name."""
    document = tomllib.loads((KIT / "pyproject.toml").read_text(encoding="utf-8"))
    groups = document["dependency-groups"]

    def names(group: str) -> set[str]:
        found = set()
        for item in groups[group]:
            if isinstance(item, dict):
                found |= names(item["include-group"])
            else:
                found.add(canonical(Requirement(item).name))
        return found

    project = {canonical(Requirement(item).name) for item in document["project"]["dependencies"]}
    return project.union(*(names(group) for group in SESSION_GROUPS))


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports(root: Path = TASKS) -> dict[str, str]:
    """Top-level module -> the first place that imports it, for every module of `root` that
    is neither the standard library's nor the package's own."""
    found: dict[str, str] = {}
    for path in python_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in sys.stdlib_module_names and top != root.name and top != "__future__":
                    found.setdefault(top, f"{path.relative_to(root.parent).as_posix()}:{node.lineno}")
    return found


def test_every_import_of_the_kit_is_a_declared_dependency() -> None:
    """An import the sessions do not install works here (the test environment has it) and
    fails on a user's machine: maintenance imported `packaging`, declared nowhere."""
    declared = declared_distributions()
    providers = metadata.packages_distributions()
    undeclared = {
        top: where
        for top, where in third_party_imports().items()
        if not {canonical(d) for d in providers.get(top, [top])} & declared
    }
    assert undeclared == {}
    assert {"coverage", "tomlkit", "_pytest", "packaging"} <= set(third_party_imports())  # the scan saw them


def test_declared_dependencies__the_check_catches_an_undeclared_import(tmp_path: Path) -> None:
    package = tmp_path / "tasks"
    write_files(package, {"__init__.py": "", "stage/__init__.py": "", "stage/uses.py": "import yaml\n"})
    assert third_party_imports(package) == {"yaml": "tasks/stage/uses.py:1"}
    assert "pyyaml" not in declared_distributions()  # only the tests' group has it
