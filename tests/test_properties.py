"""Properties that hold for any input (hypothesis): the manifest loader answers every
document with a manifest or a clear error, the diff parser finds exactly the lines a diff
adds, and the per-service figures add up to coverage.py's own totals."""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import tomlkit
import tomlkit.exceptions
from coverage import Coverage, CoverageData
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tasks.analyze.analysis import service_figures, sum_figures
from tasks.analyze.combined import open_coverage
from tasks.config import loader
from tasks.errors import EXIT_CONFIG, ConfigError
from tasks.gate import gitdiff

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def scratch_repo() -> Iterator[Path]:
    """A throwaway repository per example (hypothesis runs many in one test)."""
    folder = Path(tempfile.mkdtemp(prefix="props-")).resolve()
    try:
        for name in ("src/api", "src/worker", "tests/api", "tests/worker"):
            (folder / name).mkdir(parents=True)
        (folder / "configs").mkdir()
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---- the manifest loader: any document gives a Manifest or a ConfigError -------------

# Words the validator knows, so that generated documents reach deep into it, not only
# its first "unknown key" answer.
KEYS = st.sampled_from(
    [
        "settings", "services", "thresholds", "gate", "ratchet", "goals", "history", "root", "source",
        "tests", "line", "branch", "file", "working_dir", "pytest_args", "install", "shards", "api",
        "worker", "base", "changed", "policy", "margin", "noisy", "editors", "reports", "data",
        "../up", "/abs", "total", "tets",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["src/api", "src/worker", "tests/api", "../outside", "/etc", "x" * 50, "", "ok"]),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(KEYS, st.text(max_size=8)), inner, max_size=4)
    ),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5)


def assert_manifest_or_clear_error(root: Path, text: str) -> None:
    (root / "configs" / "services.toml").write_text(text, encoding="utf-8")
    try:
        loaded = loader.load(project_dir=root)
    except ConfigError as exc:
        assert exc.exit_code == EXIT_CONFIG
        assert exc.message.startswith("configs/services.toml"), exc.message
        assert "\n" not in exc.message.split(".")[0]  # one line says where
        return
    assert all(service.name for service in loaded.services)


@SETTINGS
@given(document=DOCUMENTS)
def test_manifest__any_document_loads_or_is_a_clear_error(document: dict[str, object]) -> None:
    try:
        text = tomlkit.dumps(document)
    except tomlkit.exceptions.TOMLKitError:
        assume(False)  # not a document TOML can write (tomlkit says why): not a manifest to try
    with scratch_repo() as root:
        assert_manifest_or_clear_error(root, text)


@SETTINGS
@given(
    services=st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.fixed_dictionaries(
            {
                "source": st.lists(
                    st.sampled_from(["src/api", "src/worker", "src", "../x", "/tmp"]), max_size=2
                )
            },
            optional={
                "tests": st.lists(
                    st.sampled_from(["tests/api", "tests/worker", "tests", "nope"]), max_size=2
                ),
                "thresholds": st.dictionaries(
                    st.sampled_from(["line", "branch", "lines"]),
                    st.one_of(st.integers(-10, 120), st.floats(0, 100), st.text(max_size=3)),
                ),
                "shards": st.integers(-2, 200),
            },
        ),
        max_size=4,
    )
)
def test_manifest__any_services_table_loads_or_is_a_clear_error(services: dict[str, object]) -> None:
    with scratch_repo() as root:
        assert_manifest_or_clear_error(root, tomlkit.dumps({"services": services}))


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("[]=\"\n.ab0 #,{}\\'")), max_size=80))
def test_manifest__any_text_loads_or_is_a_clear_error(text: str) -> None:
    with scratch_repo() as root:
        assert_manifest_or_clear_error(root, text)


# ---- the diff parser: exactly the lines a diff adds ------------------------------------

