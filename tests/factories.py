import datetime as dt
import importlib
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from apps.core import clock
from apps.customers.models import Account, Contact, Product, ProductFamily
from apps.deals.models import Deal, DealLineItem, LossReason, WinReason
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@afterwin.test")
    password = factory.django.Password("pass-for-tests-1")
    # Colleagues of long standing: a person who joins today has no digest until tomorrow.
    date_joined = factory.LazyFunction(lambda: clock.now() - dt.timedelta(days=365))

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(role_group(extracted))


# Migrations that give the roles more permissions after they were created, and that seed
# data (the default surveys): transactional tests flush what they wrote.
ROLE_GRANTS = (
    "apps.queues.migrations.0004_taskactivity_role_perms",
    "apps.engine.migrations.0007_bulkenrollment_role_perms",
    "apps.engine.migrations.0011_enrollmentmove_role_perms",
    "apps.customers.migrations.0003_consentchange_role_perms",
    "apps.notifications.migrations.0004_emailmessage_role_perms",
    "apps.surveys.migrations.0002_default_surveys",
    "apps.surveys.migrations.0003_role_perms",
    "apps.growth.migrations.0002_role_perms",
    "apps.growth.migrations.0004_expansion_perms",
    "apps.growth.migrations.0006_referral_perms_and_queue",
    "apps.deals.migrations.0004_sales_manager_role",
    "apps.apitokens.migrations.0002_admin_perms",
    "apps.workspace.migrations.0002_role_perms",
    "apps.health.migrations.0002_default_factors",
    "apps.insights.migrations.0002_role_perms",
    "apps.integrations.migrations.0002_admin_perms",
    "apps.webhooks.migrations.0002_role_perms",
)


def role_group(name: str) -> Group:
    """The role's group; transactional tests flush tables, so rebuild the roles if gone."""
    group = Group.objects.filter(name=name).first()
    if group is None:
        from django.apps import apps

        roles = importlib.import_module("apps.queues.migrations.0002_roles")
        roles.create_roles(apps, None)
        for later in ROLE_GRANTS:
            for operation in importlib.import_module(later).Migration.operations:
                operation.code(apps, None)
        group = Group.objects.get(name=name)
    return group


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    domain = factory.LazyAttribute(lambda a: f"{a.name.lower().replace(' ', '')}.test")
    timezone = "Europe/Berlin"
    country = "DE"
    tier = Account.Tier.MID_MARKET


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@customer.test")
    title = "Head of Operations"
    is_primary = False


class ProductFamilyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductFamily
        django_get_or_create = ("name",)

    name = "Platform"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    family = factory.SubFactory(ProductFamilyFactory)
    list_price = Decimal("1200.00")


class WinReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WinReason
        django_get_or_create = ("name",)

    name = "Product fit"


class LossReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LossReason
        django_get_or_create = ("name",)

    name = "Price"


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    account = factory.SubFactory(AccountFactory)
    kind = Deal.Kind.NEW_BUSINESS
    stage = "negotiation"
    amount = None
    currency = "USD"


class DealLineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealLineItem

    deal = factory.SubFactory(DealFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 2
    unit_price = Decimal("1200.00")


def closable_deal(**kwargs) -> Deal:
    """A deal in negotiation that meets every closed-won requirement."""
    account = kwargs.pop("account", None) or AccountFactory()
    if not account.contacts.filter(is_primary=True).exists():
        ContactFactory(account=account, is_primary=True)
    deal = DealFactory(
        account=account,
        amount=Decimal("2400.00"),
        close_date=kwargs.pop("close_date", dt.date(2026, 11, 20)),
        **kwargs,
    )
    DealLineItemFactory(deal=deal)
    return deal


def onboarding_playbook(*, extra_steps: list[dict] | None = None) -> Playbook:
    """A published playbook whose first step puts a kickoff task in the Onboarding queue."""
    Queue.objects.get_or_create(slug="onboarding", defaults={"name": "Onboarding"})
    playbook = Playbook.objects.create(name="New customer onboarding")
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="kickoff",
        name="Kickoff call",
        kind="task",
        config={
            "queue": "onboarding",
            "title": "Kickoff call with {{ account.name }}",
            "assign_to": "account_csm",
            "priority": 2,
            "task_kind": "onboarding_kickoff",
        },
    )
    for position, step in enumerate(extra_steps or [], start=2):
        PlaybookStep.objects.create(playbook=playbook, position=position, **step)
    playbook_publish(playbook=playbook, actor=None)
    playbook.refresh_from_db()
    return playbook


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Queue {n}")
    slug = factory.LazyAttribute(lambda q: q.name.lower().replace(" ", "-"))
    team = "Customer success"

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "queues.Task"

    title = factory.Sequence(lambda n: f"Task {n}")
    queue = factory.SubFactory(QueueFactory)
    kind = "general"


