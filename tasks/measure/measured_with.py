"""What a service's figures were measured with besides its code and tests: the install list of
its environment, and the coverage.py and Python versions that ran it.

Each run records them among its data's digests (freshness.py); data measured with another
install list, or another coverage.py or Python than the one its figures are now read with,
is stale like data of changed code. The versions are compared by major.minor (a new Python
or coverage.py minor changes which lines and branches count; a patch release does not):
coverage.py against the one reading the data (combine's, report's: its analysis of the
sources is set against the measured lines), Python against the service's declared `python`,
else the one reading the data.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re

import coverage

from ..config.manifest import Manifest, Service

PREFIX = "(environment) "
INSTALL = f"{PREFIX}install list"
TOOLS = f"{PREFIX}coverage.py and Python"
# pip options whose next argument is a file the install list reads.
FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")


def recorded_entries(manifest: Manifest, service: Service) -> dict[str, str]:
    """The entries a run records: its install list, and the versions running it here."""
    return {
        INSTALL: install_digest(manifest, service),
        TOOLS: tools(coverage.__version__, platform.python_version()),
    }


def expected_entries(manifest: Manifest, service: Service) -> dict[str, str]:
    """The entries data of `service` must carry to be read here and now."""
    python = service.python if service.python and _minor(service.python) else platform.python_version()
    return {INSTALL: install_digest(manifest, service), TOOLS: tools(coverage.__version__, python)}


def differs(manifest: Manifest, service: Service, recorded: dict[str, str]) -> bool:
    """Whether data with the digests `recorded` was measured with another environment than
    `service`'s data must have now (data from before these were recorded: no)."""
    expected = expected_entries(manifest, service)
    return any(entry in recorded and recorded[entry] != value for entry, value in expected.items())


def tools(coverage_version: str, python_version: str) -> str:
    """The entry's value, readable in messages: 'coverage 7.18 on Python 3.11'."""
    return f"coverage {_minor(coverage_version)} on Python {_minor(python_version)}"


def _minor(version: str) -> str:
    found = re.search(r"(\d+)\.(\d+)", version)
    return f"{found[1]}.{found[2]}" if found else ""


def install_digest(manifest: Manifest, service: Service) -> str:
    """The service's install list as the manifest gives it (its `install` arguments and its
    `python`), with the content of the requirement and constraint files they name."""
    files = {named: _content_digest(manifest, named) for named in _named_files(service.install)}
    listed = {"python": service.python, "install": list(service.install), "files": files}
    return hashlib.sha256(json.dumps(listed, sort_keys=True).encode()).hexdigest()


def _named_files(arguments: tuple[str, ...]) -> list[str]:
    """The files pip reads for `-r FILE`, `-rFILE`, `--requirement=FILE` (and -c likewise)."""
    named = []
    for index, argument in enumerate(arguments):
        if argument in FILE_OPTIONS and index + 1 < len(arguments):
            named.append(arguments[index + 1])
        elif argument.startswith(("--requirement=", "--constraint=")):
            named.append(argument.split("=", 1)[1])
        elif argument[:2] in ("-r", "-c") and len(argument) > 2 and not argument.startswith("--"):
            named.append(argument[2:])
    return named


def _content_digest(manifest: Manifest, named: str) -> str:
    """A requirement file's digest: pip runs from the project directory, where the
    manifest's install arguments are read; "" for one that is not there."""
    try:
        return hashlib.sha256((manifest.project_dir / named).read_bytes()).hexdigest()
    except OSError:
        return ""


def describe(manifest: Manifest, service: str, entries: list[str]) -> str | None:
    """What changed in the service's environment since its data was measured, or None."""
    said = []
    if INSTALL in entries:
        said.append(
            f"its install list (services.{service}.install or python in {manifest.display(manifest.path)}, "
            "or a file it names)"
        )
    if TOOLS in entries and service in manifest.names:
        now = expected_entries(manifest, manifest.service(service))[TOOLS]
        said.append(f"the coverage.py or Python version that measured it (its data is read with {now} now)")
    return f"its environment changed since it was measured: {'; '.join(said)}" if said else None
