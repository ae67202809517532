"""Admins manage webhook subscriptions and read (and resend) the delivery log."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("queues", "0002_roles")]

    operations = [
        grant_to_roles(
            "webhooks",
            {
                "Admin": [
                    "add_webhooksubscription",
                    "change_webhooksubscription",
                    "view_webhooksubscription",
                    "change_webhookdelivery",
                    "view_webhookdelivery",
                    "view_webhookattempt",
                ]
            },
        ),
    ]
