"""Admins see and revoke anyone's API tokens."""

from django.db import migrations

from apps.core.migration_tools import grant_to_roles


class Migration(migrations.Migration):
    dependencies = [("apitokens", "0001_initial"), ("queues", "0002_roles")]

    operations = [grant_to_roles("apitokens", {"Admin": ["view_apitoken", "delete_apitoken"]})]
