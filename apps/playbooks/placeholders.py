"""What a step's templates can read (``{{ account.name }}``), built in one place for the
engine's executors and for the builder's placeholder picker and preview."""

from typing import Any

from django.conf import settings

# The placeholders the builder offers, in the order an admin reaches for them. The values
# come from ``template_context``; a test keeps the two in step.
PLACEHOLDERS = (
    ("account.name", "Account name"),
    ("account.tier", "Account tier"),
    ("account.country", "Account country"),
    ("account.domain", "Account domain"),
    ("account.timezone", "Account time zone"),
    ("contact.name", "Primary contact's name"),
    ("contact.email", "Primary contact's email"),
    ("contact.title", "Primary contact's title"),
    ("deal.name", "Deal name"),
    ("deal.amount", "Deal amount"),
    ("deal.currency", "Deal currency"),
    ("deal.kind", "Deal kind"),
    ("deal.close_date", "Deal close date"),
    ("csm.name", "CSM's name (or “our customer success team”)"),
    ("csm.first_name", "CSM's first name (or “our customer success team”)"),
    ("csm.email", "CSM's email"),
    ("owner.name", "Deal owner's name"),
    ("owner.first_name", "Deal owner's first name"),
    ("owner.email", "Deal owner's email"),
    ("company.name", "Our company's name"),
)


# An account without a CSM (taken in from a CRM, say) still gets a sentence that reads:
# "Introduce our customer success team to Ana", never "Introduce  to Ana".
NO_CSM = "our customer success team"


def _person(user: Any, *, missing: str = "") -> dict[str, str]:
    if user is None:
        return {"name": missing, "email": "", "first_name": missing}
    return {
        "name": user.get_full_name() or user.get_username(),
        "first_name": user.first_name or user.get_username(),
        "email": user.email,
    }


def _deal(deal: Any) -> dict[str, str]:
    if deal is None:
        return {"name": "", "amount": "", "currency": "", "kind": "", "close_date": ""}
    return {
        "name": deal.name,
        "amount": f"{deal.amount:,.2f}" if deal.amount is not None else "",
        "currency": deal.currency,
        "kind": deal.get_kind_display(),
        "close_date": deal.close_date.isoformat() if deal.close_date else "",
    }


def template_context(*, account: Any, deal: Any, enrollment_context: dict) -> dict[str, Any]:
    """Plain dicts only: a template cannot reach methods or related rows. Without a deal
    (an account event), the deal's fields render empty."""
    contact = deal.primary_contact if deal else None
    return {
        "account": {
            "name": account.name,
            "tier": account.get_tier_display(),
            "country": account.country,
            "timezone": account.timezone,
            "domain": account.domain,
        },
        "deal": _deal(deal),
        "contact": {
            "name": contact.name if contact else "",
            "email": contact.email if contact else "",
            "title": contact.title if contact else "",
        },
        "company": {"name": settings.COMPANY_NAME},
        "csm": _person(account.csm, missing=NO_CSM),
        "owner": _person(deal.owner if deal else account.owner),
        "context": dict(enrollment_context),
    }
