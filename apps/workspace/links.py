"""Where a deal's name leads: the deal page when the deals app serves one
(``deals:deal_detail``), otherwise the deal's admin page for staff, otherwise nowhere."""

from typing import Any

from django.urls import NoReverseMatch, reverse


def deal_url(deal_id: int, user: Any) -> str:
    try:
        return reverse("deals:deal_detail", args=[deal_id])
    except NoReverseMatch:
        pass
    if getattr(user, "is_staff", False):
        return reverse("admin:deals_deal_change", args=[deal_id])
    return ""
