"""Forms of the deal pages. They check what a person typed (types, formats); the deal
services decide the rest, and their errors are put back on these forms next to the field
they name."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from apps.customers.models import Product
from apps.deals.models import Deal, LossReason, Stage, WinReason
from apps.deals.selectors import PIPELINE_STAGES, PipelineFilters

User = get_user_model()

PAGE_SIZE = 25
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def show_problems(form: forms.Form, problems: dict[str, list[str]]) -> None:
    """Show ``problems`` next to the fields of a form that was not submitted (the edit
    form, when a close as won names what to fix in it)."""
    errors = form.errors  # an unbound form's are empty; they render like a bound one's
    for field, messages in problems.items():
        if field in form.fields:
            errors[field] = form.error_class(
                messages, renderer=form.renderer, field_id=form[field].auto_id
            )


def _person(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _person(obj)


# The pipeline ---------------------------------------------------------------------------


class PipelineFilterForm(forms.Form):
    """The pipeline's filters; they live in the URL."""

    scope = forms.ChoiceField(
        required=False, choices=[("mine", "My deals"), ("all", "Everyone's deals")], label="Whose"
    )
    stage = forms.ChoiceField(
        required=False,
        choices=[("", "Every stage"), *((s, Stage(s).label) for s in PIPELINE_STAGES)],
    )
    close_from = forms.DateField(required=False, label="Closing from", widget=DATE)
    close_to = forms.DateField(required=False, label="Closing until", widget=DATE)
    search = forms.CharField(
        required=False, max_length=100, label="Search", help_text="Deal or account name"
    )

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        self.user = user
        self.sees_all = user_sees_every_deal(user)
        if not self.sees_all:
            self.fields["scope"].choices = [("mine", "My deals")]

    def default_scope(self) -> str:
        return "all" if self.sees_all else "mine"

    def clean_search(self) -> str:
        search = self.cleaned_data["search"].strip()
        if "\x00" in search:
            raise forms.ValidationError("Remove the NUL character from the search.")
        return search

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("close_from"), data.get("close_to")
        if start and end and start > end:
            self.add_error("close_to", "The end of the range comes before its start.")
        return data

    def pipeline_filters(self) -> PipelineFilters:
        data = self.cleaned_data
        scope = data.get("scope") or self.default_scope()
        return PipelineFilters(
            owner=self.user if scope == "mine" else None,
            stage=data.get("stage") or "",
            close_from=data.get("close_from"),
            close_to=data.get("close_to"),
            search=data.get("search") or "",
        )


def user_sees_every_deal(user: Any) -> bool:
    """Who may list everyone's deals: those who act on any deal (sales managers, CS
    managers and admins have ``deals.act_on_any_deal``)."""
    return user.has_perm("deals.act_on_any_deal")


# The deal page --------------------------------------------------------------------------


class MoneyField(forms.DecimalField):
    """An amount kept with its cents (5000 is stored, audited and shown as 5000.00)."""

    def clean(self, value: Any) -> Decimal | None:
        amount = super().clean(value)  # more than two decimal places is refused here
        return None if amount is None else amount.quantize(Decimal("0.01"))


class DealEditForm(forms.Form):
    """An open deal's details. Amount, currency and close date may be left empty while
    the deal is open; closing as won asks for them."""

    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Deal.Kind.choices)
    amount = MoneyField(required=False, max_digits=14, decimal_places=2, min_value=0)
    currency = forms.CharField(required=False, max_length=3, help_text="ISO 4217, such as USD")
    close_date = forms.DateField(required=False, widget=DATE)
    primary_contact = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— The account's primary contact —"
    )
    owner = PersonChoiceField(queryset=None, required=False, empty_label="— Nobody —")

    def __init__(self, data: Any = None, *, deal: Deal, may_reassign: bool, **kwargs: Any):
        initial = {
            "name": deal.name,
            "kind": deal.kind,
            "amount": deal.amount,
            "currency": deal.currency,
            "close_date": deal.close_date,
            "primary_contact": deal.primary_contact_id,
            "owner": deal.owner_id,
        }
        super().__init__(data, initial=initial, auto_id="edit_%s", **kwargs)
        self.fields["primary_contact"].queryset = deal.account.contacts.order_by("name")
        if may_reassign:
            self.fields["owner"].queryset = _sales_people(deal)
        else:
            del self.fields["owner"]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def changes(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


def _sales_people(deal: Deal) -> QuerySet:
    """Who may own the deal: active people whose role changes deals, and its owner now."""
    sellers = Q(
        is_active=True,
        groups__permissions__codename="change_deal",
        groups__permissions__content_type__app_label="deals",
    )
    return (
        User.objects.filter(sellers | Q(pk=deal.owner_id or 0))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class LineItemForm(forms.Form):
    product = forms.ModelChoiceField(queryset=None)
    quantity = forms.IntegerField(min_value=1, initial=1)
    unit_price = MoneyField(max_digits=12, decimal_places=2, min_value=0)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "line_%s")
        super().__init__(data, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(active=True).order_by("name")


class LineItemChangeForm(forms.Form):
    quantity = forms.IntegerField(min_value=1)
    unit_price = MoneyField(max_digits=12, decimal_places=2, min_value=0)


class StageMoveForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, auto_id="move_%s", **kwargs)


class CloseWonForm(forms.Form):
    """Requirements are left to the service, so one refusal names every blocker."""

    win_reason = forms.ModelChoiceField(
        queryset=WinReason.objects.filter(active=True), required=False
    )
    win_notes = forms.CharField(
        required=False, label="Why they bought", widget=forms.Textarea(attrs={"rows": 3})
    )
    close_date = forms.DateField(
        required=False, widget=DATE, help_text="The day it was won; empty means today."
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, auto_id="won_%s", **kwargs)


class CloseLostForm(forms.Form):
    loss_reason = forms.ModelChoiceField(
        queryset=LossReason.objects.filter(active=True), required=False
    )
    loss_notes = forms.CharField(
        required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, auto_id="lost_%s", **kwargs)


class ReopenForm(forms.Form):
    reason = forms.CharField(
        required=False, label="Why reopen it", widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, auto_id="reopen_%s", **kwargs)
