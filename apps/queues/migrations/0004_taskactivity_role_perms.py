"""Give the roles their permissions on task activity (the audit trail and comments).

Admins get them all, as they have every other permission; CS managers and CSMs may view
it (in admin, the task's activity inline). Services write activity, people never edit it.
"""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

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


class Migration(migrations.Migration):
    dependencies = [("queues", "0003_sla_snooze_activity")]

    operations = [grant_to_roles("queues", GRANTS)]
