"""The GitHub workflows parse, and everything they call exists (a drift test): every nox
session and tag in `nox --json -l`, every argument after `--` in the kit's parser, every
matrix key in the matrix the kit generates, every job output in the job that sets it. And
they work where the kit is vendored: every kit command is a nox session (the jobs install
nox alone), and its outputs go through KIT_DIR, whose env line is all that adopting the kit
rewrites."""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from tasks.cli import main as cli
from tasks.gate.comment import MARKER
from tasks.measure import matrix
from tests.conftest import KIT, nox, run

WORKFLOWS = sorted((KIT / ".github/workflows").glob("*.yml"))
# The kit command behind each nox session that passes its arguments on.
SESSION_COMMANDS = {
    "combine": "combine",
    "report": "report",
    "gate": "gate",
    "baseline": "baseline",
    "affected": "affected",
    "matrix": "matrix",
}
# The workflows that run the kit, and the env lines that say where it lives: these exact
# lines, in the kit's own repository; adopting the kit replaces them as text.
KIT_WORKFLOWS = ("coverage.yml", "maintenance.yml")
KIT_ENV_LINES = {"KIT_DIR": '  KIT_DIR: "."\n'}
ADOPTED = {"KIT_DIR": ".coverage-workflows"}


def parse(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def load(path: Path) -> dict[str, Any]:
    return parse(path.read_text(encoding="utf-8"))


def steps(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in document["jobs"].items() for step in job.get("steps", [])]


@dataclass
class NoxCall:
    sessions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    posargs: list[str] = field(default_factory=list)


def commands(script: str) -> list[list[str]]:
    """Simple commands of a step's script: words, split at pipes, command separators and
    parentheses (a subshell, `$(...)`), so `(cd "$KIT_DIR" && python -m ...)` is two."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True  # `$VAR` and `--option=value` stay one word each
        current: list[str] = []
        words = iter([*lexer, ";"])
        for word in words:
            if word in {">", ">>", "<"}:
                next(words, None)  # a redirection and its file are the shell's, not the command's
            elif set(word) <= set("|;&()"):
                if current:
                    found.append(current)
                current = []
            else:
                current.append(word)
    return found


def nox_calls(script: str) -> list[NoxCall]:
    calls = []
    for words in commands(script):
        if words[0] != "nox":
            continue
        call, target = NoxCall(), None
        args = iter(words[1:])
        for word in args:
            if word == "--":
                call.posargs = [w for w in args if w not in {">", ">>"}]
                break
            if word in {"-s", "--session", "--sessions"}:
                target = call.sessions
            elif word in {"-t", "--tags"}:
                target = call.tags
            elif word.startswith("-"):
                target = None
            elif target is not None:
                target.append(word)
        calls.append(call)
    return calls


SCRIPTS = sorted((KIT / ".github/scripts").glob("*.sh"))


def scripts() -> list[tuple[Path, str]]:
    """Every shell script the workflows run: their `run:` blocks and the scripts they call."""
    blocks = [(path, step["run"]) for path in WORKFLOWS for _, step in steps(load(path)) if "run" in step]
    return blocks + [(path, path.read_text(encoding="utf-8")) for path in SCRIPTS]


def all_calls() -> list[tuple[Path, NoxCall]]:
    return [(path, call) for path, script in scripts() for call in nox_calls(script)]


def placeholder(word: str) -> str:
    """Shell variables in arguments stand for values of their kind."""
    return re.sub(r"\$\{?\w+\}?", "1", word)


def kit_commands(script: str) -> list[tuple[list[str], list[str] | None]]:
    """`python -m MODULE ...` other than pip, each with the command before it in its script."""
    found = commands(script)
    return [
        (words, found[i - 1] if i else None)
        for i, words in enumerate(found)
        if words[:2] == ["python", "-m"] and words[2:3] != ["pip"]
    ]


def values(document: dict[str, Any]) -> list[str]:
    """What the runner evaluates or runs: every `if:`, `run:` and `with:` value (not names)."""
    found = []
    for job in document["jobs"].values():
        found += [job["if"]] if isinstance(job.get("if"), str) else []
        for step in job.get("steps", []):
            found += [step[key] for key in ("if", "run") if isinstance(step.get(key), str)]
            found += [value for value in step.get("with", {}).values() if isinstance(value, str)]
    return found


# A kit output named in a workflow or script: its reports folder (under the kit's folder),
# the data folder or a matrix entry's data file from the matrix job (relative to the
# repository, as the kit names every file).
REPORTS = re.compile(r"(?<![\w-])reports(?:/|$|(?=[\"']))", re.MULTILINE)
DATA = re.compile(r"\$\{\{\s*(?:needs\.matrix\.outputs\.data-dir|matrix\.data)\s*\}\}")


def outside_the_kit(text: str, kit_dir: str) -> list[str]:
    """The kit outputs in `text` named wrongly: a reports path that does not start with the
    kit's folder, or a data path from the matrix job with a folder put before it, once the
    folder's three spellings are read as `kit_dir`: `${{ env.KIT_DIR }}` (with:),
    `format('{0}/...', env.KIT_DIR)` (if:), `$KIT_DIR` (run: and scripts)."""
    resolved = re.sub(r"format\('\{0\}/([^']*)',\s*env\.KIT_DIR\)", rf"'{kit_dir}/\1'", text)
    resolved = re.sub(r"\$\{\{\s*env\.KIT_DIR\s*\}\}", kit_dir, resolved)
    resolved = resolved.replace('"$KIT_DIR"', kit_dir).replace("$KIT_DIR", kit_dir)
    # Reports are named by the workflow; data paths come from the matrix job, which names
    # them from the repository's top already (the kit folder is in them): never prefixed.
    return [
        resolved[max(0, match.start() - 40) : match.end() + 20]
        for match in REPORTS.finditer(resolved)
        if not resolved[: match.start()].endswith(f"{kit_dir}/")
    ] + [
        resolved[max(0, match.start() - 40) : match.end() + 20]
        for match in DATA.finditer(resolved)
        if resolved[: match.start()].endswith("/")
    ]


def test_workflows__exist_and_parse() -> None:
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "coverage.yml", "maintenance.yml"]
    for path in WORKFLOWS:
        document = load(path)
        assert document["on"], path
        assert document["jobs"], path
        for job_id, step in steps(document):
            assert ("uses" in step) != ("run" in step), f"{path.name} {job_id}: {step}"


def test_workflows__scripts_are_valid_bash_and_the_called_ones_exist() -> None:
    for path, script in scripts():
        checked = run(["bash", "-n"], KIT, input_text=script)
        assert checked.returncode == 0, f"{path.name}: {checked.stderr}\n{script}"
    called = {
        word
        for _, script in scripts()
        for words in commands(script)
        for word in words[:1]
        if word.startswith(".github/")
    }
    assert called == {".github/scripts/coverage-history.sh"}
    for relative in called:
        assert os.access(KIT / relative, os.X_OK), f"{relative} is not executable"


def test_workflows__every_session_and_tag_exists_in_nox() -> None:
    calls = all_calls()
    sessions = sorted({name for _, call in calls for name in call.sessions if not name.startswith("$")})
    tags = sorted({tag for _, call in calls for tag in call.tags})
    assert {"combine", "report", "gate", "baseline", "maintenance", "lint", "tests"} <= set(sessions)
    assert tags == ["coverage"]
    listed = nox(KIT, "--json", "-l", "-s", *sessions)
    assert listed.returncode == 0, listed.output  # nox names any session it does not know
    # Listed by name: a session on several Pythons once per Python (tests-3.11, tests-3.13), and
    # beside them the sessions they require (the shared environments).
    assert set(sessions) <= {entry["name"] for entry in json.loads(listed.stdout)}
    for tag in tags:
        tagged = nox(KIT, "--json", "-l", "-t", tag)
        assert tagged.returncode == 0 and json.loads(tagged.stdout), tagged.output


def test_workflows__arguments_after_the_separator_are_the_kits() -> None:
    checked = 0
    for path, call in all_calls():
        if not call.posargs:
            continue
        for session in call.sessions:
            if session.startswith("$"):  # a coverage-<service> session from the matrix
                argv = ["run", "xp", *map(placeholder, call.posargs)]
            else:
                argv = [SESSION_COMMANDS[session], *map(placeholder, call.posargs)]
            try:
                _, extra = cli.parser().parse_known_args(argv)
            except SystemExit:
                pytest.fail(f"{path.name}: nox -s {session} -- {' '.join(call.posargs)}: the kit refuses it")
            assert not extra, f"{path.name}: {session} does not know {extra}"
            checked += 1
    assert checked >= 5  # the shard run, gate, baseline --set, --import, --export


def test_workflows__run_the_kit_through_nox_only() -> None:
    """The jobs install nox and nothing else: `python -m` of the kit's package there would
    find none of its dependencies (coverage.py, tomlkit). Each kit command is a nox session,
    which builds the kit's environment first."""
    for path in WORKFLOWS:
        for _, step in steps(load(path)):
            if "run" in step:
                assert kit_commands(step["run"]) == [], f"{path.name}: {step['run']}"
    sessions = {name for _, call in all_calls() for name in call.sessions}
    assert {"matrix", "affected", "combine", "report", "gate", "baseline"} <= sessions, sessions


def test_workflows__say_where_the_kit_lives_and_find_its_outputs_there() -> None:
    for name in KIT_WORKFLOWS:
        path = KIT / ".github/workflows" / name
        text = path.read_text(encoding="utf-8")
        for line in KIT_ENV_LINES.values():
            assert text.count(line) == 1, f"{name}: the top-level env: has the line {line!r} once"
        document = load(path)
        assert document["env"]["KIT_DIR"] == ".", name
        kit_dir = document["env"]["KIT_DIR"]
        assert outside_the_kit("\n".join(values(document)), kit_dir) == [], name
    for path in SCRIPTS:  # run from the repository's top, with the workflow's env
        script = path.read_text(encoding="utf-8")
        assert "KIT_DIR=${KIT_DIR:-.}" in script, path.name
        assert outside_the_kit(script, ".") == [], path.name
    # The kit's process runs in its folder: a history file at the top is named absolutely.
    files = [
        call.posargs[call.posargs.index(option) + 1]
        for _, call in all_calls()
        for option in ("--import", "--export")
        if option in call.posargs
    ]
    assert len(files) == 2 and all(file == "$PWD/history.jsonl" for file in files), files


def test_workflows__adopted_into_a_kit_folder_still_parse_and_use_it() -> None:
    for name in KIT_WORKFLOWS:
        adopted = (KIT / ".github/workflows" / name).read_text(encoding="utf-8")
        for key, line in KIT_ENV_LINES.items():
            adopted = adopted.replace(line, f'  {key}: "{ADOPTED[key]}"\n')
        document = parse(adopted)
        assert {key: document["env"].get(key) for key in ADOPTED} == ADOPTED, name
        evaluated = values(document)
        # No kit command by the package's own name (the env comment that names `python -m
        # tasks adopt` is a comment, not a value).
        assert not [value for value in evaluated if re.search(r"python -m \"?tasks\b", value)], name
        # Every reports/ path starts with .coverage-workflows/; data paths come as the matrix names them.
        assert outside_the_kit("\n".join(evaluated), document["env"]["KIT_DIR"]) == [], name


def test_coverage_workflow__matrix_keys_and_outputs_are_the_generators(tmp_path: Path) -> None:
    workflow = (KIT / ".github/workflows/coverage.yml").read_text(encoding="utf-8")
    document = load(KIT / ".github/workflows/coverage.yml")
    job_keys = {f.name for f in fields(matrix.Job)}
    used = set(re.findall(r"(?<![.\w])matrix\.(\w+)", workflow))  # not needs.matrix.outputs
    assert used <= job_keys, used - job_keys  # `service` is also the codecov matrix's
    assert {"runs", "data", "artifact", "name"} <= used

    # The matrix job's outputs are what `matrix --github-output` writes, run as the workflow
    # runs it: nox at the top, the listing first, then the session.
    output = tmp_path / "github_output"
    listing = nox(KIT, "--json", "-l", "-t", "coverage")
    (tmp_path / "listing.json").write_text(listing.stdout)
    listed = ("--github-output", "--listing", str(tmp_path / "listing.json"))
    generated = nox(KIT, "-s", "matrix", "--", *listed, env={"GITHUB_OUTPUT": str(output)})
    assert generated.returncode == 0, generated.output
    written = {line.split("=", 1)[0] for line in output.read_text().splitlines()}
    # On pull requests the same step runs `affected`, which writes the same and what it carries.
    on_pulls = tmp_path / "github_output_affected"
    affected = nox(
        KIT, "-s", "affected", "--", "--base", "HEAD", *listed, env={"GITHUB_OUTPUT": str(on_pulls)}
    )
    assert affected.returncode == 0, affected.output
    written_on_pulls = {line.split("=", 1)[0] for line in on_pulls.read_text().splitlines()}
    assert written <= written_on_pulls
    matrix_job = document["jobs"]["matrix"]
    declared = set(re.findall(r"steps\.matrix\.outputs\.([\w-]+)", json.dumps(matrix_job["outputs"])))
    assert declared <= written_on_pulls and written <= declared, (declared, written, written_on_pulls)
    needed = set(re.findall(r"needs\.matrix\.outputs\.([\w-]+)", workflow))
    assert needed <= set(matrix_job["outputs"]), needed
    combine_outputs = set(re.findall(r"needs\.combine\.outputs\.([\w-]+)", workflow))
    assert combine_outputs <= set(document["jobs"]["combine"]["outputs"])


def test_coverage_workflow__shape() -> None:
    document = load(KIT / ".github/workflows/coverage.yml")
    assert set(document["on"]) >= {"pull_request", "push"}
    jobs = document["jobs"]
    assert jobs["measure"]["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    upload = next(step for step in jobs["measure"]["steps"] if "upload-artifact" in step.get("uses", ""))
    assert upload["with"]["include-hidden-files"] is True
    assert upload["with"]["if-no-files-found"] == "error"
    download = next(step for step in jobs["combine"]["steps"] if "download-artifact" in step.get("uses", ""))
    assert download["with"]["pattern"] == f"{matrix.ARTIFACT_PREFIX}*"
    assert "!cancelled()" in jobs["combine"]["if"]  # runs after a failed shard, to name it
    codecov = jobs["codecov"]
    # Off without a token; on when the gate failed too (that is when it matters).
    assert codecov["if"] == "${{ !cancelled() && needs.combine.outputs.codecov == 'true' }}"
    assert "flags" in json.dumps(codecov["steps"])
    assert "!cancelled()" in jobs["history"]["if"] and "refs/heads/main" in jobs["history"]["if"]
    # Runs of main are neither cancelled nor dropped while pending: each records its snapshot.
    # A concurrency group holds one pending run and cancels the one it replaces, so each run of
    # main has a group of its own (its run id); a pull request's newer run cancels its older.
    concurrency = document["concurrency"]
    per_run = "${{ github.event_name == 'pull_request' && github.ref || github.run_id }}"
    assert concurrency["group"] == f"coverage-{per_run}"
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    assert "concurrency" not in jobs["history"]  # its save merges and retries instead
    assert "concurrency" not in load(KIT / ".github/workflows/maintenance.yml")
    uploads = [
        step
        for job in jobs.values()
        for step in job.get("steps", [])
        if "upload-artifact" in step.get("uses", "")
    ]
    assert len(uploads) == 4 and all(step["with"]["overwrite"] is True for step in uploads)
    # The history job runs after a failed gate, so what it downloads must be uploaded then too.
    kept = next(
        step for step in jobs["combine"]["steps"] if step.get("name", "").startswith("Keep the combined")
    )
    assert kept["if"].startswith("${{ !cancelled()")
    # Nothing reads it on a pull request; the history job reads it on main, pushed or run by hand.
    history_runs_on = "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    for condition in (kept["if"], jobs["history"]["if"]):
        assert history_runs_on in " ".join(condition.split())
    reports = next(
        step for step in jobs["combine"]["steps"] if step.get("with", {}).get("name") == "coverage-reports"
    )
    assert reports["with"]["include-hidden-files"] is True  # .made-from.json goes with them


def test_maintenance_and_ci_workflows__shape() -> None:
    maintenance = load(KIT / ".github/workflows/maintenance.yml")
    assert set(maintenance["on"]) == {"schedule", "workflow_dispatch"}
    ci = load(KIT / ".github/workflows/ci.yml")
    assert ci["jobs"]["tests"]["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]


# -- what an adopter can trust (zizmor --offline in `nox -s lint` checks the same, docs/ci.md) --

USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")
VERSION = re.compile(r"^v\d+(?:\.\d+){0,2}$")  # the tag the commit was resolved from
HISTORY = ".github/scripts/coverage-history.sh"


def job_scripts(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def pushes(job: dict[str, Any]) -> bool:
    """The job pushes to the repository: it saves the history to its branch."""
    return any(f"{HISTORY} save" in script for script in job_scripts(job))


def reads_runs(job: dict[str, Any]) -> bool:
    """The job lists the workflow's runs or downloads another run's artifacts (gh run)."""
    return any(re.search(r"\bgh run (list|download)\b", script) for script in job_scripts(job))


def comments(job: dict[str, Any]) -> bool:
    """The job writes a pull-request comment."""
    return any("gh api" in script and "/comments" in script for script in job_scripts(job))


def test_workflows__every_action_is_pinned_to_a_commit_with_its_version_beside_it() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOWS:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if USES_LINE.match(line)]
        # Every `uses:` the YAML holds is one of these lines: none escapes the check.
        assert len(lines) == sum("uses" in step for _, step in steps(load(path))), path.name
        for line in lines:
            match = USES_LINE.match(line)
            assert match
            ref, comment = match["ref"], match["comment"]
            if ref.startswith(("./", "docker://")):
                continue  # the repository's own action, or an image: nothing to pin here
            pinned = PINNED.match(ref)
            assert pinned, f"{path.name}: {line.strip()}: pin it to a full commit SHA (docs/ci.md)"
            assert comment and VERSION.match(comment.strip()), (
                f"{path.name}: {line.strip()}: name the tag the SHA was resolved from (`# v1.2.3`)"
            )
            pins.setdefault(pinned["action"], set()).add((pinned["sha"], comment.strip()))
    assert {"actions/checkout", "actions/setup-python", "actions/upload-artifact"} <= set(pins)
    # One version of each action everywhere: an update changes every use of it.
    assert {action: len(found) for action, found in pins.items()} == dict.fromkeys(pins, 1), pins


def test_workflows__no_checkout_keeps_credentials_and_only_the_history_steps_get_the_token() -> None:
    checkouts = 0
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            for step in job.get("steps", []):
                where = f"{path.name} {job_id} {step.get('name') or step.get('uses') or step.get('run')}"
                if step.get("uses", "").startswith("actions/checkout@"):
                    checkouts += 1
                    # Also in the jobs that push: their pushing steps get the token themselves.
                    assert step.get("with", {}).get("persist-credentials") is False, where
                env = step.get("env", {})
                if HISTORY in step.get("run", ""):
                    # Fetching the history branch (private repositories) and pushing it need the
                    # token: given to git in this step only, through gh as its credential helper.
                    assert env.get("GH_TOKEN") == "${{ github.token }}", where
                    assert env.get("GIT_CONFIG_COUNT") == "1", where
                    assert env.get("GIT_CONFIG_KEY_0") == "credential.helper", where
                    assert env.get("GIT_CONFIG_VALUE_0") == "!gh auth git-credential", where
                else:
                    assert not any(key.startswith("GIT_CONFIG") for key in env), where
    assert checkouts == 9


def test_workflows__every_job_declares_the_least_permissions_it_needs() -> None:
    for path in WORKFLOWS:
        document = load(path)
        assert document["permissions"] == {}, f"{path.name}: no permission above the jobs"
        for job_id, job in document["jobs"].items():
            where = f"{path.name} {job_id}"
            assert isinstance(job.get("permissions"), dict), f"{where}: declare its permissions"
            expected = {"contents": "write" if pushes(job) else "read"}
            if reads_runs(job):
                expected["actions"] = "read"
            if comments(job):
                expected["pull-requests"] = "write"
            assert job["permissions"] == expected, where
    pushers = {
        (path.name, job_id) for path in WORKFLOWS for job_id, job in load(path)["jobs"].items() if pushes(job)
    }
    assert pushers == {("coverage.yml", "history"), ("maintenance.yml", "maintenance")}
    assert comments(load(KIT / ".github/workflows/coverage.yml")["jobs"]["combine"])


# A stub of GitHub's CLI for the base-data step: `run list` answers per GH_STUB, `run
# download` writes an artifact folder per pattern, as gh does.
GH_STUB = """#!/usr/bin/env bash
case "$1 $2" in
  "run list")
    if [ "$GH_STUB" = "fails" ]; then echo "HTTP 502: Bad Gateway" >&2; exit 1; fi
    echo 4242 ;;
  "run download")
    dir=$(printf '%s\\n' "$@" | sed -n '/^--dir$/{n;p;}')
    mkdir -p "$dir/coverage-data-xp" && echo data > "$dir/coverage-data-xp/xp" ;;
  *) exit 2 ;;
esac
"""


def base_data_step(tmp_path: Path, answer: str) -> tuple[Any, str, str, Path]:
    """Run the matrix job's base-data step as GitHub runs a bash step (bash -eo pipefail),
    with the stub gh: its result, GITHUB_OUTPUT and the job summary, and the data folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(GH_STUB, encoding="utf-8")
    (bin_dir / "gh").chmod(0o755)
    output, summary, temp = tmp_path / "output", tmp_path / "summary.md", tmp_path / "runner-temp"
    temp.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GH_STUB": answer,
        "GH_TOKEN": "token",
        "BASE_BRANCH": "main",
        "GITHUB_REPOSITORY": "example/kit",
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    result = run_step("matrix", lambda step: step.get("id") == "base", tmp_path, env)
    return result, _text(output), _text(summary), temp / "base-data"


def run_step(job: str, chosen: Any, folder: Path, env: dict[str, str]) -> Any:
    """The one step of coverage.yml's `job` that `chosen` picks, run in `folder` as GitHub
    runs a bash step (`bash --noprofile --norc -eo pipefail`), with `env` added."""
    (step,) = [
        step for step in load(KIT / ".github/workflows/coverage.yml")["jobs"][job]["steps"] if chosen(step)
    ]
    script = folder / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], folder, env=env)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_coverage_workflow__base_data_a_failed_gh_run_list_runs_every_service(tmp_path: Path) -> None:
    """An API error or a rate limit in `gh run list` must not end the pull request's run:
    no run is named (so every service runs), and the job summary says why."""
    result, output, summary, data = base_data_step(tmp_path, "fails")
    assert result.returncode == 0, result.output
    assert "run=" not in output
    assert "**Every service ran**" in summary and "gh run list failed" in summary, summary
    assert not list(data.iterdir())


def test_coverage_workflow__base_data_of_the_last_run_fetched_and_named(tmp_path: Path) -> None:
    result, output, summary, data = base_data_step(tmp_path, "answers")
    assert result.returncode == 0, result.output
    assert output == "run=4242\n"
    assert summary == ""
    assert [path.name for path in data.iterdir()] == ["xp"]


def combine_job_step(tmp_path: Path, name: str, outcome: str) -> tuple[Any, Path, str]:
    """Run a step of the combine job by its name, as GitHub runs a bash step, with the
    combine step's `outcome`: its result, the kit folder, the job summary."""
    summary = tmp_path / "summary.md"
    env = {
        "KIT_DIR": "kit",
        "COMBINED": outcome,
        "RUN_URL": "https://github.com/example/kit/actions/runs/7",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    result = run_step("combine", lambda step: step.get("name", "").startswith(name), tmp_path, env)
    return result, tmp_path / "kit", _text(summary)


@pytest.mark.parametrize(
    ("outcome", "why"),
    [
        ("failure", "some services' data never arrived"),
        ("skipped", "a step before combine failed: its log says why"),
    ],
)
def test_coverage_workflow__no_combined_data_replaces_the_comment_saying_why(
    tmp_path: Path, outcome: str, why: str
) -> None:
    """Without combined data the gate writes no comment; the last one (a "Coverage: pass")
    would stand. The comment now says coverage was not computed, and why, under the marker
    the comment step finds its own comment by (so it replaces the old one)."""
    step = next(
        s
        for _, s in steps(load(KIT / ".github/workflows/coverage.yml"))
        if s.get("name", "").startswith("Say in the comment")
    )
    assert "steps.combine.outcome != 'success'" in step["if"]
    result, kit, _ = combine_job_step(tmp_path, "Say in the comment", outcome)
    assert result.returncode == 0, result.output
    lines = (kit / "reports" / "comment.md").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == [MARKER, "## Coverage: not computed"]
    assert why in lines[3] and "[The run](https://github.com/example/kit/actions/runs/7)" in lines[3]
    result, _, summary = combine_job_step(tmp_path, "Job summary", outcome)
    assert result.returncode == 0, result.output
    assert ("Coverage data is incomplete" if outcome == "failure" else "Coverage was not computed") in summary
