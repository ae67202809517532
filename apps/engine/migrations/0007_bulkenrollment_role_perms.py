"""Let the Admin and CS Manager roles enroll existing accounts in bulk.

Both may start runs and watch them; CSMs and sales reps may not. Admins get every
permission on the run records, as they have every other permission. The role groups are
created by the queues app's roles migration, hence the dependency.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Admin": [
        "add_bulkenrollment",
        "change_bulkenrollment",
        "delete_bulkenrollment",
        "view_bulkenrollment",
    ],
    "CS Manager": ["add_bulkenrollment", "view_bulkenrollment"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("engine")
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
            *Permission.objects.filter(content_type__app_label="engine", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0006_bulkenrollment"),
        ("queues", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
