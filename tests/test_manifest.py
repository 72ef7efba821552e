"""The manifest loader: valid manifests load, every mistake names file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tasks.config import loader, manifest
from tasks.errors import EXIT_CONFIG, ConfigError

GOOD = """
[settings]
root = "repo"

[settings.thresholds]
line = 70

[services.api]
source = ["src/api"]
tests = ["tests/api"]

[services.api.thresholds]
line = 50
branch = 40

[services.worker]
working_dir = "services/worker"
source = ["src/worker"]
tests = ["tests"]
pytest_args = ["-q"]
"""


def make_repo(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "services" / "worker").mkdir(parents=True, exist_ok=True)
    for folder in (
        "repo/src/api",
        "repo/tests/api",
        "repo/services/worker/src/worker",
        "repo/services/worker/tests",
    ):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "repo/services/worker/pyproject.toml").write_text("")
    (tmp_path / "configs").mkdir(exist_ok=True)
    return tmp_path


def load_text(tmp_path: Path, text: str) -> manifest.Manifest:
    make_repo(tmp_path)
    (tmp_path / "configs" / "services.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return loader.load(project_dir=tmp_path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    assert caught.value.exit_code == EXIT_CONFIG
    return caught.value.message


def test_load__valid_manifest_resolves_paths(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, GOOD)
    assert loaded.names == ("api", "worker")
    api, worker = loaded.services
    assert api.cwd == tmp_path / "repo"
    assert api.source == (tmp_path / "repo/src/api",)
    assert api.thresholds == manifest.Thresholds(line=50.0, branch=40.0)
    assert worker.cwd == tmp_path / "repo/services/worker"
    assert worker.source == (tmp_path / "repo/services/worker/src/worker",)
    assert worker.tests == ("tests",)
    assert worker.pytest_args == ("-q",)
    assert worker.thresholds == manifest.Thresholds()
    assert loaded.thresholds.line == 70.0
    assert loaded.data_dir == tmp_path / ".coverage-data"
    assert loaded.owner(tmp_path / "repo/src/api/x.py") is api
    assert loaded.owner(tmp_path / "repo/src/other.py") is None


@pytest.mark.parametrize(
    ("case", "replace", "by", "expected"),
    [
        (
            "misspelled_key",
            'tests = ["tests/api"]',
            'tets = ["tests/api"]',
            ["services.toml:10:", "services.api.tets", "Did you mean 'tests'?"],
        ),
        (
            "misspelled_threshold",
            "branch = 40",
            "brnch = 40",
            ["services.toml:14:", "services.api.thresholds.brnch", "'branch'"],
        ),
        (
            "misspelled_table",
            "[settings]",
            "[setings]",
            ["services.toml:2:", "setings", "Did you mean 'settings'?"],
        ),
        (
            "threshold_out_of_range",
            "line = 50",
            "line = 150",
            ["services.toml:13:", "services.api.thresholds.line", "0 to 100"],
        ),
        (
            "threshold_wrong_type",
            "line = 50",
            'line = "high"',
            ["services.api.thresholds.line", "got a string"],
        ),
        ("absolute_path", '["src/api"]', '["/etc"]', ["services.api.source", "absolute"]),
        (
            "escaping_path",
            '["src/api"]',
            '["../../outside"]',
            ["services.api.source", "outside the repository"],
        ),
        (
            "missing_path",
            '["tests/api"]',
            '["tests/nope"]',
            ["services.toml:10:", "services.api.tests", "does not exist"],
        ),
        (
            "bad_name",
            "[services.worker]",
            '[services."work er"]',
            ["services.work er", "usable service name"],
        ),
        (
            "overlap",
            'source = ["src/worker"]',
            'source = ["../../src"]',
            ["services.worker.source", "overlaps", "'api'"],
        ),
        ("missing_tests", 'tests = ["tests"]', "", ["services.worker.tests", "missing"]),
        (
            "wrong_list",
            'pytest_args = ["-q"]',
            "pytest_args = 3",
            ["services.worker.pytest_args", "list of strings"],
        ),
        ("reserved_name", "[services.worker]", "[services.Combined]", ["services.Combined", "reserved"]),
        ("nul_in_path", '["src/api"]', '["src/api\\u0000"]', ["services.api.source", "not a usable path"]),
        ("file_as_source", 'source = ["src/worker"]', 'source = ["pyproject.toml"]', ["is a file"]),
        (
            "settings_not_table",
            '[settings]\nroot = "repo"\n\n[settings.thresholds]\nline = 70',
            "settings = 5",
            ["settings", "expected a table"],
        ),
        (
            "thresholds_not_table",
            "[services.api.thresholds]\nline = 50\nbranch = 40",
            'thresholds = "x"',
            ["expected a table"],
        ),
        (
            "gate_bad_mode",
            "[services.api]\n",
            '[gate]\nfile = "maybe"\n\n[services.api]\n',
            ["gate.file", "'maybe' is not a mode"],
        ),
    ],
)
def test_load__mistake_names_line_and_key(
    tmp_path: Path, case: str, replace: str, by: str, expected: list[str]
) -> None:
    text = GOOD.replace(replace, by, 1)
    assert text != GOOD, case
    message = error_of(tmp_path, text)
    for fragment in expected:
        assert fragment in message, (case, message)


def test_load__syntax_error_names_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace('root = "repo"', "root = repo"))
    assert "services.toml" in message
    assert "line 3" in message
    assert "not valid TOML" in message


def test_load__duplicate_service_is_a_syntax_error_with_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD + '\n[services.api]\nsource = ["src/api"]\ntests = ["tests/api"]\n')
    assert "Cannot declare ('services', 'api') twice (at line 22" in message


def test_load__no_services(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[settings]\nroot = "repo"\n')
    assert "no services declared" in message


def test_load__missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="manifest not found"):
        loader.load(project_dir=tmp_path)


def test_load__symlink_out_of_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    make_repo(tmp_path)
    (tmp_path / "repo" / "linked").symlink_to(outside)
    text = GOOD.replace('["src/api"]', '["linked"]')
    (tmp_path / "configs" / "services.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError, match="symbolic link"):
        loader.load(project_dir=tmp_path)


def test_service__unknown_name_suggests_closest(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, GOOD)
    with pytest.raises(ConfigError) as caught:
        loaded.service("apj")
    assert "unknown service 'apj'" in caught.value.message
    assert "Did you mean 'api'?" in caught.value.message


def test_default_manifest__loads_and_declares_the_example(tmp_path: Path) -> None:
    kit = Path(__file__).resolve().parent.parent
    loaded = loader.load(project_dir=kit)
    assert loaded.names == ("xp", "auth", "discord")
    assert loaded.root == kit / "examples" / "monorepo"


def test_load__data_dir_that_is_a_file(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "README.md").write_text("hello")
    message = error_of(tmp_path, GOOD.replace('root = "repo"', 'root = "repo"\ndata_dir = "README.md"'))
    assert "settings.data_dir" in message and "is a file" in message


GOALS = """
[gate]
tolerance = 1.5
noise = 0.2

