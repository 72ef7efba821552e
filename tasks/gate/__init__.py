"""Stage 5, gate: the policies and their verdict, the git diff of a change, and the flaky
lines (stability, noisy declarations) the verdict forgives."""
