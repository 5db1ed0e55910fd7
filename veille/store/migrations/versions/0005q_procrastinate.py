"""Procrastinate's schema (jobs, locks, periodic defers, workers) on PostgreSQL only.

The distributed engine (VEILLE_EXECUTOR=procrastinate) keeps its queue in the same database
as the data, so that a job is deferred in the transaction that writes what it works on. On
SQLite this revision does nothing: the local executor has no queue.

A later Procrastinate release that changes its schema comes with its own revision here,
applying the library's migration files in order.

Revision ID: 0005q
Revises: 0004l
"""

from __future__ import annotations

from alembic import op

revision = "0005q"
down_revision = "0005r"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        from procrastinate.schema import SchemaManager
    except ImportError:
        from veille.errors import StoreError

        raise StoreError(
            "PostgreSQL needs the job queue library too: pip install 'veille[postgres]'"
        ) from None

    exists = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").scalar()
    if exists:  # applied by `procrastinate schema --apply` before veille managed it
        return
    # The raw driver: the schema's text has colons and percents that no layer must read.
    bind.connection.driver_connection.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.connection.driver_connection.execute(
        """
        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT tablename FROM pg_tables
                   WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
            EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
          END LOOP;
          FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
            EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.sig);
          END LOOP;
          FOR r IN SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                   WHERE n.nspname = current_schema() AND typname LIKE 'procrastinate%'
                     AND t.typtype = 'e' LOOP
            EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
          END LOOP;
        END $$;
        """
    )
