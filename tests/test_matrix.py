"""The CI matrix: derived from nox's own listing of the coverage sessions, checked against
the manifest, one entry per service shard."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import flat, in_process, nox, run, write_files


def listing(project: Path) -> str:
    result = nox(project, "--json", "-l", "-t", "coverage")
    assert result.returncode == 0, result.output
    return result.stdout


def matrix_of(
    project: Path, text: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    listing_file = project / "listing.json"
    listing_file.write_text(text, encoding="utf-8")
    result = run(
        [sys.executable, "-m", "tasks", "matrix", "--listing", str(listing_file), *extra], project, env=env
    )
    return result.returncode, result.stdout, result.stderr


def test_matrix__example_is_services_by_their_declared_shards(kit_copy: Path) -> None:
    code, stdout, stderr = matrix_of(kit_copy, listing(kit_copy))
    assert code == 0, stderr
    assert json.loads(stdout) == {
        "include": [
            {
                "name": "xp 1/2",
                "session": "coverage-xp",
                "service": "xp",
                "shard": 1,
                "shards": 2,
                "data": ".coverage-data/xp.shard-1-of-2",
                "artifact": "coverage-data-xp-1-of-2",
            },
            {
                "name": "xp 2/2",
                "session": "coverage-xp",
                "service": "xp",
                "shard": 2,
                "shards": 2,
                "data": ".coverage-data/xp.shard-2-of-2",
                "artifact": "coverage-data-xp-2-of-2",
            },
            {
                "name": "auth",
                "session": "coverage-auth",
                "service": "auth",
                "shard": 1,
                "shards": 1,
                "data": ".coverage-data/auth",
                "artifact": "coverage-data-auth-1-of-1",
            },
            {
                "name": "discord",
                "session": "coverage-discord",
                "service": "discord",
                "shard": 1,
                "shards": 1,
                "data": ".coverage-data/discord",
                "artifact": "coverage-data-discord-1-of-1",
            },
        ]
    }


def test_matrix__follows_the_manifest_through_nox(kit_copy: Path) -> None:
    """A new service and a new shard count reach the matrix with no other edit."""
    manifest = kit_copy / "configs/services.toml"
    text = manifest.read_text().replace("shards = 2 ", "shards = 3 ")
    manifest.write_text(text + '\n[services.billing]\nsource = ["src/billing"]\ntests = ["tests/billing"]\n')
    write_files(
        kit_copy / "examples/monorepo",
        {"src/billing/__init__.py": "", "tests/billing/test_billing.py": "def test_nothing():\n    pass\n"},
    )
    code, stdout, stderr = matrix_of(kit_copy, listing(kit_copy))
    assert code == 0, stderr
    names = [entry["name"] for entry in json.loads(stdout)["include"]]
    assert names == ["xp 1/3", "xp 2/3", "xp 3/3", "auth", "discord", "billing"]


def test_matrix__github_output(kit_copy: Path) -> None:
    output = kit_copy / "github_output"
    code, _, stderr = matrix_of(
        kit_copy, listing(kit_copy), "--github-output", env={"GITHUB_OUTPUT": str(output)}
    )
    assert code == 0, stderr
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert set(values) == {"matrix", "shards", "services", "data-dir"}
    assert len(json.loads(values["matrix"])["include"]) == 4 == int(values["shards"])
    assert json.loads(values["services"]) == ["xp", "auth", "discord"]
    assert values["data-dir"] == ".coverage-data"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nox > Running session", "not the JSON of `nox --json -l -t coverage`"),
        ('{"session": "x"}', "expected nox's JSON listing"),
        ('[{"session": "gate", "tags": ["ci"]}]', "no session tagged 'coverage'"),
        (
            '[{"session": "coverage-xp", "tags": ["coverage"]}]',
            "nox lists coverage sessions for xp, but configs/services.toml declares xp, auth, discord",
        ),
        (
            '[{"session": "coverage-xp", "tags": ["coverage", "shards-2", "shards-3"]},'
            ' {"session": "coverage-auth", "tags": ["coverage"]},'
            ' {"session": "coverage-discord", "tags": ["coverage"]}]',
            "session coverage-xp has shard tags [2, 3]",
        ),
        (
            '[{"session": "coverage-xp", "tags": ["coverage", "shards-200"]},'
            ' {"session": "coverage-auth", "tags": ["coverage", "shards-56"]},'
            ' {"session": "coverage-discord", "tags": ["coverage"]}]',
            "257 service shards, but GitHub Actions runs at most 256 jobs",
        ),
    ],
)
def test_matrix__bad_listing_is_named(kit_copy: Path, text: str, message: str) -> None:
    code, _, stderr = matrix_of(kit_copy, text)
    assert code == 2
    assert flat(message) in flat(stderr) and "Traceback" not in stderr


def test_matrix__github_output_outside_actions(kit_copy: Path) -> None:
    listing_file = kit_copy / "listing.json"
    listing_file.write_text(listing(kit_copy))
    result = in_process(kit_copy, "matrix", "--listing", str(listing_file), "--github-output")
    assert result.returncode == 2
    assert "GITHUB_OUTPUT is not set" in result.stderr
