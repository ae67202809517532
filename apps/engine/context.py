"""The restricted context that step templates (``{{ account.name }}``) render with."""

from typing import Any

from apps.core.step_kinds import StepExecution


def _person(user: Any) -> dict[str, str]:
    if user is None:
        return {"name": "", "email": "", "first_name": ""}
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


def step_template_context(execution: StepExecution) -> dict[str, Any]:
    deal, account = execution.deal, execution.account
    # Without a deal (an account event), deal fields render empty.
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
        "csm": _person(account.csm),
        "owner": _person(deal.owner if deal else account.owner),
        "context": dict(execution.enrollment.context),
    }
