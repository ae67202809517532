from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0006_codes_upper_cased"),
        ("deals", "0006_deal_term_months"),
    ]

    operations = []
