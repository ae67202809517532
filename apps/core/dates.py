"""Dates and times in text written by Python (messages, email subjects, notices), in the
same format as the templates: "Tue 1 Dec 2026" and "Tue 1 Dec 2026, 14:05"
(``config/formats/en/formats.py``), and "Tue 1 Dec 2026, 14:05 CET" where a time could
be read in more than one zone."""

import datetime as dt
import zoneinfo

from django.utils import formats


def date_text(value: dt.date) -> str:
    """ "Tue 1 Dec 2026"."""
    return formats.date_format(value, "DATE_FORMAT")


def datetime_text(value: dt.datetime, *, tz: zoneinfo.ZoneInfo | str | None = None) -> str:
    """ "Tue 1 Dec 2026, 14:05": ``value`` in ``tz`` when given, else as it is."""
    if tz is not None:
        value = value.astimezone(zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz)
    return formats.date_format(value, "DATETIME_FORMAT")


def datetime_zone_text(value: dt.datetime, *, tz: dt.tzinfo | str) -> str:
    """ "Sat 5 Dec 2026, 02:00 JST": ``value`` in ``tz``, with the zone's abbreviation."""
    local = value.astimezone(zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz)
    return f"{datetime_text(local)} {local:%Z}"
