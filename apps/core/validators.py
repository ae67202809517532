"""Validators for values with a standard: time zones (IANA), countries (ISO 3166-1),
currencies (ISO 4217) and host names. The code lists are pycountry's, which packages the
iso-codes data Debian and others maintain."""

import functools
import zoneinfo

import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator

# The largest id a database row can have (a signed 64-bit integer). An id over it in a
# query parameter is refused as bad input: SQLite cannot bind it and PostgreSQL refuses it.
ID_MAX = 2**63 - 1


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"“{value}” is not an IANA time zone name (for example Europe/Berlin).",
            code="invalid_timezone",
        )


@functools.cache
def country_codes() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@functools.cache
def currency_codes() -> frozenset[str]:
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


def validate_country(value: str) -> None:
    if value not in country_codes():
        raise ValidationError(
            f"“{value}” is not an ISO 3166-1 alpha-2 country code (for example DE).",
            code="invalid_country",
        )


def validate_currency(value: str) -> None:
    if value not in currency_codes():
        raise ValidationError(
            f"“{value}” is not an ISO 4217 currency code (for example EUR).",
            code="invalid_currency",
        )


_domain_name = DomainNameValidator()


def validate_domain(value: str) -> None:
    """A host name alone: ``acme.com``, not ``https://acme.com/`` nor ``acme.com:443``."""
    try:
        _domain_name(value)
    except ValidationError:
        raise ValidationError(
            f"“{value}” is not a host name; give the domain alone, such as acme.com "
            "(no https://, path or port).",
            code="invalid_domain",
        ) from None


def is_domain(value: str) -> bool:
    try:
        validate_domain(value)
    except ValidationError:
        return False
    return True
