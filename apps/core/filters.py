"""The API's query-string filters: what a client sends that means nothing is refused
with the parameter named, instead of being ignored or reaching the database."""

from django import forms
from django.db import models
from django_filters import rest_framework as filters
from rest_framework import exceptions
from rest_framework.filters import SearchFilter

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or 1/0, yes/no); anything else is an error, not "no filter"."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        # The value goes in as a parameter: django-filter formats the message with them,
        # and a "%" the client sent must not be read as a placeholder.
        raise forms.ValidationError(
            "“%(value)s” is not a boolean; use true or false.",
            code="invalid",
            params={"value": value},
        )


class StrictBooleanFilter(filters.BooleanFilter):
    """django-filter's BooleanFilter reads an unknown value as "no filter", so
    ``?unread=maybe`` silently listed everything; this one answers 400."""

    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class FilterSet(filters.FilterSet):
    """The base of every API filter set, including those made from ``filterset_fields``."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.NullBooleanField: {"filter_class": StrictBooleanFilter},
    }


class DjangoFilterBackend(filters.DjangoFilterBackend):
    filterset_base = FilterSet


class StrictSearchFilter(SearchFilter):
    """DRF's search, refusing a NUL character: PostgreSQL cannot compare one (a 500) and
    elsewhere it matches nothing, so the client is told which parameter is wrong."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if "\x00" in value:
            raise exceptions.ValidationError(
                {self.search_param: ["Null characters are not allowed."]}
            )
        return super().get_search_terms(request)
