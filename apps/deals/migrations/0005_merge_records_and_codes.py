from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0003_alter_deal_currency"),
        ("deals", "0004_sales_manager_role"),
    ]

    operations = []
