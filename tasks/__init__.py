"""coverage-workflows: per-service coverage for multi-service Python repositories.

The nox sessions in noxfile.py delegate here (`python -m tasks <command>`). One subpackage
per stage of the pipeline, each importing only the stages below it (docs/architecture.md);
each module does one job, with a pure core and a thin edge that touches files and processes.
"""
