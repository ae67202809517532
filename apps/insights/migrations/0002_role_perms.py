"""Who reads the dashboards: CS managers (the team dashboard, their landing page, and the
closed-won insights), sales managers (the insights) and admins (both)."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

GRANTS = {
    "Admin": ["view_insights", "view_team_dashboard"],
    "CS Manager": ["view_insights", "view_team_dashboard"],
    "Sales Manager": ["view_insights"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_insights_permissions"),
        ("queues", "0002_roles"),
        ("deals", "0004_sales_manager_role"),
    ]

    operations = [grant_to_roles("insights", GRANTS)]
