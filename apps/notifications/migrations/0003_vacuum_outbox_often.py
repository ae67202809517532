from django.db import migrations

from apps.core.migration_tools import vacuum_often


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_silenced_notices")]

    operations = [vacuum_often("notifications_emailmessage", "notifications_notification")]
