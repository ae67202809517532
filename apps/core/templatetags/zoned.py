"""``{{ moment|zoned }}``: "Wed 2 Dec 2026, 09:00 UTC", the one date and time format
with the zone it is read in (the current one), for pages where other times on the same
page are in an account's zone."""

import datetime as dt

from django import template
from django.utils import timezone

from apps.core.dates import datetime_zone_text

register = template.Library()


@register.filter
def zoned(value: dt.datetime | None) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    return datetime_zone_text(value, tz=timezone.get_current_timezone())
