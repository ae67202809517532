"""What the deal page and API say about deals growth made: "prompted by" a playbook
step for an expansion deal, "referred by" a customer for a referred deal."""

from apps.deals.origins import Origin
from apps.growth.models import ExpansionDeal, Referral


def deal_origins(deal_ids: list[int]) -> dict[int, Origin]:
    found: dict[int, Origin] = {}
    for expansion in ExpansionDeal.objects.filter(deal_id__in=deal_ids).select_related("playbook"):
        playbook = expansion.playbook.name if expansion.playbook else "a deleted playbook"
        version = f" v{expansion.version_number}" if expansion.version_number else ""
        found[expansion.deal_id] = Origin(
            kind="prompted_by",
            label="Prompted by",
            text=f"{playbook}{version}, step “{expansion.step_key}”",
            details={
                "playbook": expansion.playbook_id,
                "version": expansion.version_number,
                "step_key": expansion.step_key,
                "step_run": expansion.step_run_id,
                "originating_deal": expansion.originating_deal_id,
            },
        )
    for referral in Referral.objects.filter(deal_id__in=deal_ids).select_related(
        "referrer_contact", "referrer_account"
    ):
        found[referral.deal_id] = Origin(
            kind="referred_by",
            label="Referred by",
            text=f"{referral.referrer_contact.name} at {referral.referrer_account.name}",
            details={
                "referral": referral.pk,
                "referrer_contact": referral.referrer_contact_id,
                "referrer_account": referral.referrer_account_id,
            },
        )
    return found
