"""Shard data files for the combine benchmark, cut from real per-service data.

Running a suite in 100 shards would measure process start-up, not combine; so the bench
runs each service once and cuts its data into shard files the way shards divide tests:
each shard holds a share of the measured files (every file measured by some shard), under
the service's context, with coverage.py's own data API. A manifest per count declares
those shards, so `python -m tasks --manifest configs/combine-<N>.toml combine` checks that
every expected shard arrived and merges them, as CI's combine job does.
"""

from __future__ import annotations

from pathlib import Path

from coverage import CoverageData

COUNTS = (12, 100)
SERVICES = 4  # at most: 4 services of 3 and of 25 shards


def manifest_path(count: int) -> str:
    return f"configs/combine-{count}.toml"


def data_dir(count: int) -> str:
    return f".coverage-shards-{count}"


def write_all(repo: Path, services: list[str]) -> None:
    for count in COUNTS:
        write(repo, services[:SERVICES], count)


def write(repo: Path, services: list[str], count: int) -> list[Path]:
    """The shard files and manifest for `count` shards over `services`; the files written."""
    folder = repo / data_dir(count)
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.shard-*"):  # an earlier cut, split another way
        old.unlink()
    # The gate section of synth's manifest: the load group gates the shards' combined data.
    manifest = [f'[settings]\nroot = "."\ndata_dir = "{data_dir(count)}"\n\n[gate]\nbase = "main"\n']
    written = []
    for position, service in enumerate(services):
        # As evenly as they go: 100 shards over 4 services are 25 each, over 3 are 34, 33, 33.
        per_service = count // len(services) + (1 if position < count % len(services) else 0)
        manifest.append(
            f'\n[services.{service}]\nsource = ["src/{service}"]\ntests = ["tests/{service}"]\n'
            f"shards = {per_service}\n"
        )
        source = CoverageData(basename=str(repo / ".coverage-data" / service))
        source.read()
        # Each run measured every service's sources; the manifest declares these services
        # only, and combine refuses data of files no declared service owns.
        owned = tuple(f"src/{name}/" for name in services)
        files = sorted(name for name in source.measured_files() if name.startswith(owned))
        for index in range(per_service):
            path = folder / f"{service}.shard-{index + 1}-of-{per_service}"
            shard = CoverageData(basename=str(path))
            shard.set_context(service)
            share = files[index::per_service] or [files[index % len(files)]]  # never an empty shard
            shard.add_arcs({name: source.arcs(name) or [] for name in share})
            shard.touch_files(share)  # measured, even where nothing ran (a module never imported)
            shard.write()
            written.append(path)
    (repo / manifest_path(count)).write_text("".join(manifest), encoding="utf-8")
    return written
