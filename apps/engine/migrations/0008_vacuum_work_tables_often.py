from django.db import migrations

from apps.core.migration_tools import vacuum_often


class Migration(migrations.Migration):
    dependencies = [("engine", "0007_bulkenrollment_role_perms")]

    operations = [vacuum_often("engine_steprun", "engine_enrollment")]
