"""Coverage in the editor: lcov.info and coverage.xml where editors look for them.

VS Code's Coverage Gutters searches the workspace for `lcov.info` and `coverage.xml`
(among other default names) and matches the paths inside them against the workspace's
files; PyCharm imports a Cobertura `coverage.xml` (Run > Manage Coverage Reports). The
workspace is the measured repository, so both files go to `settings.editor_dir` (default:
the repository root) with paths relative to the repository, re-based from the report's
project-relative paths. The XML names the repository as its absolute `<source>`, so that
tools joining source and file name find the file too.

Both files carry a mark (an LCOV test name, an XML comment): a file of the same name that
lacks it was written by someone else (pytest-cov's `coverage.xml`, say) and is left alone.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from ..config.manifest import Manifest
from ..errors import ConfigError
from ..measure import datafiles

LCOV_NAME = "lcov.info"
XML_NAME = "coverage.xml"
MARK = "coverage-workflows"
LCOV_MARK = f"TN:{MARK}\n"  # LCOV's test-name record; editors ignore it


def _prefix(manifest: Manifest) -> str:
    """What the report's paths start with that the repository's own paths do not."""
    relative = manifest.root.relative_to(manifest.project_dir).as_posix()
    return "" if relative == "." else relative + "/"


def _rebase(path: str, prefix: str) -> str:
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


def ours(path: Path) -> bool:
    """Whether `path` is absent or an editor file this kit wrote (so it may be replaced)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            start = handle.read(4096)
    except FileNotFoundError:
        return True
    return start.startswith(LCOV_MARK) or f"<!--{MARK}-->" in start


def write(manifest: Manifest, lcov: Path, xml: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Editor copies of the report's LCOV and XML files: those written, and those left
    alone because someone else's file has the name. A ConfigError when the folder cannot
    be written."""
    written, skipped = [], []
    folder = manifest.editor_dir
    if folder is None:
        return (), ()  # settings.editor_dir is not set: no file in the repository
    try:
        for source, name, make in ((lcov, LCOV_NAME, _lcov), (xml, XML_NAME, _xml)):
            target = folder / name
            if not ours(target):
                skipped.append(target)
                continue
            make(manifest, source, target)
            written.append(target)
    except OSError as exc:
        raise ConfigError(
            f"cannot write editor files to {manifest.display(folder)}: {exc}. Set "
            f"settings.editor_dir in {manifest.display(manifest.path)} to a folder that can be written."
        ) from None
    return tuple(written), tuple(skipped)


def _lcov(manifest: Manifest, lcov: Path, target: Path) -> None:
    prefix = _prefix(manifest)
    lines = lcov.read_text(encoding="utf-8").splitlines(keepends=True)
    rebased = [f"SF:{_rebase(line[3:], prefix)}" if line.startswith("SF:") else line for line in lines]
    with datafiles.atomic_path(target) as temporary:
        temporary.write_text(LCOV_MARK + "".join(rebased), encoding="utf-8")


def _xml(manifest: Manifest, xml: Path, target: Path) -> None:
    prefix = _prefix(manifest)

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
    tree.getroot().insert(0, ElementTree.Comment(MARK))
    with datafiles.atomic_path(target) as temporary:
        # The XML declaration is how Coverage Gutters tells Cobertura from LCOV.
        tree.write(temporary, encoding="utf-8", xml_declaration=True)
