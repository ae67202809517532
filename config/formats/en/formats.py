"""The one way Afterwin writes dates and times, in every template (``|date``,
``|date:"DATETIME_FORMAT"``) and in Python (``apps.core.dates``): "Tue 1 Dec 2026" and
"Tue 1 Dec 2026, 14:05". Day first, a 24-hour clock, the weekday because people plan by it.
Django's own English formats ("Dec. 1, 2026, 2:05 p.m.") stay out, in the admin too."""

DATE_FORMAT = "D j M Y"
DATETIME_FORMAT = "D j M Y, H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
