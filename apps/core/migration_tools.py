"""Operations that migrations of several apps share."""

from django.db import migrations

# Work tables (step runs, events, the email outbox) update most rows they hold within
# minutes of writing them. PostgreSQL's default waits for a fifth of a table to be dead
# before vacuuming it, and the dead index entries the queue scans step over meanwhile
# make every claim slower; these tables are vacuumed and analysed after 2 %.
WORK_TABLE_AUTOVACUUM = (
    "autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02"
)


def vacuum_often(*tables: str) -> migrations.RunPython:
    """A migration operation that gives ``tables`` the work-table autovacuum settings on
    PostgreSQL (other databases have no such settings)."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(f"ALTER TABLE {table} SET ({WORK_TABLE_AUTOVACUUM})")

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(
                f"ALTER TABLE {table} RESET "
                "(autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)"
            )

    return migrations.RunPython(forwards, backwards, elidable=True)
