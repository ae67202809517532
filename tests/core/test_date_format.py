"""One date and time format across the product: "Tue 1 Dec 2026" and
"Tue 1 Dec 2026, 14:05", in templates and in text written by Python."""

import datetime as dt
import re
from pathlib import Path

from django.conf import settings
from django.template import Context, Template
from django.utils import timezone

from apps.core.dates import date_text, datetime_text

MOMENT = dt.datetime(2026, 12, 1, 14, 5, tzinfo=dt.UTC)
# Every |date:"…" in a template names the shared format (or is a machine-readable 'c').
DATE_FILTER = re.compile(r"""\|date:["']([^"']*)["']""")
ALLOWED = {"DATE_FORMAT", "DATETIME_FORMAT", "c", "Y-m-d"}
# Hand-written strftime date formats in Python ("%d %b", "%a %d %b %Y, %H:%M"…).
STRFTIME_DAY_MONTH = re.compile(r"%[ad] %[db]")


def test_templates_write_dates_and_times_the_same_way():
    with timezone.override("Europe/London"):
        html = Template(
            '{{ d|date:"DATE_FORMAT" }} | {{ m|date:"DATETIME_FORMAT" }} | {{ m|date }}'
        ).render(Context({"d": MOMENT.date(), "m": MOMENT}))
    assert html == "Tue 1 Dec 2026 | Tue 1 Dec 2026, 14:05 | Tue 1 Dec 2026"


def test_python_text_uses_the_same_format_in_the_given_time_zone():
    assert date_text(MOMENT.date()) == "Tue 1 Dec 2026"
    assert datetime_text(MOMENT) == "Tue 1 Dec 2026, 14:05"
    assert datetime_text(MOMENT, tz="America/Chicago") == "Tue 1 Dec 2026, 08:05"


def test_no_template_uses_a_format_of_its_own():
    base = Path(settings.BASE_DIR)
    found = []
    for path in [*base.glob("templates/**/*.*"), *base.glob("apps/*/templates/**/*.*")]:
        for fmt in DATE_FILTER.findall(path.read_text()):
            if fmt not in ALLOWED:
                found.append(f"{path.relative_to(base)}: {fmt}")
    assert found == []


def test_no_python_module_formats_a_day_by_hand():
    base = Path(settings.BASE_DIR)
    found = [
        str(path.relative_to(base))
        for path in base.glob("apps/**/*.py")
        # A chart's axis ticks are abbreviated on purpose ("01 Dec"); its text is not.
        if STRFTIME_DAY_MONTH.search(path.read_text().replace('%d %b}"', ""))
    ]
    assert found == []
