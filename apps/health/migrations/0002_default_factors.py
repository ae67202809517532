"""The default health factors and band thresholds, and who may read and configure them:
admins configure; CS managers, CSMs and the sales roles read scores and history."""

from decimal import Decimal

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

# key, label, weight, full_at, zero_at, and for escalations the queue.
DEFAULT_FACTORS = (
    ("nps", "Latest NPS answer", 25, None, None, ""),
    ("overdue_tasks", "Overdue tasks", 20, 0, 5, ""),
    ("onboarding", "Onboarding progress against plan", 15, 100, 50, ""),
    ("usage", "Usage utilisation", 15, 80, 20, ""),
    ("last_touch", "Days since the last touch", 15, 14, 60, ""),
    ("escalations", "Open escalations", 10, 0, 2, "escalations"),
)

READ = ["view_accounthealth", "view_healthsnapshot"]
CONFIGURE = [
    "view_healthfactor",
    "change_healthfactor",
    "view_healthsettings",
    "change_healthsettings",
]
GRANTS = {
    "Admin": [*READ, *CONFIGURE],
    "CS Manager": [*READ, "view_healthfactor", "view_healthsettings"],
    "CSM": READ,
    "Sales Rep": READ,
    "Sales Manager": READ,
}


def seed(apps, schema_editor):
    HealthFactor = apps.get_model("health", "HealthFactor")
    HealthSettings = apps.get_model("health", "HealthSettings")
    for position, (key, label, weight, full_at, zero_at, queue) in enumerate(DEFAULT_FACTORS):
        HealthFactor.objects.get_or_create(
            key=key,
            defaults={
                "label": label,
                "weight": Decimal(weight),
                "full_at": None if full_at is None else Decimal(full_at),
                "zero_at": None if zero_at is None else Decimal(zero_at),
                "queue_slug": queue,
                "position": position,
            },
        )
    if not HealthSettings.objects.exists():
        HealthSettings.objects.create(green_at=70, yellow_at=40)


class Migration(migrations.Migration):
    dependencies = [
        ("health", "0001_initial"),
        ("queues", "0002_roles"),
        ("deals", "0004_sales_manager_role"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        grant_to_roles("health", GRANTS),
    ]
