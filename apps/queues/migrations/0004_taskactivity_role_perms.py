"""Give the roles their permissions on task activity (the audit trail and comments).

Admins get them all, as they have every other permission; CS managers and CSMs may view
it (in admin, the task's activity inline). Services write activity, people never edit it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Admin": [
        "add_taskactivity",
        "change_taskactivity",
        "delete_taskactivity",
        "view_taskactivity",
    ],
    "CS Manager": ["view_taskactivity"],
    "CSM": ["view_taskactivity"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("queues")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="queues", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("queues", "0003_sla_snooze_activity")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
