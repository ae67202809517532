from django.db import migrations

from apps.core.migration_tools import vacuum_often


class Migration(migrations.Migration):
    dependencies = [("core", "0002_user_profile")]

    operations = [vacuum_often("core_domainevent")]
