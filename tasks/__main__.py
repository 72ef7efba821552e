"""`python -m tasks <command>`: the entry point every nox session delegates to."""

import sys

from .cli.main import main

sys.exit(main())
