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


def step_template_context(execution: StepExecution) -> dict[str, Any]:
    deal, account = execution.deal, execution.account
    contact = deal.primary_contact
    return {
        "account": {
            "name": account.name,
            "tier": account.get_tier_display(),
            "country": account.country,
            "timezone": account.timezone,
            "domain": account.domain,
        },
        "deal": {
            "name": deal.name,
            "amount": f"{deal.amount:,.2f}" if deal.amount is not None else "",
            "currency": deal.currency,
            "kind": deal.get_kind_display(),
            "close_date": deal.close_date.isoformat() if deal.close_date else "",
        },
        "contact": {
            "name": contact.name if contact else "",
            "email": contact.email if contact else "",
            "title": contact.title if contact else "",
        },
        "csm": _person(account.csm),
        "owner": _person(deal.owner),
        "context": dict(execution.enrollment.context),
    }
