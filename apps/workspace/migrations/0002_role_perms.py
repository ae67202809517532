"""Everyone who reads accounts reads their notes and may add one: CS staff, reps and
sales managers (and admins)."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

NOTES = ["view_accountnote", "add_accountnote"]

GRANTS = {role: NOTES for role in ("Admin", "CS Manager", "CSM", "Sales Rep", "Sales Manager")}


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0001_initial"),
        ("queues", "0002_roles"),
        ("deals", "0004_sales_manager_role"),
    ]

    operations = [grant_to_roles("workspace", GRANTS)]
