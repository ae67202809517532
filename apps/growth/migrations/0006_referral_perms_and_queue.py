"""Who reads and manages referrals and rewards, and the queue for "thank the referrer"
tasks (given to the referred deal's owner)."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

READ = ["view_referralrequest", "view_referral", "view_reward", "view_rewardrule"]

GRANTS = {
    "Admin": [
        *READ,
        "add_rewardrule",
        "change_rewardrule",
        "delete_rewardrule",
        "change_reward",
    ],
    "CS Manager": [*READ, "change_reward"],
    "CSM": READ,
    "Sales Rep": READ,
}


def create_queue(apps, schema_editor) -> None:
    Queue = apps.get_model("queues", "Queue")
    Queue.objects.get_or_create(
        slug="referrals",
        defaults={
            "name": "Referrals",
            "description": "Asking happy customers for referrals, and thanking the ones "
            "whose referral became a customer.",
            "team": "Sales",
            "assignment_strategy": "deal_owner",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("growth", "0005_referrals"), ("queues", "0005_open_task_order_indexes")]

    operations = [
        grant_to_roles("growth", GRANTS),
        migrations.RunPython(create_queue, migrations.RunPython.noop),
    ]
