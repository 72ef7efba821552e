"""Manifests loaded once, in a fork server (cli/serve_runs.py): each run it forks loads
the manifest its server loaded, validated once (its folders resolved, hundreds of services
checked against each other), for as long as the manifest's text is the same."""

from __future__ import annotations

from collections.abc import Callable

from .manifest import Manifest

Key = tuple[str, str, str]  # the project, the manifest's path, its text

_kept: dict[Key, Manifest] | None = None  # None: nothing is kept (every other process)


def start() -> None:
    """Keep each manifest loaded from now on, for this process and the children it forks."""
    global _kept
    _kept = {}


def kept(key: Key, load: Callable[[], Manifest]) -> Manifest:
    """The manifest kept for `key`, else `load()` (kept where start() was called)."""
    if _kept is None:
        return load()
    if key not in _kept:
        _kept[key] = load()
    return _kept[key]
