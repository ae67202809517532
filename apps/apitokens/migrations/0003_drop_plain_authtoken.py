"""The plain-text tokens of DRF's authtoken go.

DRF's ``authtoken_token`` kept keys in plain text and never expired them. A key cannot be
turned into a hashed token without keeping it readable, so those tokens end here: the
table is dropped (with authtoken's migration records) and people make new tokens on the
Preferences page or with ``POST /api/auth/token/``.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("apitokens", "0002_admin_perms")]

    operations = [
        migrations.RunSQL(
            [
                "DROP TABLE IF EXISTS authtoken_token",
                "DELETE FROM django_migrations WHERE app = 'authtoken'",
            ],
            migrations.RunSQL.noop,
        )
    ]
