from django import forms
from django.contrib.auth import get_user_model

from apps.playbooks.models import Playbook
from apps.surveys.models import BANDS, Kind
from apps.surveys.selectors import ResponseFilters


class ResponseFilterForm(forms.Form):
    """The Responses page's and the API's filters. Invalid values are errors, not
    silently ignored."""

    kind = forms.ChoiceField(
        label="Survey", choices=[("", "Any survey"), *Kind.choices], required=False
    )
    band = forms.ChoiceField(
        choices=[("", "Any band"), *((b, b.title()) for b in BANDS)], required=False
    )
    score = forms.IntegerField(min_value=0, max_value=10, required=False)
    segment = forms.CharField(max_length=64, required=False)
    csm = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label="Any CSM",
        to_field_name="username",
        label="CSM",
    )
    playbook = forms.ModelChoiceField(
        queryset=Playbook.objects.order_by("name"), required=False, empty_label="Any playbook"
    )
    answered_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    answered_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    followed_up = forms.ChoiceField(
        choices=[("", "Followed up or not"), ("yes", "Followed up"), ("no", "Not followed up")],
        required=False,
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("answered_from"), data.get("answered_to")
        if start and end and start > end:
            self.add_error("answered_to", "The end date is before the start date.")
        return data

    def filters(self) -> ResponseFilters:
        data = self.cleaned_data
        followed = {"yes": True, "no": False}.get(data.get("followed_up") or "")
        return ResponseFilters(
            kind=data.get("kind") or "",
            band=data.get("band") or "",
            score=data.get("score"),
            segment=data.get("segment") or "",
            csm_id=data["csm"].pk if data.get("csm") else None,
            playbook_id=data["playbook"].pk if data.get("playbook") else None,
            answered_from=data.get("answered_from"),
            answered_to=data.get("answered_to"),
            followed_up=followed,
        )


class FollowUpForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="What was done"
    )
