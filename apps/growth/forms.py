from django import forms
from django.contrib.auth import get_user_model

from apps.customers.models import Account
from apps.growth.results import ResultFilters
from apps.growth.whitespace import WhitespaceFilters


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def _people(relation: str):
    """Active users who are ``relation`` (CSM or owner) of at least one account."""
    return (
        get_user_model()
        .objects.filter(is_active=True, **{f"{relation}__isnull": False})
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _segments() -> list[tuple[str, str]]:
    segments = (
        Account.objects.exclude(segment="")
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )
    return [("", "Any segment"), *((segment, segment) for segment in segments)]


class WhitespaceFilterForm(forms.Form):
    """The whitespace page's filters. An unknown value is an error, not ignored."""

    segment = forms.ChoiceField(required=False)
    csm = PersonChoiceField(
        queryset=_people("managed_accounts"),
        required=False,
        empty_label="Any CSM",
        to_field_name="username",
        label="CSM",
    )
    owner = PersonChoiceField(
        queryset=_people("owned_accounts"),
        required=False,
        empty_label="Any owner",
        to_field_name="username",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read once per form: a callable would run again each time the choices are read.
        self.fields["segment"].choices = _segments()

    def filters(self) -> WhitespaceFilters:
        data = self.cleaned_data
        return WhitespaceFilters(
            segment=data.get("segment") or "",
            csm_id=data["csm"].pk if data.get("csm") else None,
            owner_id=data["owner"].pk if data.get("owner") else None,
        )


class UsageUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="UTF-8 text, comma-separated, with the header line.",
    )


class ResultFilterForm(forms.Form):
    """The results pages' and API's filters: a period (of the ask, or of the prompt) and a
    segment. Invalid values are errors, not silently ignored."""

    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    segment = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = _segments()

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self) -> ResultFilters:
        data = self.cleaned_data
        return ResultFilters(
            since=data.get("since"), until=data.get("until"), segment=data.get("segment") or ""
        )
