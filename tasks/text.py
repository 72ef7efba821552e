"""Text for a terminal: every line the kit prints fits WIDTH columns, or wraps cleanly.

A terminal wraps a long line wherever its edge falls, in the middle of a name or a path;
the kit folds its own lines at spaces first, so lists of hundreds of services and errors
that name paths, settings and commands stay readable. A word longer than a line (a path, a
command) stays whole on a line of its own: cut, it could not be copied.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from typing import TextIO

WIDTH = 120
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # takes no width in a terminal


def fold(text: str, width: int = WIDTH, indent: str = "  ", hang: int | None = None) -> str:
    """Each line of `text` longer than `width` folded at spaces; the continuation lines are
    indented by `indent` more than the line they continue, or to column `hang`."""
    folded = []
    for line in text.split("\n"):
        if len(_COLOUR.sub("", line)) <= width:
            folded.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip(" "))]
        folded += textwrap.wrap(
            line,
            width,
            subsequent_indent=lead + indent if hang is None else " " * max(hang, len(lead)),
            break_long_words=False,
            break_on_hyphens=False,
        )
    return "\n".join(folded)


def first_few(items: Sequence[str], shown: int) -> str:
    """The first `shown` of `items`, and how many more: `a, b, c and 4 more`."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


class Folded(io.TextIOBase):
    """A text stream that folds each line written through it (print, or write) before it
    reaches `stream`. GitHub's workflow commands (`::error file=…::…`) pass whole: the
    runner reads one a line."""

    def __init__(self, stream: TextIO, width: int = WIDTH) -> None:
        self.stream, self.width, self._partial = stream, width, ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.stream.write((line if line.startswith("::") else fold(line, self.width)) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self.stream.write(self._partial)
            self._partial = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts `svc2` before `svc10` (numbers by value, the rest as text)."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in _DIGITS.split(name) if part)
