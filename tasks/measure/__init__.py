"""Stage 2, measure: runs of a service's tests under coverage (one, several side by side,
shards), the data files they write and combine, locks, and the CI matrix."""
