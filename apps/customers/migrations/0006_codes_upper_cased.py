from django.db import migrations

from apps.core.migration_tools import codes_upper_cased
from apps.core.validators import country_codes, currency_codes


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_merge_records_and_codes")]

    operations = [
        codes_upper_cased("customers", "Account", "country", country_codes),
        codes_upper_cased("customers", "Product", "currency", currency_codes),
    ]