LINES = st.lists(st.sampled_from(["a = 1", "b = 2", "", "# note", "return x", "if y:", "pass"]), max_size=25)
NAMES = st.sampled_from(["m.py", "pkg/mod.py", "with space.py", "naïve.py", "a-b/c_d.py", "é/ü.py"])


def git_quoted(path: str) -> str:
    """A path as git writes it: C-quoted, with octal bytes, when it is not plain ASCII
    (spaces stay as they are)."""
    if all(32 <= ord(c) < 127 and c not in '"\\' for c in path):
        return path
    body = "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\' else "".join(f"\\{b:03o}" for b in c.encode())
        for c in path
    )
    return f'"{body}"'


def unified_zero(path: str, old: list[str], new: list[str]) -> tuple[str, set[int]]:
    """`git diff --unified=0` text for one file, and the new line numbers it adds."""
    added: set[int] = set()
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            added.update(range(j1 + 1, j2 + 1))
    body = difflib.unified_diff(
        [line + "\n" for line in old], [line + "\n" for line in new], n=0, lineterm="\n"
    )
    hunks = [line for line in body if not line.startswith(("---", "+++"))]
    a_name, b_name = git_quoted(f"a/{path}"), git_quoted(f"b/{path}")
    tab = "\t" if " " in path else ""  # git ends ---/+++ names that have spaces with a tab
    header = (
        f"diff --git {a_name} {b_name}\nindex 0000000..1111111 100644\n--- {a_name}{tab}\n+++ {b_name}{tab}\n"
    )
    return header + "".join(hunks), added


@SETTINGS
@given(files=st.dictionaries(NAMES, st.tuples(LINES, LINES), max_size=4))
def test_diff_parser__finds_exactly_the_added_lines_of_any_diff(
    files: dict[str, tuple[list[str], list[str]]],
) -> None:
    text = ""
    expected: dict[str, set[int]] = {}
    for path, (old, new) in files.items():
        if old == new:
            continue  # git lists no unchanged file
        piece, added = unified_zero(path, old, new)
        text += piece
        expected[path] = added
    assert {change.path: set(change.added) for change in gitdiff.parse(text)} == expected


# ---- per-service figures: they add up to coverage.py's totals --------------------------

SERVICE_NAMES = ("api", "worker", "billing")


@SETTINGS
@given(
    shape=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=3),  # modules per service
    statements=st.integers(min_value=1, max_value=12),
    runs=st.lists(
        st.tuples(st.sampled_from(SERVICE_NAMES), st.integers(0, 8), st.sets(st.integers(1, 12))), max_size=10
    ),
)
def test_attribution__services_add_up_to_coverage_py_totals(
    shape: list[int], statements: int, runs: list[tuple[str, int, set[int]]]
) -> None:
    """Whatever each service's tests ran, in whoever's files: the services' owned lines sum
    to coverage.py's total, and no service's own tests cover more than the whole suite."""
    names = SERVICE_NAMES[: len(shape)]
    with scratch_repo() as root:
        manifest_text = ""
        files: list[Path] = []
        for name, modules in zip(names, shape, strict=True):
            (root / "src" / name).mkdir(parents=True, exist_ok=True)
            (root / "tests" / name).mkdir(parents=True, exist_ok=True)
            manifest_text += f'[services.{name}]\nsource = ["src/{name}"]\ntests = ["tests/{name}"]\n\n'
            for index in range(modules):
                module = root / "src" / name / f"m{index}.py"
                module.write_text("".join(f"v{n} = {n}\n" for n in range(statements)), encoding="utf-8")
                files.append(module)
        (root / "configs" / "services.toml").write_text(manifest_text, encoding="utf-8")
        data = CoverageData(basename=str(root / "combined"))
        for context, which, lines in runs:
            if context not in names:
                continue
            data.set_context(context)
            data.add_lines(
                {str(files[which % len(files)].relative_to(root)): {n for n in lines if n <= statements}}
            )
        data.add_lines({str(f.relative_to(root)): set() for f in files})  # every file measured
        data.write()

        previous = Path.cwd()
        os.chdir(root)
        try:
            loaded = loader.load(project_dir=root)
            _, shared = open_coverage(loaded, root / "combined", cache=False)
            services = service_figures(shared, loaded)
            oracle = Coverage(data_file=str(root / "combined"), config_file=False)
            oracle.set_option("run:relative_files", True)
            oracle.load()
            oracle.json_report(outfile=str(root / "oracle.json"))
        finally:
            os.chdir(previous)
        totals = json.loads((root / "oracle.json").read_text(encoding="utf-8"))["totals"]
        whole = sum_figures(s.whole for s in services)
        assert whole.statements == totals["num_statements"] == statements * len(files)
        assert whole.covered == totals["covered_lines"]
        for service in services:
            assert service.isolated.covered <= service.whole.covered
            assert service.isolated.statements == service.whole.statements


