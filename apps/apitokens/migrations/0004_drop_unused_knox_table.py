"""knox's own migrations create ``knox_authtoken``, which nothing uses: the project's
``ApiToken`` is knox's token model (``KNOX_TOKEN_MODEL``). The unused table kept a foreign
key to the users table that no model declares, so emptying the database (a test's flush
on PostgreSQL) could not truncate the users. It goes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("apitokens", "0003_drop_plain_authtoken"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS knox_authtoken", migrations.RunSQL.noop),
    ]
