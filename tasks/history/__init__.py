"""Stage 6, history: the SQLite store of snapshots, baselines, goals and the trend, the
exchange of a history between CI runs, and the ratchet that raises floors."""
