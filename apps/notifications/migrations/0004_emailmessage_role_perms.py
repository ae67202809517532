"""CS managers read the email outbox in the web UI (what customers were sent)."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_vacuum_outbox_often"), ("queues", "0002_roles")]

    operations = [
        grant_to_roles(
            "notifications", {"Admin": ["view_emailmessage"], "CS Manager": ["view_emailmessage"]}
        )
    ]
