"""Let the Admin role move running enrollments to another playbook version, and the CS
Manager role watch the moves and their records. Moving changes what customers receive,
so it stays with whoever configures playbooks."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

GRANTS = {
    "Admin": [
        "add_enrollmentmove",
        "change_enrollmentmove",
        "view_enrollmentmove",
        "view_enrollmentversionchange",
    ],
    "CS Manager": ["view_enrollmentmove", "view_enrollmentversionchange"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0010_enrollment_moves"),
        ("queues", "0002_roles"),
    ]

    operations = [grant_to_roles("engine", GRANTS)]
