"""Reading typed values out of the parsed manifest, each error naming the file, the line and
the key (tomllib keeps no positions, so the line is found from the text)."""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .manifest import did_you_mean


class TableReader:
    """Typed values of one manifest's tables: percentages, paths kept inside the project,
    lists of strings, counts, dates; anything else is a ConfigError naming the spot."""

    def __init__(self, shown: str, text: str, project: Path) -> None:
        self.shown = shown
        self.lines = text.splitlines()
        self.project = project
        # What no path may leave: the project, or the repository around it when the kit
        # lives in a folder of the repository it measures (settings.root = "..").
        self.boundary = project

    def error(self, keys: tuple[str, ...], problem: str) -> ConfigError:
        line = locate(self.lines, keys)
        where = f"{self.shown}:{line}" if line else self.shown
        return ConfigError(f"{where}: {'.'.join(keys)}: {problem}")

    def check_keys(self, table: Mapping[str, Any], keys: tuple[str, ...], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                hint = did_you_mean(key, sorted(allowed))
                valid = ", ".join(sorted(allowed))
                raise self.error((*keys, key), f"unknown key.{hint} Valid keys here: {valid}.")

    def table(self, value: object, keys: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(keys, f"expected a table, got {kind(value)}.")
        return value

    def percent(self, value: object, keys: tuple[str, ...]) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(keys, f"expected a percentage (a number), got {kind(value)}.")
        if not 0 <= value <= 100:
            raise self.error(keys, f"{value} is not a percentage; use a number from 0 to 100.")
        return float(value)

    def strings(self, value: object, keys: tuple[str, ...], *, allow_empty: bool) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(keys, f"expected a list of strings, got {kind(value)}.")
        if not value and not allow_empty:
            raise self.error(keys, "must name at least one path.")
        return tuple(value)

    def inside(self, raw: object, keys: tuple[str, ...], base: Path, *, must_exist: bool) -> Path:
        """Resolve a relative path under `base`, refusing anything that leaves it."""
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(keys, f"expected a relative path, got {kind(raw)}.")
        if Path(raw).is_absolute():
            raise self.error(keys, f"{raw!r} is absolute; give a path relative to {self.rel(base)!r}.")
        try:
            resolved = (base / raw).resolve()
            exists = resolved.exists()
        except (OSError, ValueError) as exc:
            raise self.error(keys, f"{raw!r} is not a usable path: {exc}.") from None
        if not resolved.is_relative_to(self.boundary):
            raise self.error(
                keys,
                f"{raw!r} resolves to {resolved}, outside the repository {self.boundary} "
                "(through '..' or a symbolic link). Keep every path inside the repository.",
            )
        if must_exist and not exists:
            raise self.error(keys, f"{raw!r} does not exist (looked for {self.rel(resolved)}). Fix the path.")
        return resolved

    def patterns(self, value: object, keys: tuple[str, ...], base: Path) -> tuple[str, ...]:
        """File patterns as coverage.py's `omit` takes them: one that starts with a wildcard
        stands as it is; any other is relative to `base` and must stay inside the project."""
        found = []
        for raw in self.strings(value, keys, allow_empty=True):
            if not raw.strip():
                raise self.error(keys, "an empty pattern; give a path or a pattern such as '*/vendor/*'.")
            if raw.startswith(("*", "?")):
                found.append(raw)
                continue
            if Path(raw).is_absolute():
                raise self.error(keys, f"{raw!r} is absolute; give a pattern relative to {self.rel(base)!r}.")
            resolved = Path(os.path.normpath(base / raw))
            if not resolved.is_relative_to(self.boundary):
                raise self.error(
                    keys, f"{raw!r} leads outside the repository {self.boundary}; keep patterns inside it."
                )
            found.append(str(resolved))
        return tuple(found)

    def rel(self, path: Path) -> str:
        return shown_path(path, self.project)

    def count(self, value: object, keys: tuple[str, ...], most: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise self.error(keys, f"expected a whole number from 1 to {most}, got {value!r}.")
        return value

    def flag(self, value: object, keys: tuple[str, ...]) -> bool:
        if not isinstance(value, bool):
            raise self.error(keys, f"expected true or false, got {kind(value)}.")
        return value

    def optional_percent(self, table: Mapping[str, Any], keys: tuple[str, ...], key: str) -> float | None:
        return self.percent(table[key], (*keys, key)) if key in table else None

    def date(self, value: object, keys: tuple[str, ...]) -> datetime.date:
        if isinstance(value, datetime.datetime):
            raise self.error(keys, "give a date without a time, e.g. 2027-06-30.")
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(keys, f"expected a date such as 2027-06-30, got {kind(value)}.")

    def points(self, value: object, keys: tuple[str, ...], default: float) -> float:
        """A number of percentage points, 0 to 100."""
        return default if value is None else self.percent(value, keys)


def kind(value: object) -> str:
    names = {
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def shown_path(path: Path, project: Path) -> str:
    try:
        return path.relative_to(project).as_posix() or "."
    except ValueError:
        return str(path)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _split_key(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def locate(lines: list[str], keys: tuple[str, ...]) -> int | None:
    """The 1-based line where `keys` is declared, found from the text (tomllib keeps no positions).

    Looks for the deepest table header that prefixes `keys`, then for the rest of the
    key (possibly dotted) assigned inside that table; falls back to the header's line.
    """
    table: tuple[str, ...] = ()
    best: int | None = None
    for depth in range(len(keys), -1, -1):
        prefix = keys[:depth]
        for index, line in enumerate(lines):
            match = _HEADER.match(line)
            if (match and _split_key(match.group(1)) == prefix) or (not prefix and index == 0):
                table, best = prefix, (index + 1 if prefix else None)
                break
        else:
            continue
        break
    rest = keys[len(table) :]
    if not rest:
        return best
    start = best or 0
    for index in range(start, len(lines)):
        line = lines[index]
        if index >= start and _HEADER.match(line) and index + 1 != best:
            break
        if "=" in line:
            left = line.split("=", 1)[0]
            declared = _split_key(left)
            if declared and declared == rest[: len(declared)]:
                return index + 1
    return best
