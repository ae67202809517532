"""Admins configure cross-sell rules and thresholds and may send usage; CS managers and
CSMs read them."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

READ = ["view_crosssellrule", "view_usagethreshold", "view_usagesnapshot"]

GRANTS = {
    "Admin": [
        *READ,
        "add_crosssellrule",
        "change_crosssellrule",
        "delete_crosssellrule",
        "add_usagethreshold",
        "change_usagethreshold",
        "delete_usagethreshold",
        "add_usagesnapshot",
    ],
    "CS Manager": READ,
    "CSM": READ,
}


class Migration(migrations.Migration):
    dependencies = [("growth", "0001_initial"), ("queues", "0002_roles")]

    operations = [grant_to_roles("growth", GRANTS)]
