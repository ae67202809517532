"""Who works survey responses: CS managers and CSMs read them and follow them up; admins
also edit the surveys' wording and the contact policy. Sales reps see nothing here."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

STAFF = ["view_response", "change_response", "view_invitation", "view_survey"]

GRANTS = {
    "Admin": [
        *STAFF,
        "add_survey",
        "change_survey",
        "view_contactpolicy",
        "change_contactpolicy",
    ],
    "CS Manager": [*STAFF, "view_contactpolicy"],
    "CSM": STAFF,
}


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_default_surveys"), ("queues", "0002_roles")]

    operations = [grant_to_roles("surveys", GRANTS)]
