from django.db import migrations

DEFAULTS = [
    {
        "slug": "nps",
        "name": "Net Promoter Score",
        "kind": "nps",
        "question": "How likely are you to recommend us to a friend or colleague?",
    },
    {
        "slug": "csat",
        "name": "Customer satisfaction",
        "kind": "csat",
        "question": "How satisfied are you with our service so far?",
        "follow_up_high": "What did we do well?",
    },
    {
        "slug": "ces",
        "name": "Customer effort",
        "kind": "ces",
        "question": "How easy was it to get started with us?",
        "follow_up_low": "What made it hard?",
        "follow_up_high": "What made it easy?",
    },
]


def create(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    ContactPolicy = apps.get_model("surveys", "ContactPolicy")
    for fields in DEFAULTS:
        Survey.objects.get_or_create(slug=fields["slug"], defaults=fields)
    if not ContactPolicy.objects.exists():
        ContactPolicy.objects.create()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
