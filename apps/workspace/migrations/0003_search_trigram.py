"""The top bar's search on PostgreSQL: the pg_trgm extension and trigram indexes on what
it searches, so a substring (ILIKE) or close match reads an index instead of every row.
SQLite has neither; there the search is a plain substring match and this does nothing."""

from django.db import migrations

# (index, table, column)
TRIGRAM_INDEXES = (
    ("account_name_trgm", "customers_account", "name"),
    ("account_domain_trgm", "customers_account", "domain"),
    ("contact_name_trgm", "customers_contact", "name"),
    ("contact_email_trgm", "customers_contact", "email"),
    ("deal_name_trgm", "deals_deal", "name"),
    ("task_title_trgm", "queues_task", "title"),
)


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0002_role_perms"),
        ("customers", "0001_initial"),
        ("deals", "0001_initial"),
        ("queues", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
