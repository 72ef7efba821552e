"""adopt's last step: check that what it wrote runs. Each service's environment is built, as
its coverage-<service> session will use it, and pytest collects its tests there with the
adopted options (`nox -s collect`); a service that cannot collect is named with pytest's
error and the manifest setting behind it, before anyone's first real run.

The kit's own noxfile is run, with the repository's nox folder: the environments built here
are the ones the repository's `nox -s coverage-...` then reuses, and no session of the
repository's own noxfile (which may be named `collect` too) runs by mistake.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from ..config.layout import LOGS_DIR
from ..errors import EXIT_CONFIG, EXIT_OK
from . import vendor

LOG_NAME = "adopt-check.log"
# What `python -m tasks collect` prints, as opposed to nox's lines about building environments.
NOX_PREFIX = "nox > "
COLLECT_FAILED = "CANNOT COLLECT"  # collect's word for a service that cannot (cli/upkeep.py)
SHOWN_LINES = 40


def check(root: Path, reports_dir: Path, out: TextIO) -> int:
    """Build each service's environment and collect its tests; print what collect found."""
    log = reports_dir / LOGS_DIR / LOG_NAME
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "nox",
        "--noxfile",
        str(root / vendor.KIT_FOLDER / "noxfile.py"),
        "--envdir",
        str(root / ".nox"),
        "--sessions",
        "collect",
    ]
    if importlib.util.find_spec("nox") is None:
        print(f"Not checked: nox is not installed for {sys.executable} (nox -s adopt has it).", file=out)
        return EXIT_OK
    # The backend the user's nox runs with (NOX_DEFAULT_VENV_BACKEND), so that their next
    # sessions reuse these environments; not the adopt session's own variables.
    backend = os.environ.get("NOX_DEFAULT_VENV_BACKEND")
    if backend:
        argv += ["--default-venv-backend", backend]
    environment = {k: v for k, v in os.environ.items() if k != "NOX_CURRENT_SESSION"}
    print("Checking: each service's environment, and pytest's collection of its tests there ...", file=out)
    out.flush()
    with log.open("w", encoding="utf-8") as written:
        status = subprocess.run(
            argv, cwd=root, env=environment, stdout=written, stderr=subprocess.STDOUT, check=False
        ).returncode
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    said = [line for line in lines if not line.startswith(NOX_PREFIX) and line.strip()]
    shown = os.path.relpath(log, root)
    if status == EXIT_OK:
        print("\n".join(f"  {line}" for line in said[-SHOWN_LINES:]), file=out)
        return EXIT_OK
    if any(COLLECT_FAILED in line for line in said):
        print("\n".join(f"  {line}" for line in said[-SHOWN_LINES:]), file=out)
        print(
            f"Fix the settings named above in {vendor.KIT_FOLDER}/configs/, then check again: nox -s collect",
            file=out,
        )
        print(f"(nox's whole output: {shown}). The other services run as they are.", file=out)
    else:  # nox stopped before collecting: an environment that would not build, a broken manifest
        print("\n".join(f"  {line}" for line in lines[-SHOWN_LINES:]), file=out)
        print(f"The check could not run to its end (nox's whole output: {shown}).", file=out)
    return EXIT_CONFIG
