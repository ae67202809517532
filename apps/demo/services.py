"""Demo data for a first look at Afterwin: people in every role, customers around the
world, a product catalog, deals in every stage, a published onboarding playbook, and the
existing customers enrolled in quarterly business reviews through bulk enrollment.

Idempotent: every row is looked up by a natural key (username, account name, SKU, deal
name…) before it is created, and a deal walks through its stages (through
``apps.deals.services``, so it has a real timeline and real events) only when it is first
created. The bulk enrollment runs only while the programme has none. A second run creates
nothing and leaves existing passwords alone.
"""

import datetime as dt
import random
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import models, transaction

from apps.core import clock, outbox
from apps.core.errors import ValidationFailed
from apps.core.models import Profile
from apps.customers.models import Account, Contact, Product, ProductFamily
from apps.deals import services as deal_services
from apps.deals.models import Deal, DealLineItem, LossReason, StageChange, WinReason
from apps.demo.data import (
    ACCOUNTS,
    CHECK_IN_QUEUE_SLUG,
    DEALS,
    DEMO_USERS,
    ESCALATION_QUEUE_SLUG,
    EXPANSION_DESCRIPTION,
    EXPANSION_PLAYBOOK_NAME,
    EXPANSION_STEPS,
    HISTORY_COMMENTS,
    HISTORY_EVERY_DAYS,
    INACTIVE_WIN_REASONS,
    LOSS_REASONS,
    PLAYBOOK_NAME,
    PLAYBOOK_STEPS,
    PRODUCTS,
    QBR_BULK_FILTERS,
    QBR_DESCRIPTION,
    QBR_PLAYBOOK_NAME,
    QBR_SPREAD_BUSINESS_DAYS,
    QBR_STEPS,
    QUEUE_SLUG,
    RESPONSE_HISTORY_MONTHS,
    RNPS_BULK_FILTERS,
    RNPS_DESCRIPTION,
    RNPS_PLAYBOOK_NAME,
    RNPS_SPREAD_BUSINESS_DAYS,
    RNPS_STEPS,
    SEGMENT_LEAN,
    STAGE_PATHS,
    WIN_REASONS,
    DemoDeal,
    DemoUser,
    ascii_text,
    deal_history,
    territory_team,
)
from apps.demo.growth import seed_growth
from apps.demo.health import seed_health
from apps.engine.bulk import bulk_enrollment_run, bulk_enrollment_start
from apps.engine.models import BulkEnrollment, Enrollment
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue, Task
from apps.queues.services import task_create, tasks_check_slas
from apps.surveys.models import SCALES, Invitation, Response, Survey, band_of
from apps.surveys.rollups import rollups_rebuild

SYSTEM = StageChange.Source.SYSTEM


@dataclass
class DemoLogin:
    user: DemoUser
    password_works: bool


@dataclass
class DemoSeedResult:
    created: Counter[type[models.Model]] = field(default_factory=Counter)
    logins: list[DemoLogin] = field(default_factory=list)

    def count(self, model: type[models.Model], created: int = 1) -> None:
        self.created[model] += int(created)

    @property
    def created_anything(self) -> bool:
        return any(self.created.values())

    def summary(self) -> str:
        """E.g. "6 users, 24 accounts, 1 queue"."""
        return ", ".join(
            f"{n} {model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural}"
            for model, n in self.created.items()
            if n
        )


def _email(name: str, domain: str) -> str:
    local = ".".join(ascii_text(name).lower().replace("'", "").split())
    return f"{local}@{domain}"


