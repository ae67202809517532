"""Consent records are read by everyone who sees contacts; nobody edits one."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles

GRANTS = {role: ["view_consentchange"] for role in ("Admin", "CS Manager", "CSM", "Sales Rep")}


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_consentchange"), ("queues", "0002_roles")]

    operations = [grant_to_roles("customers", GRANTS)]
