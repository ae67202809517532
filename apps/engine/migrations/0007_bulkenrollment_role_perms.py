"""Let the Admin and CS Manager roles enroll existing accounts in bulk.

Both may start runs and watch them; CSMs and sales reps may not. Admins get every
permission on the run records, as they have every other permission. The role groups are
created by the queues app's roles migration, hence the dependency.
"""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

GRANTS = {
    "Admin": [
        "add_bulkenrollment",
        "change_bulkenrollment",
        "delete_bulkenrollment",
        "view_bulkenrollment",
    ],
    "CS Manager": ["add_bulkenrollment", "view_bulkenrollment"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0006_bulkenrollment"),
        ("queues", "0002_roles"),
    ]

    operations = [grant_to_roles("engine", GRANTS)]