[goals.total]
line = 80
by = 2027-06-30
milestones = [60, 40, 80]

[goals.api]
branch = 70
by = "2027-01-31"

[ratchet]
margin = 0.5
"""


def test_load__goals_gate_tolerance_and_ratchet(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, GOOD + GOALS)
    total, api = loaded.goals
    assert (total.scope, total.line, total.branch, str(total.by)) == ("total", 80.0, None, "2027-06-30")
    assert total.milestones == (40.0, 60.0, 80.0)  # sorted
    assert (api.scope, api.branch, str(api.by)) == ("api", 70.0, "2027-01-31")
    assert (loaded.gate.tolerance, loaded.gate.noise) == (1.5, 0.2)
    assert loaded.ratchet.margin == 0.5
    assert loaded.ratchet.pyproject is None  # repo/pyproject.toml does not exist
    assert loaded.history == tmp_path / ".coverage-history" / "history.db"


def test_load__ratchet_pyproject_defaults_to_the_roots(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "repo" / "pyproject.toml").write_text("[tool.coverage.report]\nfail_under = 50\n")
    assert load_text(tmp_path, GOOD).ratchet.pyproject == tmp_path / "repo" / "pyproject.toml"


@pytest.mark.parametrize(
    ("case", "replace", "by", "expected"),
    [
        ("unknown_scope", "[goals.api]", "[goals.apx]", ["goals.apx", "Did you mean 'api'?"]),
        ("bad_date", 'by = "2027-01-31"', 'by = "soon"', ["goals.api.by", "2027-06-30"]),
        ("datetime", "by = 2027-06-30", "by = 2027-06-30T10:00:00", ["goals.total.by", "without a time"]),
        (
            "milestone_range",
            "milestones = [60, 40, 80]",
            "milestones = [60, 140]",
            ["goals.total.milestones"],
        ),
        ("milestones_not_list", "milestones = [60, 40, 80]", "milestones = 60", ["list of percentages"]),
        ("empty_goal", "branch = 70\nby", "by", ["goals.api", "declares nothing"]),
        ("noise_wider", "noise = 0.2", "noise = 3", ["gate.noise", "wider than the tolerance 1.5"]),
        ("tolerance_type", "tolerance = 1.5", 'tolerance = "x"', ["gate.tolerance", "got a string"]),
        ("ratchet_key", "margin = 0.5", "margins = 0.5", ["ratchet.margins", "Did you mean 'margin'?"]),
        ("ratchet_outside", "margin = 0.5", 'pyproject = "../../x.toml"', ["ratchet.pyproject", "outside"]),
        ("goal_key", "line = 80\nby", "lines = 80\nby", ["goals.total.lines", "Did you mean 'line'?"]),
    ],
)
def test_load__goal_and_ratchet_mistakes(
    tmp_path: Path, case: str, replace: str, by: str, expected: list[str]
) -> None:
    text = (GOOD + GOALS).replace(replace, by, 1)
    assert text != GOOD + GOALS, case
    message = error_of(tmp_path, text)
    for fragment in expected:
        assert fragment in message, (case, message)


def test_load__total_is_a_reserved_service_name(tmp_path: Path) -> None:
    assert "reserved" in error_of(tmp_path, GOOD.replace("[services.worker]", "[services.total]"))


def test_load__components_noisy_and_editor_dir(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "repo/src/api/views.py").write_text("x = 1\n")
    loaded = load_text(
        tmp_path,
        GOOD.replace(
            "[services.api.thresholds]",
            '[services.api.components]\nweb = ["src/api/views.py"]\n\n[services.api.thresholds]',
        )
        + '\n[gate]\nnoisy = ["src/api/views.py:3-5", "src/api/views.py"]\n',
    )
    api = loaded.service("api")
    views = tmp_path / "repo/src/api/views.py"
    assert api.components == (("web", (views,)),)
    assert api.component(views) == "web" and api.component(tmp_path / "repo/src/api/other.py") is None
    assert [(n.path, sorted(n.lines)) for n in loaded.gate.noisy] == [(views, [3, 4, 5]), (views, [])]
    assert loaded.editor_dir is None  # editor files only when the manifest asks for them


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        ('[gate]\nnoisy = ["src/api/views.py:5-3"]', ["gate.noisy", "from low to high"]),
        ('[gate]\nnoisy = ["src/api/views.py:0"]', ["gate.noisy", "count from 1"]),
        ('[gate]\nnoisy = ["src/api"]', ["gate.noisy", "not a file"]),
        ('[gate]\nnoisy = ["../../etc/passwd:1"]', ["gate.noisy", "outside the repository"]),
        (
            '[services.api.components]\nweb = ["src/worker"]',
            ["services.api.components.web", "does not exist"],
        ),
        (
            '[services.api.components]\nweb = ["tests/api"]',
            ["services.api.components.web", "outside the service"],
        ),
        ("[services.api.components]\nweb = []", ["services.api.components.web", "at least one"]),
        ('[settings]\neditor_dir = "../.."', ["settings.editor_dir", "outside the repository"]),
    ],
)
def test_load__component_noisy_and_editor_mistakes(
    tmp_path: Path, addition: str, expected: list[str]
) -> None:
    make_repo(tmp_path)
    (tmp_path / "repo/src/api/views.py").write_text("x = 1\n")
    text = GOOD + "\n" + addition + "\n"
    if addition.startswith("[settings]"):
        text = GOOD.replace('root = "repo"', 'root = "repo"\n' + addition.split("\n", 1)[1])
    if addition.startswith("[services.api.components]"):
        text = GOOD.replace("[services.api.thresholds]", addition + "\n\n[services.api.thresholds]")
    message = error_of(tmp_path, text)
    for fragment in expected:
        assert fragment in message, message


def test_load__every_name_the_kit_gives_a_file_or_folder_is_a_reserved_service_name(tmp_path: Path) -> None:
    from tasks.config import layout

    kit_names = {
        layout.COMBINED_NAME,
        layout.FAILED_DIR,
        layout.STALE_DIR,
        layout.SLICES_DIR,
        layout.STABILITY_DIR,
        layout.CACHE_FILE.split("/")[0],
    }
    assert kit_names <= manifest.RESERVED_NAMES
    for name in sorted(kit_names):
        message = error_of(tmp_path, GOOD.replace("[services.worker]", f"[services.{name}]"))
        assert f"services.{name}: '{name}' is reserved" in message, message


def test_load__service_names_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace("[services.worker]", "[services.API]")
    message = error_of(tmp_path, text)
    assert "services.API: differs from service 'api' only in case" in message, message


def test_load__timeout_per_service_or_from_settings(tmp_path: Path) -> None:
    text = GOOD.replace("[settings]\n", "[settings]\ntimeout = 600\n", 1).replace(
        "[services.api]\n", "[services.api]\ntimeout = 30\n", 1
    )
    loaded = load_text(tmp_path, text)
    assert {s.name: s.timeout for s in loaded.services} == {"api": 30, "worker": 600}
    assert "expected a whole number from 1 to 86400" in error_of(
        tmp_path, GOOD.replace("[services.api]\n", "[services.api]\ntimeout = 0\n", 1)
    )


DEFAULTS = """
[settings]
root = "repo"
install = ["-r", "requirements-test.txt"]
pytest_args = ["-p", "no:randomly"]
python = "3.12"
env = { DATABASE_URL = "postgresql:///test_{service}", MODE = "test" }