@transaction.atomic
def demo_data_seed(*, reset_passwords: bool = False) -> DemoSeedResult:
    """Create the demo data that is missing; return what was created and the logins.

    Existing users keep their passwords unless ``reset_passwords`` is given.
    """
    result = DemoSeedResult()
    users = _seed_users(result, reset_passwords=reset_passwords)
    products = _seed_catalog(result)
    _seed_reasons(result)
    accounts = _seed_accounts(result, users)
    _seed_queue(result, users)
    _seed_escalation_queue(result, users)
    _seed_check_in_queue(result, users)
    if not Playbook.objects.filter(name=PLAYBOOK_NAME).exists():
        # A fresh database: the year of closed deals goes in before any playbook is
        # published, and its events are processed now, so last year's wins enroll nobody.
        _seed_deals(result, accounts, products, deal_history(clock.now().date()))
        outbox.drain()
    onboarding = _seed_playbook(result, publisher=users["admin"])
    _seed_deals(result, accounts, products, DEALS)
    _seed_task_states(result, users, accounts)
    reviews = _seed_review_programme(result, publisher=users["admin"])
    _seed_bulk_enrollments(
        result, reviews, QBR_BULK_FILTERS, QBR_SPREAD_BUSINESS_DAYS, actor=users["maria.manager"]
    )
    _seed_response_history(result)
    relationship = _seed_published_playbook(
        result,
        name=RNPS_PLAYBOOK_NAME,
        settings={
            "description": RNPS_DESCRIPTION,
            "trigger": "deal.closed_won",
            "filters": {"deal_kinds": [Deal.Kind.RENEWAL]},
            "account_cooldown_days": 180,
        },
        steps=RNPS_STEPS,
        publisher=users["admin"],
    )
    _seed_bulk_enrollments(
        result,
        relationship,
        RNPS_BULK_FILTERS,
        RNPS_SPREAD_BUSINESS_DAYS,
        actor=users["maria.manager"],
    )
    expansion = _seed_published_playbook(
        result,
        name=EXPANSION_PLAYBOOK_NAME,
        settings={
            "description": EXPANSION_DESCRIPTION,
            "trigger": "account.usage_threshold_crossed",
            "enrollment_policy": Playbook.Policy.EVERY_TRIGGER,
            "account_cooldown_days": 30,
        },
        steps=EXPANSION_STEPS,
        publisher=users["admin"],
    )
    seed_growth(result, onboarding=onboarding, expansion=expansion)
    # Last: health is computed from everything seeded above.
    seed_health(result, publisher=users["admin"], seed_playbook=_seed_published_playbook)
    return result


def _seed_users(result: DemoSeedResult, *, reset_passwords: bool) -> dict[str, User]:
    users = {}
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": spec.email,
                # Deals are closed and playbooks configured in the admin, so every demo
                # role can sign in there too; task work happens in the product UI.
                "is_staff": True,
                "is_superuser": spec.is_superuser,
                # On the same clock as the digests: the first one goes the next morning.
                "date_joined": clock.now(),
            },
        )
        if created or reset_passwords:
            user.set_password(spec.password)
            user.save(update_fields=["password"])
            works = True
        else:
            works = user.check_password(spec.password)
        group = Group.objects.filter(name=spec.role).first()
        if group is None:
            raise LookupError(f"The role group “{spec.role}” is missing; run `manage.py migrate`.")
        user.groups.add(group)
        Profile.objects.get_or_create(user=user, defaults={"timezone": spec.timezone})
        result.count(User, created)
        result.logins.append(DemoLogin(user=spec, password_works=works))
        users[spec.username] = user
    return users


def _seed_catalog(result: DemoSeedResult) -> dict[str, Product]:
    products = {}
    for sku, (name, family_name, price) in PRODUCTS.items():
        family, created = ProductFamily.objects.get_or_create(name=family_name)
        result.count(ProductFamily, created)
        products[sku], created = Product.objects.get_or_create(
            sku=sku,
            defaults={
                "name": name,
                "family": family,
                "list_price": Decimal(price),
                "currency": "USD",
            },
        )
        result.count(Product, created)
    return products


def _seed_reasons(result: DemoSeedResult) -> None:
    for model, reasons, active in (
        (WinReason, WIN_REASONS, True),
        (WinReason, INACTIVE_WIN_REASONS, False),
        (LossReason, LOSS_REASONS, True),
    ):
        for name, description in reasons.items():
            _, created = model.objects.get_or_create(
                name=name, defaults={"description": description, "active": active}
            )
            result.count(model, created)


def _seed_accounts(result: DemoSeedResult, users: dict[str, User]) -> dict[str, Account]:
    accounts = {}
    for spec in ACCOUNTS:
        account, created = Account.objects.get_or_create(
            name=spec.name,
            defaults={
                "domain": spec.domain,
                "country": spec.country,
                "timezone": spec.timezone,
                "tier": spec.tier,
                "segment": spec.segment,
                "lifecycle_status": spec.lifecycle,
                "owner": users[territory_team(spec.country).rep],
                "csm": users[territory_team(spec.country).csm],
            },
        )
        accounts[spec.name] = account
        result.count(Account, created)
        if not created:
            continue  # its contacts are the account's own business now
        for position, (name, title) in enumerate(spec.contacts):
            Contact.objects.create(
                account=account,
                name=name,
                title=title,
                email=_email(name, spec.domain),
                is_primary=position == 0,
            )
            result.count(Contact)
    return accounts


