"""The demo's growth data: cross-sell rules and a reward rule as an admin would set them,
usage snapshots as an integration would send them (some over the threshold, which start
the usage expansion playbook on the worker), an expansion deal won before, and referrals
in every state of the funnel. Each part is seeded once."""

import datetime as dt
from decimal import Decimal

from apps.core import clock
from apps.customers.models import Account, Product, ProductFamily
from apps.deals import services as deal_services
from apps.deals.models import Deal, DealLineItem, StageChange, WinReason
from apps.growth.models import (
    CrossSellRule,
    ExpansionDeal,
    ReferralRequest,
    RewardRule,
    UsageSnapshot,
)
from apps.growth.referrals import Submission, referral_submit
from apps.growth.services import usage_record_many
from apps.playbooks.models import Playbook

SYSTEM = StageChange.Source.SYSTEM

CROSS_SELL_RULES = (
    # (name, owns, suggest, min tier, min customer days, reason)
    (
        "Platform customers → Analytics",
        "Platform",
        "Analytics",
        "",
        30,
        "Platform customers who add dashboards renew 18 % more often.",
    ),
    (
        "Platform customers → Services",
        "Platform",
        "Services",
        Account.Tier.MID_MARKET,
        0,
        "Mid-market and larger customers adopt faster with premium support.",
    ),
)
# Seat utilisation for the first customers, three monthly readings each: the
# first two end above 80 % (a crossing each), the others stay below.
USAGE_SERIES = ((60, 74, 88), (70, 79, 93), (40, 45, 51), (55, 58, 62))
LICENSED_SEATS = 100
REFERRAL_STATES = ("asked", "opened", "new_deal", "known_account", "converted", "expired")
REFERRED = {
    "new_deal": ("Lakeside Dental Group", "Maya Lin", "maya.lin@lakeside-dental.example"),
    "known_account": ("Bluebird Health", "Omar Haddad", "omar.haddad@bluebird-health.example"),
    "converted": ("Fjord Freight AS", "Lars Berg", "lars.berg@fjord-freight.example"),
}


def seed_growth(result, *, onboarding: Playbook, expansion: Playbook) -> None:
    _rules(result)
    customers = list(
        Account.objects.filter(deals__stage="closed_won", contacts__is_primary=True)
        .order_by("name")
        .distinct()
    )
    _usage(result, customers[: len(USAGE_SERIES)])
    _won_expansion(result, customers, expansion)
    _referrals(result, customers, onboarding)


def _rules(result) -> None:
    families = {f.name: f for f in ProductFamily.objects.all()}
    for name, owns, suggest, tier, days, reason in CROSS_SELL_RULES:
        if owns in families and suggest in families:
            _, created = CrossSellRule.objects.get_or_create(
                name=name,
                defaults={
                    "owns_family": families[owns],
                    "suggest_family": families[suggest],
                    "min_tier": tier,
                    "min_customer_days": days,
                    "reason": reason,
                },
            )
            result.count(CrossSellRule, created)
    if not RewardRule.objects.exists():
        RewardRule.objects.create(
            name="Referral thank-you", kind=RewardRule.Kind.PERCENT, percent=5, currency="USD"
        )
        result.count(RewardRule)


def _usage(result, accounts: list[Account]) -> None:
    product = Product.objects.filter(sku="PLAT-SEATS-10").first()
    if product is None or UsageSnapshot.objects.exists():
        return
    now = clock.now().replace(hour=6, minute=0, second=0, microsecond=0)
    items = [
        {
            "account": account.pk,
            "product": product.sku,
            "measured_at": (now - dt.timedelta(days=30 * (len(series) - 1 - month))).isoformat(),
            "licensed_units": LICENSED_SEATS,
            "used_units": used,
        }
        for account, series in zip(accounts, USAGE_SERIES, strict=False)
        for month, used in enumerate(series)
    ]
    if items:
        result.count(UsageSnapshot, usage_record_many(items=items).created)


