from django.db import migrations

from apps.core.migration_tools import codes_upper_cased
from apps.core.validators import currency_codes


class Migration(migrations.Migration):
    dependencies = [("deals", "0005_merge_records_and_codes")]

    operations = [codes_upper_cased("deals", "Deal", "currency", currency_codes)]