def _seed_queue(result: DemoSeedResult, users: dict[str, User]) -> Queue:
    return _seed_team_queue(
        result,
        users,
        slug=QUEUE_SLUG,
        name="Onboarding",
        description="Kickoff calls and first-month check-ins for new customers.",
        # Two business days to act on a task; a breach raises its priority.
        sla_hours=16,
        raise_priority_on_breach=True,
    )


def _seed_check_in_queue(result: DemoSeedResult, users: dict[str, User]) -> Queue:
    return _seed_team_queue(
        result,
        users,
        slug=CHECK_IN_QUEUE_SLUG,
        name="Customer success",
        description="Business reviews and check-ins with existing customers.",
        sla_hours=40,
    )


def _seed_team_queue(
    result: DemoSeedResult, users: dict[str, User], *, slug: str, **settings
) -> Queue:
    """A queue of the customer-success team, managed by Maria, on New York hours."""
    queue, created = Queue.objects.get_or_create(
        slug=slug,
        defaults={
            "team": "Customer Success",
            "manager": users["maria.manager"],
            "timezone": "America/New_York",
            "country": "US",
            **settings,
        },
    )
    result.count(Queue, created)
    if created:
        queue.members.add(*_cs_team(users))
    return queue


def _cs_team(users: dict[str, User]) -> list[User]:
    return [users[u.username] for u in DEMO_USERS if u.role in ("CS Manager", "CSM")]


def _seed_playbook(result: DemoSeedResult, *, publisher: User) -> Playbook:
    return _seed_published_playbook(
        result,
        name=PLAYBOOK_NAME,
        settings={
            "description": "Kickoff call and a hand-off reminder on the day of the win, a "
            "welcome email in the customer's working hours, check-ins on days 7 and 30, an "
            "escalation if the kickoff is still open on day 14, a day-30 NPS survey whose "
            "answer picks the next step (a call-back, a check-in, or thanks and a referral "
            "request), an expansion prompt on day 60, then quarterly check-ins.",
        },
        steps=PLAYBOOK_STEPS,
        publisher=publisher,
    )


def _seed_published_playbook(
    result: DemoSeedResult,
    *,
    name: str,
    settings: dict,
    steps: tuple[dict, ...],
    publisher: User,
) -> Playbook:
    """The playbook with its steps, published; steps are added only to a new playbook
    (an existing one's steps are the admins' business now)."""
    playbook, created = Playbook.objects.get_or_create(name=name, defaults=settings)
    result.count(Playbook, created)
    if created:
        for position, step in enumerate(steps, start=1):
            PlaybookStep.objects.create(playbook=playbook, position=position, **step)
            result.count(PlaybookStep)
    if playbook.current_version_id is None:
        playbook_publish(playbook=playbook, actor=publisher)
        result.count(PlaybookVersion)
        playbook.refresh_from_db()
    return playbook


def _seed_deals(
    result: DemoSeedResult,
    accounts: dict[str, Account],
    products: dict[str, Product],
    specs: tuple[DemoDeal, ...],
) -> None:
    now = clock.now()
    for spec in specs:
        account = accounts[spec.account]
        if Deal.objects.filter(account=account, name=spec.full_name).exists():
            continue
        created_at = now - dt.timedelta(days=spec.created_days_ago)
        amount = sum(
            (products[sku].list_price * quantity for sku, quantity in spec.lines), Decimal("0")
        )
        expected_close = (
            now.date() + dt.timedelta(days=spec.expected_close_in_days)
            if spec.expected_close_in_days is not None
            else None
        )
        # The clock is set back so the timeline reads like a real sales cycle.
        with clock.frozen(created_at):
            deal = Deal.objects.create(
                name=spec.full_name,
                account=account,
                owner=account.owner,
                kind=spec.kind,
                amount=amount or None,
                currency="USD",
                close_date=expected_close,
                primary_contact=account.contacts.filter(is_primary=True).first(),
            )
        for sku, quantity in spec.lines:
            DealLineItem.objects.create(
                deal=deal,
                product=products[sku],
                quantity=quantity,
                unit_price=products[sku].list_price,
            )
        result.count(Deal)
        result.count(DealLineItem, len(spec.lines))
        _walk_stages(result, deal, spec, created_at=created_at, now=now)


