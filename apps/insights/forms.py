from django import forms

from apps.growth.forms import ResultFilterForm
from apps.insights.selectors import BREAKDOWNS


class InsightFilterForm(ResultFilterForm):
    """The insights pages' filters: the growth results' period and segment, and what the
    reason and onboarding tables are broken down by. A bad value is a 400 naming it."""

    by = forms.ChoiceField(required=False, label="Break down by", choices=list(BREAKDOWNS.items()))

    def breakdown(self) -> str:
        return self.cleaned_data.get("by") or "segment"
