"""`python -m tasks <command>`: the entry point every nox session delegates to."""

import sys

from .errors import EXIT_INTERRUPTED, INTERRUPTED

try:
    # Ctrl-C may come while the kit's modules (and coverage.py's) are still being imported,
    # before main() can catch it: one line then too, never a traceback.
    from .cli.main import main

    code = main()
except KeyboardInterrupt:
    print(INTERRUPTED, file=sys.stderr)
    code = EXIT_INTERRUPTED
sys.exit(code)
