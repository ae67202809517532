from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_alter_account_domain_alter_product_currency"),
        ("customers", "0004_records_and_lifecycle"),
    ]

    operations = []
