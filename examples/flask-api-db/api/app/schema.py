"""The schema, applied by the one-shot `migrate` service (python3 -m app.schema)."""

from __future__ import annotations

import sys

import psycopg

from app.settings import ConfigError, database_settings

# Idempotent statements, applied in one transaction under an advisory lock so that two
# concurrent runs cannot interleave.
MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS items (
        id         bigserial PRIMARY KEY,
        name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX IF NOT EXISTS items_created_at ON items (created_at)",
)
LOCK_ID = 4242


def migrate() -> None:
    settings = database_settings()
    with psycopg.connect(**settings.conninfo()) as conn:  # type: ignore[arg-type]
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
            for statement in MIGRATIONS:
                conn.execute(statement)
        count = conn.execute("SELECT count(*) FROM items").fetchone()
    print(f"migrate: schema ready on {settings.host}/{settings.name} ({count[0] if count else 0} items)")


if __name__ == "__main__":
    try:
        migrate()
    except (ConfigError, psycopg.Error) as e:
        print(f"migrate: {e}", file=sys.stderr)
        sys.exit(1)
