"""Invariants read from the code itself: no command builds a shell string, and no SQL
statement has a value formatted into it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import KIT

PYTHON_SOURCES = sorted(
    [*(KIT / "tasks").glob("*.py"), KIT / "noxfile.py", *(KIT / "benchmarks").glob("*.py")]
)
SHELL_RUNNERS = {
    ("os", "system"),
    ("os", "popen"),
    ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
}
PROCESS_STARTERS = {"run", "Popen", "call", "check_call", "check_output"}
SQL_METHODS = {"execute", "executemany", "executescript"}


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(KIT)}:{getattr(node, 'lineno', '?')}"


def is_command_line(node: ast.expr) -> bool:
    """A whole command line in one string (formatted, or with spaces): what only a shell
    would split into a program and its arguments."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and " " in node.value
    return isinstance(node, ast.JoinedStr | ast.BinOp)


def test_no_process_is_started_through_a_shell() -> None:
    found = []
    for path in PYTHON_SOURCES:
        for node in ast.walk(parsed(path)):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
                if (function.value.id, function.attr) in SHELL_RUNNERS:
                    found.append(f"{where(path, node)}: {function.value.id}.{function.attr}")
                if (
                    function.value.id == "subprocess"
                    and function.attr in PROCESS_STARTERS
                    and node.args
                    and is_command_line(node.args[0])
                ):
                    found.append(f"{where(path, node)}: a command line as one string")
            for keyword in node.keywords:
                if keyword.arg == "shell" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    found.append(f"{where(path, node)}: shell=")
    assert found == []
    assert len(PYTHON_SOURCES) > 30  # the scan saw the code base, not an empty folder


def constant_name(node: ast.expr) -> bool:
    """A module or class constant (UPPER_CASE or _UPPER_CASE), never a value from outside."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return bool(name) and name.lstrip("_").isupper()


def test_every_sql_statement_is_text_of_the_code_with_values_as_parameters() -> None:
    """SQL is literal text; the only pieces formatted in are module constants, and
    history's `where` fragments, which every caller passes as a literal or a constant."""
    statements = 0
    formatted = []
    for path in sorted((KIT / "tasks").glob("*.py")):
        tree = parsed(path)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr in SQL_METHODS and node.args:
                statements += 1
                sql = node.args[0]
                if isinstance(sql, ast.Name) and sql.id == "statement":
                    continue  # the migrations: a loop over the module's constant MIGRATIONS
                for piece in ast.walk(sql):
                    if isinstance(piece, ast.FormattedValue):
                        value = piece.value
                        if not (
                            constant_name(value) or (isinstance(value, ast.Name) and value.id == "where")
                        ):
                            formatted.append(f"{where(path, node)}: {ast.unparse(value)}")
                    elif isinstance(piece, ast.BinOp) and isinstance(piece.op, ast.Mod):
                        formatted.append(f"{where(path, node)}: % formatting")
            if path.name == "history.py" and node.func.attr == "_load" and node.args:
                fragment = node.args[0]
                literal = isinstance(fragment, ast.Constant) and isinstance(fragment.value, str)
                if not (literal or constant_name(fragment)):
                    formatted.append(f"{where(path, node)}: _load with {ast.unparse(fragment)}")
    assert formatted == []
    assert statements > 40  # the history, the analysis cache, the audit


def test_migrations_are_constant_text() -> None:
    """The one SQL run from a variable: history's MIGRATIONS, a tuple of literal statements."""
    tree = parsed(KIT / "tasks" / "history.py")
    assigned = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "MIGRATIONS"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    )
    strings = [n for n in ast.walk(assigned) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert strings
    assert not [n for n in ast.walk(assigned) if isinstance(n, ast.JoinedStr | ast.Name | ast.Call)]