[services.api]
source = ["src/api"]
tests = ["tests/api"]
extend_install = ["-e", "src/api"]
env = { MODE = "api-only", PORT = "80{service}" }

[services.worker]
working_dir = "services/worker"
source = ["src/worker"]
tests = ["tests"]
install = ["worker-deps"]
extend_pytest_args = ["-x"]
python = "3.13"
"""


def test_load__settings_give_defaults_a_service_replaces_extends_or_merges(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, DEFAULTS)
    api, worker = loaded.services
    assert api.install == ("-r", "requirements-test.txt", "-e", "src/api")  # extended
    assert worker.install == ("worker-deps",)  # replaced
    assert api.pytest_args == ("-p", "no:randomly")  # inherited
    assert worker.pytest_args == ("-p", "no:randomly", "-x")  # extended
    assert (api.python, worker.python) == ("3.12", "3.13")
    assert dict(api.env) == {"DATABASE_URL": "postgresql:///test_api", "MODE": "api-only", "PORT": "80api"}
    assert dict(worker.env) == {"DATABASE_URL": "postgresql:///test_worker", "MODE": "test"}
    # [settings] extend_install: after every service's list, replaced, extended or inherited.
    pinned = load_text(
        tmp_path, DEFAULTS.replace("[settings]\n", '[settings]\nextend_install = ["mcp==1.28.1"]\n')
    )
    assert [s.install for s in pinned.services] == [
        ("-r", "requirements-test.txt", "-e", "src/api", "mcp==1.28.1"),
        ("worker-deps", "mcp==1.28.1"),
    ]
    # Without defaults: nothing inherited.
    plain = load_text(tmp_path, GOOD)
    assert all((s.python, s.env, s.install) == (None, (), ()) for s in plain.services)


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            'python = "3.12"',
            'python = "3.12.1; rm -rf"',
            'settings.python: expected a Python version such as "3.12"',
        ),
        ('python = "3.13"', "python = 3.13", "services.worker.python: expected a Python version"),
        ('MODE = "test"', "MODE = 1", "settings.env.MODE: expected a string, got a number"),
        ('MODE = "test"', 'COVERAGE_RCFILE = "x"', "settings.env.COVERAGE_RCFILE: the kit sets the run's"),
        ('MODE = "test"', 'coverage_core = "sysmon"', "settings.env.coverage_core: the kit sets the run's"),
        ('PORT = "80{service}"', '"BAD-NAME" = "x"', "services.api.env.BAD-NAME: not a variable name"),
        (
            'extend_install = ["-e", "src/api"]',
            "extend_install = 3",
            "services.api.extend_install: expected a list",
        ),
    ],
)
def test_load__default_and_inherited_mistakes(tmp_path: Path, old: str, new: str, says: str) -> None:
    assert old in DEFAULTS
    assert says in error_of(tmp_path, DEFAULTS.replace(old, new, 1))