def _walk_stages(
    result: DemoSeedResult, deal: Deal, spec: DemoDeal, *, created_at: dt.datetime, now: dt.datetime
) -> None:
    path = STAGE_PATHS[spec.stage]
    last_change = now - dt.timedelta(days=spec.last_change_days_ago)
    for step, name in enumerate(path, start=1):
        at = created_at + (last_change - created_at) * step / len(path)
        with clock.frozen(at):
            if name == "close_won":
                deal_services.deal_close_won(
                    deal=deal,
                    actor=None,
                    source=SYSTEM,
                    win_reason=WinReason.objects.get(name=spec.reason),
                    win_notes=spec.notes,
                    close_date=None,  # the day it is won, in the rep's time zone
                )
            elif name == "close_lost":
                deal_services.deal_close_lost(
                    deal=deal,
                    actor=None,
                    source=SYSTEM,
                    loss_reason=LossReason.objects.get(name=spec.reason),
                    loss_notes=spec.notes,
                )
            else:
                deal_services.deal_move(deal=deal, name=name, actor=None, source=SYSTEM)
        result.count(StageChange)


def _seed_review_programme(result: DemoSeedResult, *, publisher: User) -> Playbook:
    """Quarterly business reviews: one playbook whose two review steps are conditioned on
    the account's tier (every 90 days for enterprise, 180 for the others). One playbook
    reads better in the admin than two: one programme, one enrollment and one timeline
    per account, and a tier change is followed without moving the account."""
    return _seed_published_playbook(
        result,
        name=QBR_PLAYBOOK_NAME,
        settings={
            "description": QBR_DESCRIPTION,
            "trigger": "deal.closed_won",
            "filters": {"deal_kinds": [Deal.Kind.RENEWAL]},
            "account_cooldown_days": 180,
        },
        steps=QBR_STEPS,
        publisher=publisher,
    )


def _seed_bulk_enrollments(
    result: DemoSeedResult, playbook: Playbook, filters: dict, spread: int, *, actor: User
) -> None:
    """Existing customers join a programme through bulk enrollment, as a CS manager
    would start it in the admin; it runs here rather than on a worker, so the demo is
    complete when the command ends (the worker's copy of the message finds it done)."""
    if playbook.status != Playbook.Status.ACTIVE or playbook.bulk_enrollments.exists():
        return
    try:
        run = bulk_enrollment_start(
            playbook=playbook, filters=filters, spread_business_days=spread, actor=actor
        )
    except ValidationFailed:
        return  # no active customer (they were changed since seeding): nobody to enroll
    if bulk_enrollment_run(bulk_enrollment_id=run.pk) != BulkEnrollment.State.DONE:
        run.refresh_from_db()
        raise RuntimeError(f"Enrolling the demo customers in “{playbook}” failed: {run.error}")
    run.refresh_from_db()
    result.count(BulkEnrollment)
    result.count(Enrollment, run.enrolled)


def _seed_task_states(
    result: DemoSeedResult, users: dict[str, User], accounts: dict[str, Account]
) -> None:
    """Work in every state a CSM reads about, made through the queue services on a clock
    set back to when it was made: overdue, due today, and an escalation whose SLA was
    breached (the breach check runs, as beat would). Each task is made once, by title."""
    now = clock.now()
    queues = {q.slug: q for q in Queue.objects.all()}
    carla_day = now.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    # Due at 17:00 in Carla's day, or soon if that has passed: due today either way.
    due_today = max(
        carla_day.replace(hour=17, minute=0, second=0, microsecond=0),
        min(now + dt.timedelta(minutes=30), carla_day.replace(hour=23, minute=59)),
    )
    for slug, title, who, account, made_days_ago, due_at, priority in (
        (
            CHECK_IN_QUEUE_SLUG,
            "Send the usage report Northwind Logistics asked for",
            "carla.csm",
            "Northwind Logistics",
            6,
            now - dt.timedelta(days=2),
            Task.Priority.P2,
        ),
        (
            CHECK_IN_QUEUE_SLUG,
            "Agree the training dates with Verde Agro",
            "carla.csm",
            "Verde Agro",
            3,
            due_today,
            Task.Priority.P3,
        ),
        (
            CHECK_IN_QUEUE_SLUG,
            "Chase the signed data-processing agreement from Rheinwerk Maschinenbau",
            "chris.csm",
            "Rheinwerk Maschinenbau",
            9,
            now - dt.timedelta(days=4),
            Task.Priority.P3,
        ),
        (
            ESCALATION_QUEUE_SLUG,
            "Call back Indus Fintech: exports failing since the upgrade",
            "chris.csm",
            "Indus Fintech",
            3,
            now + dt.timedelta(days=1),
            Task.Priority.P2,
        ),
    ):
        if Task.objects.filter(title=title).exists():
            continue
        with clock.frozen(now - dt.timedelta(days=made_days_ago)):
            task_create(
                queue=queues[slug],
                title=title,
                account=accounts[account],
                assignee=users[who],
                assignment_reason="Set up with the demo.",
                priority=priority,
                due_at=due_at,
            )
        result.count(Task)
    tasks_check_slas()


