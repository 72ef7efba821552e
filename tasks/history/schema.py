"""The history database's schema, as the migrations that build it: literal SQL, run in order."""

from __future__ import annotations

# Each migration takes the schema from version N to N+1; a database records its version
# in PRAGMA user_version. Never edit a released migration: add the next one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: snapshots, per-service figures, a baseline per branch
        """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            commit_sha TEXT NOT NULL,
            branch TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            python TEXT NOT NULL,
            coverage TEXT NOT NULL,
            core TEXT NOT NULL
        )""",
        "CREATE INDEX snapshots_by_branch ON snapshots (branch, recorded_at)",
        "CREATE INDEX snapshots_by_commit ON snapshots (commit_sha)",
        """CREATE TABLE service_figures (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
            service TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('isolated', 'whole')),
            statements INTEGER NOT NULL,
            covered INTEGER NOT NULL,
            branches INTEGER NOT NULL,
            covered_branches INTEGER NOT NULL,
            PRIMARY KEY (snapshot_id, service, kind)
        )""",
        """CREATE TABLE baselines (
            branch TEXT PRIMARY KEY,
            snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
            set_at TEXT NOT NULL
        )""",
    ),
    (  # 2: per-file figures; a digest of the figures so recording the same data twice is a no-op
        """CREATE TABLE file_figures (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            service TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('isolated', 'whole')),
            statements INTEGER NOT NULL,
            covered INTEGER NOT NULL,
            branches INTEGER NOT NULL,
            covered_branches INTEGER NOT NULL,
            PRIMARY KEY (snapshot_id, path, kind)
        )""",
        "ALTER TABLE snapshots ADD COLUMN digest TEXT NOT NULL DEFAULT ''",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
