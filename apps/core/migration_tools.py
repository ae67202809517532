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


def grant_to_roles(app_label: str, grants: dict[str, list[str]]) -> migrations.RunPython:
    """A migration operation that gives role groups permissions on ``app_label``'s models
    (creating the permissions first, as they only appear after migrate otherwise). A
    role group that does not exist is skipped: the queues app's roles migration makes
    them, so callers depend on it."""

    def grant(apps, schema_editor):
        from django.contrib.auth.management import create_permissions

        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for role, codenames in grants.items():
            group = Group.objects.filter(name=role).first()
            if group is not None:
                group.permissions.add(
                    *Permission.objects.filter(
                        content_type__app_label=app_label, codename__in=codenames
                    )
                )

    return migrations.RunPython(grant, migrations.RunPython.noop)


def codes_upper_cased(app_label: str, model: str, field: str, codes) -> migrations.RunPython:
    """A data migration for rows written before a field took only standard codes: a value
    that is a code once trimmed and upper-cased ("us ", "eur") is rewritten so; anything
    else is left as it is (nothing is guessed, nothing is lost) and is refused on its next
    edit with the validator's message. ``codes`` returns the valid codes."""

    def forwards(apps, schema_editor) -> None:
        Model = apps.get_model(app_label, model)
        valid = codes()
        for pk, value in Model.objects.exclude(**{f"{field}__in": valid}).values_list("pk", field):
            fixed = (value or "").strip().upper()
            if fixed in valid:
                Model.objects.filter(pk=pk).update(**{field: fixed})

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)
