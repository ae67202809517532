"""OAuth refresh on a CRM connection: client id, secret, refresh token, token URL, and the
current access token's expiry."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_admin_perms"),
    ]

    operations = [
        migrations.AddField(
            model_name="crmconnection",
            name="access_token_expires_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the current access token (the API token) expires; empty: not known.",
                null=True,
                verbose_name="access token expires at",
            ),
        ),
        migrations.AddField(
            model_name="crmconnection",
            name="oauth_client_id",
            field=models.CharField(
                blank=True,
                help_text="HubSpot public app or Zoho client: with its secret and a refresh token, Afterwin gets a new access token itself when the current one expires. Empty it to turn OAuth refresh off (the secret and refresh token are forgotten).",
                max_length=200,
                verbose_name="OAuth client id",
            ),
        ),
        migrations.AddField(
            model_name="crmconnection",
            name="oauth_client_secret",
            field=models.CharField(blank=True, max_length=500, verbose_name="OAuth client secret"),
        ),
        migrations.AddField(
            model_name="crmconnection",
            name="oauth_refresh_token",
            field=models.CharField(blank=True, max_length=1000, verbose_name="OAuth refresh token"),
        ),
        migrations.AddField(
            model_name="crmconnection",
            name="oauth_token_url",
            field=models.URLField(
                blank=True,
                help_text="Where the access token is refreshed. Empty: HubSpot's https://api.hubapi.com/oauth/v1/token, or Zoho's https://accounts.zoho.com (the US data centre). Zoho elsewhere: your accounts server, e.g. https://accounts.zoho.eu, .in, .com.au, .jp or https://accounts.zohocloud.ca (/oauth/v2/token is added to a server given alone).",
                verbose_name="OAuth token URL",
            ),
        ),
    ]