# Folders (and one file) services may declare as sources, nested in one another on purpose:
# the manifest's loader refuses overlapping sources, the owner lookup must still be exact.
SOURCE_PARTS = ("a", "a/b", "a/b/c", "d", "d/e.py", "f")


@SETTINGS
@given(
    declared=st.lists(
        st.lists(st.sampled_from(SOURCE_PARTS), min_size=1, max_size=3), min_size=1, max_size=5
    ),
    asked=st.lists(
        st.sampled_from(("a/x.py", "a/b/x.py", "a/b/c/d/x.py", "d/e.py", "d/x.py", "f/x.py", "g/x.py"))
    ),
)
def test_owner__the_first_service_whose_source_holds_the_file(
    declared: list[list[str]], asked: list[str]
) -> None:
    """Manifest.owner finds a file's owner from the file's own path and its parents (linear in
    the files, at hundreds of services); the answer is the first service, in manifest order,
    one of whose sources holds it, as asking every service in turn would say."""
    import dataclasses

    with scratch_repo() as folder:
        (folder / "configs/services.toml").write_text(
            '[services.api]\nsource = ["src/api"]\ntests = ["tests/api"]\n', encoding="utf-8"
        )
        loaded = loader.load(project_dir=folder)
    base = folder / "repo"
    template = loaded.services[0]
    services = tuple(
        dataclasses.replace(template, name=f"s{index}", source=tuple(base / part for part in parts))
        for index, parts in enumerate(declared)
    )
    manifest = dataclasses.replace(loaded, services=services)
    for relative in asked:
        path = base / relative
        expected = next((service for service in services if service.owns(path)), None)
        assert manifest.owner(path) is expected


@SETTINGS
@given(
    declared=st.lists(st.lists(st.sampled_from(SOURCE_PARTS), min_size=1, max_size=2), min_size=1, max_size=5)
)
def test_overlapping_sources__refused_exactly_when_two_of_them_hold_a_common_file(
    declared: list[list[str]],
) -> None:
    """The loader's overlap check (linear, for a thousand services) refuses a manifest exactly
    when some two sources, of one service or two, are one inside the other."""
    sources = [part for parts in declared for part in parts]
    overlapping = any(
        Path(a) == Path(b) or Path(a).is_relative_to(b) or Path(b).is_relative_to(a)
        for index, a in enumerate(sources)
        for b in sources[index + 1 :]
    )
    with scratch_repo() as folder:
        for part in (*sources, "tests"):
            (folder / "repo" / part).mkdir(parents=True, exist_ok=True)
        text = '[settings]\nroot = "repo"\n' + "".join(
            f'\n[services.s{index}]\nsource = {json.dumps(parts)}\ntests = ["tests"]\n'
            for index, parts in enumerate(declared)
        )
        (folder / "configs/services.toml").write_text(text, encoding="utf-8")
        try:
            loader.load(project_dir=folder)
        except ConfigError as exc:
            assert overlapping and "overlaps" in str(exc), exc
        else:
            assert not overlapping
