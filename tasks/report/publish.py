"""Publishing reports whole or not at all: staged in a folder of the kit's own, then moved
over the published copies by rename (folders by swap), and archived by copy then rename."""

from __future__ import annotations

import contextlib
import datetime
import shutil
import tempfile
from pathlib import Path

from ..config.layout import archive_name
from . import reuse

STAGING_NAME = ".coverage-workflows-staging"  # the reports folder may be the project's root
LOCK_NAME = ".coverage-workflows-lock"
# Folders of the kit's own beside the reports, named so that no folder of the user's (the
# reports folder may be the project's root) is ever taken for one.
ARCHIVE_PARTIAL = ".coverage-workflows-partial-"  # an archive being copied, or one superseded
SWAPPED_PREFIX = ".coverage-workflows-old-"  # a published folder moved aside for its new copy


def _kit_folders(parent: Path, prefix: str) -> list[Path]:
    return [path for path in parent.glob(f"{prefix}*") if path.is_dir() and not path.is_symlink()]


def archive(staging: Path, folder: Path) -> None:
    """A timestamped copy of the staged reports, whole or not at all: copied under a
    temporary name, then renamed. A killed archiving's partial copy is cleared by the next."""
    folder.mkdir(parents=True, exist_ok=True)
    for left in _kit_folders(folder, ARCHIVE_PARTIAL):
        shutil.rmtree(left, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix=ARCHIVE_PARTIAL, dir=folder))
    shutil.copytree(staging, partial, dirs_exist_ok=True)
    target = folder / archive_name(datetime.datetime.now(datetime.UTC))
    if target.exists():  # archived twice within a second: the newer copy replaces the older
        superseded = Path(tempfile.mkdtemp(prefix=ARCHIVE_PARTIAL, dir=folder))
        target.replace(superseded / target.name)
        partial.replace(target)
        shutil.rmtree(superseded, ignore_errors=True)
    else:
        partial.replace(target)


def restore_swapped(reports_dir: Path) -> None:
    """Put back a published folder that a killed report moved aside and never replaced;
    then remove what the swaps left (old folders whose new copies are in place). Only
    names missing from the reports folder are put back: nothing there is replaced."""
    for aside in _kit_folders(reports_dir, SWAPPED_PREFIX):
        for old in aside.iterdir():
            if not (reports_dir / old.name).exists():
                old.replace(reports_dir / old.name)
        shutil.rmtree(aside, ignore_errors=True)


def publish(staging: Path, reports_dir: Path) -> tuple[Path, ...]:
    """Move each staged report over its old copy, one at a time: files by rename, folders by
    swap. Each arrives whole; the set is new only once the record of its inputs arrives last."""
    written = []
    # What the reports were made from goes last: until every report is in place, the old
    # record (removed first) cannot vouch for a half-new set.
    (reports_dir / reuse.RECORD_NAME).unlink(missing_ok=True)
    for item in sorted(staging.iterdir(), key=lambda path: (path.name == reuse.RECORD_NAME, path.name)):
        target = reports_dir / item.name
        if item.is_dir() and target.exists():
            # Two renames: a kill between them leaves the old folder aside, for the next
            # report to put back (restore_swapped) before it does anything else.
            old = Path(tempfile.mkdtemp(prefix=SWAPPED_PREFIX, dir=reports_dir))
            target.replace(old / item.name)
            try:
                item.replace(target)
            except OSError:
                # The old copy back in place (if even that fails, it stays aside for the next
                # report to put back); then the error is what the user hears.
                with contextlib.suppress(OSError):
                    (old / item.name).replace(target)
                    old.rmdir()
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            item.replace(target)
        written.append(target)
    return tuple(written)