def _seed_escalation_queue(result: DemoSeedResult, users: dict[str, User]) -> Queue:
    return _seed_team_queue(
        result,
        users,
        slug=ESCALATION_QUEUE_SLUG,
        name="Escalations",
        description="Unhappy customers: detractor call-backs and stalled projects. While an "
        "account has an open task here, it gets no survey.",
        sla_hours=8,
    )


def _seed_response_history(result: DemoSeedResult) -> None:
    """A year of answers from the customers who were customers before Afterwin (their
    survey tool's history): each contact asked every two months, NPS mostly, CSAT and
    CES now and then, scores leaning by segment so the metrics differ between them.
    Seeded once."""
    if Response.objects.exists():
        return
    now = clock.now()
    surveys = {s.kind: s for s in Survey.objects.filter(slug__in=["nps", "csat", "ces"])}
    if len(surveys) < 3:
        return
    rng = random.Random(7)
    contacts = list(
        Contact.objects.filter(
            account__lifecycle_status__in=[Account.Lifecycle.ACTIVE, Account.Lifecycle.ONBOARDING]
        )
        .exclude(email="")
        .select_related("account")
        .order_by("pk")
    )
    invitations, responses = [], []
    waiting = 0
    for contact in contacts:
        lean = SEGMENT_LEAN.get(contact.account.segment, 0)
        first = rng.randint(0, 80)
        for days_ago in range(RESPONSE_HISTORY_MONTHS * 30 - first, 20, -HISTORY_EVERY_DAYS):
            asked = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 8))
            survey = surveys[rng.choices(["nps", "csat", "ces"], weights=[6, 2, 1])[0]]
            low, high, _, _ = SCALES[survey.kind]
            answered = rng.random() < 0.7
            invitation = Invitation(
                survey=survey,
                contact=contact,
                account=contact.account,
                status=Invitation.Status.ANSWERED if answered else Invitation.Status.SENT,
                created_at=asked,
                expires_at=asked + dt.timedelta(days=survey.expires_after_days),
                reminded_at=None if answered else asked + dt.timedelta(days=4),
            )
            invitations.append(invitation)
            if not answered:
                continue
            # Most customers are content: NPS answers centre on 8, CSAT on 4, CES on 5.
            centre = low + (high - low) * (0.78 + 0.08 * lean)
            score = max(low, min(high, round(rng.gauss(centre, (high - low) / 4))))
            band = band_of(survey.kind, score)
            # Unhappy answers are followed up, except every other one of the last three
            # months: the detractors still waiting for a call (chosen without the random
            # sequence, so the scores stay the same).
            unhappy = band in ("detractor", "low")
            recent = unhappy and days_ago <= 90
            waiting += recent
            followed_up = unhappy and (not recent or waiting % 2 == 0)
            responses.append(
                Response(
                    invitation=invitation,
                    survey=survey,
                    kind=survey.kind,
                    score=score,
                    band=band,
                    comment=rng.choice(HISTORY_COMMENTS[band]),
                    answered_at=asked + dt.timedelta(hours=rng.randint(1, 72)),
                    account=contact.account,
                    contact=contact,
                    segment=contact.account.segment,
                    csm_id=contact.account.csm_id,
                    followed_up_at=asked + dt.timedelta(days=1) if followed_up else None,
                    follow_up_note="Called back; agreed a recovery plan." if followed_up else "",
                )
            )
    Invitation.objects.bulk_create(invitations)
    for response in responses:
        response.invitation_id = response.invitation.pk
    Response.objects.bulk_create(responses)
    rollups_rebuild()
    result.count(Invitation, len(invitations))
    result.count(Response, len(responses))
