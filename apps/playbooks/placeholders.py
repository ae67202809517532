"""What a step's templates can read (``{{ account.name }}``), built in one place for the
engine's executors and for the builder's placeholder picker, preview and checks."""

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from apps.core import event_registry
from apps.core.templating import TemplateError, template_variables, unclosed_tags

# The dotted name in a tag left open or half closed: ``{{ account.nam }``.
_TAG_NAME = re.compile(r"([A-Za-z_][\w.]*)")

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


def wait_step_fields(until_event: str) -> list[tuple[str, str]]:
    """What a wait step for ``until_event`` leaves in the enrollment: its outcome, then
    the facts the event brings (a survey's score, band and comment)."""
    waitable = event_registry.waitable(until_event)
    return [("outcome", "outcome"), *(waitable.fields if waitable else ())]


def step_placeholders(steps: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The wait steps' facts as templates read them. A finished step's result is kept in
    the enrollment's context under ``steps.<key>``, and templates see the context as
    ``context``: ``{{ context.steps.nps_answer.score }}`` (conditions read the same
    fact as ``steps.nps_answer.score``). ``steps`` are snapshots: key, name, kind, config."""
    found = []
    for step in steps:
        if step.get("kind") != "wait" or not step.get("key"):
            continue
        until_event = str((step.get("config") or {}).get("until_event") or "")
        name = step.get("name") or step["key"]
        for fact, label in wait_step_fields(until_event):
            found.append((f"context.steps.{step['key']}.{fact}", f"{name}: {label}"))
    return found


def _closest(name: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return close[0] if close else None


def template_placeholder_problems(source: str, *, steps: Iterable[Mapping[str, Any]]) -> list[str]:
    """What keeps a template from rendering what its author meant: a tag left unclosed
    (Django would print it as text), or a name that is not a placeholder (it would render
    as nothing), with the closest placeholder there is. ``steps``: the playbook's steps,
    whose wait steps add their facts. A template that does not compile is left to the
    kind's own check."""
    known = [path for path, _ in (*PLACEHOLDERS, *step_placeholders(steps))]
    problems = []
    for text in unclosed_tags(source):
        # The name nearest the mark: after an opening, before a closing.
        names = _TAG_NAME.findall(text)
        name = (names[0] if text.startswith("{") else names[-1]) if names else ""
        example = _closest(name, known) or name if name else "account.name"
        problems.append(f"“{text}” is not a complete placeholder; write “{{{{ {example} }}}}”.")
    try:
        names = template_variables(source)
    except TemplateError:
        return problems
    for name in names:
        if name in known:
            continue
        close = _closest(name, known)
        hint = f"did you mean “{close}”?" if close else "choose one from “Insert”."
        problems.append(f"“{name}” is not a placeholder; {hint}")
    return problems
