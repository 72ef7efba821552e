"""pytest's own words for why a run or a collection failed, read from its output: the
exception each module (or conftest.py) raised on import, else the error it printed."""

from __future__ import annotations

import re
from pathlib import Path

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # pytest's colours, where the terminal had them
# The header of each module's (or conftest.py's) report of what its import raised.
_REPORT_HEADER = re.compile(
    r"^_+ ERROR collecting (?P<module>.+?) _+$|^ImportError while loading conftest '(?P<conftest>.+)'\.$"
)
_RAISED = re.compile(r"^E\s+(?P<text>\S.*)$")
_SYNTAX_AT = re.compile(r'^File ".*", line (?P<line>\d+)$')
QUOTED = 3  # errors quoted from one collection
QUOTE_LENGTH = 300  # characters of each


def pytest_error(stdout: str, stderr: str, cwd: Path) -> str:
    """What pytest said went wrong: for each module (or conftest.py) it could not import,
    the exception (its report's last `E` line); else the error it printed (a usage error, a
    path not found); else its last line."""
    stdout, stderr = _COLOUR.sub("", stdout), _COLOUR.sub("", stderr)
    quotes = _raised(f"{stdout}\n{stderr}", cwd) or _printed_errors(stderr) or _last_line(stderr + stdout)
    quotes = [quote if len(quote) <= QUOTE_LENGTH else quote[: QUOTE_LENGTH - 3] + "..." for quote in quotes]
    more = f" and {len(quotes) - QUOTED} more" if len(quotes) > QUOTED else ""
    return "; ".join(quotes[:QUOTED]) + more


def _raised(output: str, cwd: Path) -> list[str]:
    exceptions: dict[str, str] = {}  # module -> the last `E` line of its report: the exception
    module, line = "", ""
    for text in output.splitlines():
        header = _REPORT_HEADER.match(text)
        raised = _RAISED.match(text)
        if header:
            module, line = _relative(header["module"] or header["conftest"], cwd), ""
        elif raised and module:
            syntax = _SYNTAX_AT.match(raised["text"])
            if syntax:
                line = f", line {syntax['line']}"  # a SyntaxError says where before what
            else:
                exceptions[module] = f"{module}{line}: {raised['text']}"
    return list(exceptions.values())


def _printed_errors(stderr: str) -> list[str]:
    # "ERROR: file or directory not found: x"; a usage error's "ERROR: usage: ..." line is
    # followed by argparse's "pytest: error: unrecognized arguments: --x", which says what.
    found = []
    for text in stderr.splitlines():
        if text.startswith("ERROR: ") and not text.startswith("ERROR: usage:"):
            found.append(text.removeprefix("ERROR: "))
        elif ": error: " in text:
            found.append(text.split(": error: ", 1)[1])
    return found


def _last_line(output: str) -> list[str]:
    lines = [text.strip("=!_ ") for text in output.splitlines() if text.strip("=!_ ")]
    return lines[-1:] or ["it printed nothing"]


def _relative(path: str, cwd: Path) -> str:
    try:
        return Path(path).relative_to(cwd).as_posix()
    except ValueError:
        return path


_FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<test>\S+)(?: - (?P<why>.*))?$")
SHOWN_FAILURES = 3


def failed_tests(output: str) -> tuple[str, ...]:
    """The tests pytest's short summary says failed (`FAILED tests/x.py::test_y - assert ...`),
    the first few, and how many more."""
    found = [m.group(0) for m in map(_FAILED.match, _COLOUR.sub("", output).splitlines()) if m]
    more = (f"and {len(found) - SHOWN_FAILURES} more",) if len(found) > SHOWN_FAILURES else ()
    return (*found[:SHOWN_FAILURES], *more)
