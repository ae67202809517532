import zoneinfo

from django.core.exceptions import ValidationError


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"“{value}” is not an IANA time zone name (for example Europe/Berlin).",
            code="invalid_timezone",
        )


def validate_country(value: str) -> None:
    if len(value) != 2 or not value.isalpha() or not value.isupper():
        raise ValidationError(
            f"“{value}” is not a two-letter ISO 3166 country code (for example DE).",
            code="invalid_country",
        )
