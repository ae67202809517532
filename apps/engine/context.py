"""The restricted context that step templates (``{{ account.name }}``) render with."""

import re
from typing import Any

from django.conf import settings

from apps.core.step_kinds import StepExecution

_READS_DEAL = re.compile(r"{[{%][^}]*\bdeal\.")


def templates_missing_deal(execution: StepExecution, *, templates: dict[str, Any]) -> str | None:
    """Why a step's templates cannot render: they read the deal and the enrollment has
    none (an account event on an account without a won deal). None if they can."""
    if execution.deal is not None:
        return None
    fields = [name for name, text in templates.items() if _READS_DEAL.search(str(text or ""))]
    if not fields:
        return None
    return f"the {' and '.join(fields)} read the deal, and {execution.account.name} has no won deal"


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
        "company": {"name": settings.COMPANY_NAME},
        "csm": _person(account.csm),
        "owner": _person(deal.owner if deal else account.owner),
        "context": dict(execution.enrollment.context),
    }
