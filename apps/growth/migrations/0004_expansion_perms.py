"""Everyone who works deals may read where an expansion deal came from."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

GRANTS = {role: ["view_expansiondeal"] for role in ("Admin", "CS Manager", "CSM", "Sales Rep")}


class Migration(migrations.Migration):
    dependencies = [("growth", "0003_expansion_deals"), ("queues", "0002_roles")]

    operations = [grant_to_roles("growth", GRANTS)]
