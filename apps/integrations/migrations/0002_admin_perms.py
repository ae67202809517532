"""Admins (RevOps) configure CRM connections and watch, and replay, what CRMs send."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial"), ("queues", "0002_roles")]

    operations = [
        grant_to_roles(
            "integrations",
            {
                "Admin": [
                    "view_crmconnection",
                    "add_crmconnection",
                    "change_crmconnection",
                    "delete_crmconnection",
                    "view_crmownermapping",
                    "add_crmownermapping",
                    "change_crmownermapping",
                    "delete_crmownermapping",
                    "view_inboundevent",
                    "change_inboundevent",
                    "view_inbounddelivery",
                    "view_inboundrejection",
                ]
            },
        )
    ]