class ProfileFactory(factory.django.DjangoModelFactory):
    """A person's work profile: time zone, hours, digest time, channels, absences."""

    class Meta:
        model = "core.Profile"
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    timezone = "UTC"


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "notifications.Notification"

    recipient = factory.SubFactory(UserFactory)
    reason = "task_overdue"
    title = factory.Sequence(lambda n: f"Notification {n}")


def won_deal(*, account: Account, close_date: dt.date, skus: tuple[str, ...] = ()) -> Deal:
    """A deal the account won on ``close_date``, with a line item per SKU."""
    closed_at = dt.datetime.combine(close_date, dt.time(12, 0), tzinfo=dt.UTC)
    deal = DealFactory(
        account=account,
        stage="closed_won",
        amount=Decimal("2400.00"),
        close_date=close_date,
        closed_at=closed_at,
    )
    for sku in skus:
        product = Product.objects.filter(sku=sku).first() or ProductFactory(sku=sku)
        DealLineItemFactory(deal=deal, product=product)
    return deal


def programme_playbook(*, name: str = "Quarterly business reviews", **settings) -> Playbook:
    """A published playbook for existing customers: a review task at enrollment, and a
    follow-up after it (which starts only when the review is done)."""
    Queue.objects.get_or_create(slug="customer-success", defaults={"name": "Customer success"})
    playbook = Playbook.objects.create(name=name, **settings)
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="review",
        name="Business review",
        kind="task",
        config={"queue": "customer-success", "title": "Business review with {{ account.name }}"},
    )
    PlaybookStep.objects.create(
        playbook=playbook,
        position=2,
        key="follow-up",
        name="Follow-up",
        kind="task",
        config={"queue": "customer-success", "title": "Follow up with {{ account.name }}"},
        start="after_step",
        after_step="review",
        delay_days=7,
    )
    playbook_publish(playbook=playbook, actor=None)
    playbook.refresh_from_db()
    return playbook


def closed_deal(
    *,
    won: bool,
    closed_at: dt.datetime,
    days: int = 30,
    amount: str = "1000.00",
    segment: str = "",
    reason: str | None = None,
    owner: User | None = None,
    families: tuple[str, ...] = (),
    account: Account | None = None,
    kind: str = Deal.Kind.NEW_BUSINESS,
    currency: str = "USD",
) -> Deal:
    """A deal won or lost at ``closed_at`` after ``days`` since it was created, with a
    win or loss reason by name and a line item per product family."""
    deal = DealFactory(
        account=account or AccountFactory(segment=segment),
        stage="closed_won" if won else "closed_lost",
        amount=Decimal(amount),
        currency=currency,
        close_date=closed_at.date(),
        closed_at=closed_at,
        created_at=closed_at - dt.timedelta(days=days),
        owner=owner,
        kind=kind,
        win_reason=WinReasonFactory(name=reason) if won and reason else None,
        loss_reason=LossReasonFactory(name=reason) if not won and reason else None,
    )
    for family in families:
        product = ProductFactory(family=ProductFamilyFactory(name=family))
        DealLineItemFactory(deal=deal, product=product)
    return deal