def _close_won(deal: Deal, *, at: dt.datetime, notes: str) -> None:
    with clock.frozen(at):
        for name in ("qualify", "propose", "negotiate"):
            deal_services.deal_move(deal=deal, name=name, actor=None, source=SYSTEM)
        deal_services.deal_close_won(
            deal=deal,
            actor=None,
            source=SYSTEM,
            win_reason=WinReason.objects.filter(active=True).order_by("pk").first(),
            win_notes=notes,
            close_date=None,  # the day it is won, in the rep's time zone
        )


def _with_lines(deal: Deal, skus: tuple[str, ...]) -> Deal:
    products = list(Product.objects.filter(sku__in=skus))
    DealLineItem.objects.bulk_create(
        [DealLineItem(deal=deal, product=p, quantity=1, unit_price=p.list_price) for p in products]
    )
    deal.amount = sum((p.list_price for p in products), Decimal("0"))
    deal.close_date = clock.now().date()
    deal.save(update_fields=["amount", "close_date"])
    return deal


def _won_expansion(result, accounts: list[Account], playbook: Playbook) -> None:
    """An expansion deal the usage playbook prompted two months ago, won since: the
    attribution figures have something to show from the first start."""
    if ExpansionDeal.objects.exists() or not accounts:
        return
    account = accounts[-1]
    source = Deal.objects.filter(account=account, stage="closed_won").order_by("pk").first()
    prompted_at = clock.now() - dt.timedelta(days=60)
    with clock.frozen(prompted_at):
        deal = deal_services.deal_create(
            actor=None,
            account=account,
            name=f"{account.name} — expansion: Analytics",
            kind=Deal.Kind.EXPANSION,
            source=Deal.Source.PLAYBOOK,
            owner=account.owner,
            primary_contact=account.contacts.filter(is_primary=True).first(),
        )
    _with_lines(deal, ("ANL-DASH",))
    version = playbook.current_version
    ExpansionDeal.objects.create(
        deal=deal,
        originating_deal=source,
        playbook=playbook,
        version_number=version.number if version else None,
        step_key="usage-expansion",
        families=["Analytics"],
        created_at=prompted_at,
    )
    _close_won(
        deal,
        at=clock.now() - dt.timedelta(days=20),
        notes="Dashboards for the operations team, after the usage prompt.",
    )
    result.count(ExpansionDeal)


def _referrals(result, accounts: list[Account], playbook: Playbook) -> None:
    """One referrer per state of the funnel; a referral submitted goes through the same
    service as the public page (accounts, deals, notifications and emails included)."""
    if ReferralRequest.objects.exists():
        return
    now = clock.now()
    version = playbook.current_version
    for account, state in zip(accounts, REFERRAL_STATES, strict=False):
        contact = account.contacts.filter(is_primary=True).first()
        asked_at = now - dt.timedelta(days=45 if state in ("converted", "expired") else 6)
        ask = ReferralRequest.objects.create(
            contact=contact,
            account=account,
            playbook=playbook,
            version_number=version.number if version else None,
            step_key="promoter_referral",
            created_at=asked_at,
            expires_at=asked_at + dt.timedelta(days=30 if state == "expired" else 60),
            opened_at=None if state in ("asked", "expired") else asked_at + dt.timedelta(hours=3),
        )
        result.count(ReferralRequest)
        if state not in REFERRED:
            continue
        company, name, email = REFERRED[state]
        with clock.frozen(asked_at + dt.timedelta(hours=4)):
            referral = referral_submit(
                request=ask,
                submission=Submission(
                    company=company,
                    contact_name=name,
                    email=email,
                    title="Head of Operations",
                    note=f"{contact.name} thinks they would love it.",
                    consent=True,
                ),
            )
        if state == "converted" and referral.deal is not None:
            _with_lines(referral.deal, ("PLAT-BUSINESS", "SVC-ONBOARD"))
            _close_won(
                referral.deal,
                at=now - dt.timedelta(days=10),
                notes=f"Referred by {contact.name}; chose us after a call with them.",
            )
