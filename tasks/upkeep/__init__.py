"""Stage 7, upkeep: the weekly maintenance (retention, history thinning, tool versions,
digest) and the configuration audit."""
