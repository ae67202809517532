from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0008_queue_pause_sla_while_snoozed"),
        ("queues", "0008_task_done_index"),
    ]

    operations = []
