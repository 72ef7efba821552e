"""Invariants read from the code itself: no command builds a shell string, and no SQL
statement has a value formatted into it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import KIT

PYTHON_SOURCES = sorted(
    [*(KIT / "tasks").rglob("*.py"), KIT / "noxfile.py", *(KIT / "benchmarks").glob("*.py")]
)
SHELL_RUNNERS = {
    ("os", "system"),
    ("os", "popen"),
    ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
}
PROCESS_STARTERS = {"run", "Popen", "call", "check_call", "check_output"}
SQL_METHODS = {"execute", "executemany", "executescript"}
NOT_SQL = {"runner"}  # runner.execute runs a service's tests: the one `execute` that is not SQL


def sql_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SQL_METHODS
        and bool(node.args)
        and not (isinstance(node.func.value, ast.Name) and node.func.value.id in NOT_SQL)
    )


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    shown = path.relative_to(KIT) if path.is_relative_to(KIT) else path.name
    return f"{shown}:{getattr(node, 'lineno', '?')}"


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


# Allowed in history/store.py alone: the one variable that may hold SQL, its loop over the constant
# MIGRATIONS (test_migrations_are_constant_text checks those), and the `where` fragments its
# _load takes, which every caller passes as a literal or a constant (checked below).
HISTORY_SQL_VARIABLES = {"statement"}
HISTORY_FRAGMENTS = {"where"}


def is_history_store(path: Path) -> bool:
    return path.parts[-2:] == ("history", "store.py")


def sql_problem(sql: ast.expr, in_history: bool) -> str | None:
    """Why this SQL argument is not text of the code, or None. Allowed: a literal, and an
    f-string whose only formatted pieces are module constants (or, in history/store.py, its
    `where` fragments). Refused: anything else, concatenation, .format(), % formatting, or
    SQL arriving in a variable (but history/store.py's migrations)."""
    fragments = HISTORY_FRAGMENTS if in_history else set()
    if isinstance(sql, ast.Constant) and isinstance(sql.value, str):
        return None
    if isinstance(sql, ast.JoinedStr):
        for piece in sql.values:
            if isinstance(piece, ast.FormattedValue):
                value = piece.value
                if not (constant_name(value) or (isinstance(value, ast.Name) and value.id in fragments)):
                    return f"formats in {ast.unparse(value)}"
        return None
    if in_history and isinstance(sql, ast.Name) and sql.id in HISTORY_SQL_VARIABLES:
        return None
    return f"SQL built as {ast.unparse(sql)}"


def sql_problems(tree: ast.AST, path: Path) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if sql_call(node):
            problem = sql_problem(node.args[0], in_history=is_history_store(path))
            if problem:
                found.append(f"{where(path, node)}: {problem}")
        if is_history_store(path) and node.func.attr == "_load" and node.args:
            fragment = node.args[0]
            literal = isinstance(fragment, ast.Constant) and isinstance(fragment.value, str)
            if not (literal or constant_name(fragment)):
                found.append(f"{where(path, node)}: _load with {ast.unparse(fragment)}")
    return found


def test_every_sql_statement_is_text_of_the_code_with_values_as_parameters() -> None:
    statements = sum(
        1
        for path in sorted((KIT / "tasks").rglob("*.py"))
        for node in ast.walk(parsed(path))
        if sql_call(node)
    )
    found = [
        problem
        for path in sorted((KIT / "tasks").rglob("*.py"))
        for problem in sql_problems(parsed(path), path)
    ]
    assert found == []
    assert statements >= 40  # the history, the analysis cache, the audit: the scan saw them


def test_the_sql_check_refuses_sql_built_from_values(tmp_path: Path) -> None:
    """The check itself: each way of building SQL from a value is caught; the allowed are not."""
    (tmp_path / "history").mkdir()
    source = tmp_path / "history" / "store.py"
    source.write_text(
        "db.execute('SELECT 1 FROM t WHERE a = ?', (a,))\n"  # allowed: literal, values as parameters
        "db.execute(f'SELECT {COLUMNS} FROM t')\n"  # allowed: a module constant
        "db.execute(f'SELECT * FROM t WHERE {name}')\n"
        "db.execute('SELECT * FROM ' + table)\n"
        "db.execute('SELECT * FROM {}'.format(table))\n"
        "db.execute('SELECT * FROM %s' % table)\n"
        "db.executemany(query, rows)\n"
        "self._load(f'id = {value}')\n",
        encoding="utf-8",
    )
    found = [problem.split(": ", 1)[1] for problem in sql_problems(ast.parse(source.read_text()), source)]
    assert found == [
        "formats in name",
        "SQL built as 'SELECT * FROM ' + table",
        "SQL built as 'SELECT * FROM {}'.format(table)",
        "SQL built as 'SELECT * FROM %s' % table",
        "SQL built as query",
        "_load with f'id = {value}'",
    ]
    # history/store.py's own exceptions are its alone: elsewhere, `statement` and `where` are refused.
    elsewhere = tmp_path / "audit.py"
    elsewhere.write_text(
        "db.execute(statement)\ndb.execute(f'SELECT * FROM t WHERE {where}')\n", encoding="utf-8"
    )
    found = [
        problem.split(": ", 1)[1] for problem in sql_problems(ast.parse(elsewhere.read_text()), elsewhere)
    ]
    assert found == ["SQL built as statement", "formats in where"]
    in_history = tmp_path / "history" / "store.py"
    in_history.write_text(elsewhere.read_text(), encoding="utf-8")
    assert sql_problems(ast.parse(in_history.read_text()), in_history) == []


def test_migrations_are_constant_text() -> None:
    """The one SQL run from a variable: history's MIGRATIONS, a tuple of literal statements."""
    tree = parsed(KIT / "tasks" / "history" / "schema.py")
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
