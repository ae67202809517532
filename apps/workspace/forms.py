from django import forms

from apps.core.validators import validate_country
from apps.customers.models import Account
from apps.growth.forms import WhitespaceFilterForm
from apps.health.models import Band
from apps.workspace import search
from apps.workspace.selectors import NOT_COMPUTED, SORTS, AccountFilters
from apps.workspace.services import NOTE_MAX_LENGTH

PAGE_SIZES = (10, 30, 50, 100)
DEFAULT_PAGE_SIZE = 30
SORT_CHOICES = (
    ("name", "Name (A–Z)"),
    ("-name", "Name (Z–A)"),
    ("-arr", "ARR (highest first)"),
    ("arr", "ARR (lowest first)"),
    ("renewal", "Renewal (soonest first)"),
    ("-renewal", "Renewal (latest first)"),
    ("health", "Health (worst first)"),
    ("-health", "Health (best first)"),
)


class AccountFilterForm(WhitespaceFilterForm):
    """The account list's search, filters, sort and page size: the whitespace page's
    segment, CSM and owner, and more. An unknown value is an error naming the field (a
    400), never silently ignored."""

    field_order = (
        "q",
        "lifecycle",
        "tier",
        "segment",
        "country",
        "csm",
        "owner",
        "renewal_within",
        "health",
        "sort",
        "per_page",
    )

    q = forms.CharField(required=False, max_length=200, label="Search")
    lifecycle = forms.ChoiceField(
        required=False, choices=[("", "Any lifecycle"), *Account.Lifecycle.choices]
    )
    tier = forms.ChoiceField(required=False, choices=[("", "Any tier"), *Account.Tier.choices])
    country = forms.CharField(required=False, max_length=2, label="Country", help_text="e.g. DE")
    renewal_within = forms.IntegerField(
        required=False, min_value=0, max_value=3650, label="Renewal within (days)"
    )
    health = forms.ChoiceField(
        required=False,
        label="Health",
        choices=[("", "Any health"), *Band.choices, (NOT_COMPUTED, "Not computed yet")],
    )
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    per_page = forms.TypedChoiceField(
        required=False,
        coerce=int,
        choices=[(size, size) for size in PAGE_SIZES],
        empty_value=DEFAULT_PAGE_SIZE,
        label="Per page",
    )

    def __init__(self, data=None, *args, **kwargs) -> None:
        # A query without a page size shows (and uses) the default one.
        if data is not None and not data.get("per_page"):
            data = data.copy()
            data["per_page"] = str(DEFAULT_PAGE_SIZE)
        super().__init__(data, *args, **kwargs)

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").upper()
        if country:
            validate_country(country)
        return country

    def filters(self) -> AccountFilters:  # type: ignore[override]
        data = self.cleaned_data if self.is_bound and not self.errors else {}
        sort = data.get("sort") or "name"
        return AccountFilters(
            search=(data.get("q") or "").strip(),
            lifecycle=data.get("lifecycle") or "",
            tier=data.get("tier") or "",
            segment=data.get("segment") or "",
            country=data.get("country") or "",
            csm_id=data["csm"].pk if data.get("csm") else None,
            owner_id=data["owner"].pk if data.get("owner") else None,
            renewal_within_days=data.get("renewal_within"),
            health_band=data.get("health") or "",
            sort=sort if sort in SORTS else "name",
        )

    def page_size(self) -> int:
        if self.is_bound and not self.errors:
            return self.cleaned_data.get("per_page") or DEFAULT_PAGE_SIZE
        return DEFAULT_PAGE_SIZE


class AccountNoteForm(forms.Form):
    body = forms.CharField(
        label="Add a note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Notes are kept as written: they cannot be edited or deleted.",
    )


class SearchForm(forms.Form):
    """The search box. Too short or too long is a friendly message on the page; a NUL
    character is refused (400) by the field itself."""

    q = forms.CharField(required=False, label="Search", strip=True)

    def term(self) -> tuple[str, str]:
        """(term, message): the term to search for, or why there is nothing to search."""
        term = self.cleaned_data.get("q", "") if self.is_valid() else ""
        if not term:
            return "", "Type a name, an email, a deal or a task to search."
        if len(term) < search.MIN_LENGTH:
            return "", f"Type at least {search.MIN_LENGTH} characters."
        if len(term) > search.MAX_LENGTH:
            return "", f"Searches are at most {search.MAX_LENGTH} characters; shorten it."
        return term, ""
