"""`python -m tasks <command>`: the entry point every nox session delegates to."""

import sys

from tasks.cli import main

sys.exit(main())
