"""Coverage in the editor: lcov.info and coverage.xml where editors look for them.

VS Code's Coverage Gutters searches the workspace for `lcov.info` and `coverage.xml`
(among other default names) and matches the paths inside them against the workspace's
files; PyCharm imports a Cobertura `coverage.xml` (Run > Manage Coverage Reports). The
workspace is the measured repository, so both files go to `settings.editor_dir` (default:
the repository root) with paths relative to the repository, re-based from the report's
project-relative paths. The XML names the repository as its absolute `<source>`, so that
tools joining source and file name find the file too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from tasks import datafiles
from tasks.manifest import Manifest

LCOV_NAME = "lcov.info"
XML_NAME = "coverage.xml"


def _prefix(manifest: Manifest) -> str:
    """What the report's paths start with that the repository's own paths do not."""
    relative = manifest.root.relative_to(manifest.project_dir).as_posix()
    return "" if relative == "." else relative + "/"


def _rebase(path: str, prefix: str) -> str:
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


def write(manifest: Manifest, lcov: Path, xml: Path) -> tuple[Path, Path]:
    """Editor copies of the report's LCOV and XML files; their paths."""
    prefix = _prefix(manifest)
    lcov_target = manifest.editor_dir / LCOV_NAME
    lines = lcov.read_text(encoding="utf-8").splitlines(keepends=True)
    rebased = [f"SF:{_rebase(line[3:], prefix)}" if line.startswith("SF:") else line for line in lines]
    with datafiles.atomic_path(lcov_target) as temporary:
        temporary.write_text("".join(rebased), encoding="utf-8")

    # coverage.py's own output, written by this invocation: not untrusted input.
    tree = ElementTree.parse(xml)  # noqa: S314
    sources = tree.getroot().find("sources")
    if sources is not None:
        for old in list(sources):
            sources.remove(old)
        ElementTree.SubElement(sources, "source").text = str(manifest.root)
    for element in tree.getroot().iter("class"):
        filename = element.get("filename")
        if filename is not None:
            element.set("filename", _rebase(filename, prefix))
    xml_target = manifest.editor_dir / XML_NAME
    with datafiles.atomic_path(xml_target) as temporary:
        # The XML declaration is how Coverage Gutters tells Cobertura from LCOV.
        tree.write(temporary, encoding="utf-8", xml_declaration=True)
    return lcov_target, xml_target
