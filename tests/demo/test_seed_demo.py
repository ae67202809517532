from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from apps.core.models import DomainEvent
from apps.customers.models import Account, Contact, Product, ProductFamily
from apps.deals.models import Deal, DealLineItem, LossReason, Stage, StageChange, WinReason
from apps.deals.services import deal_close_won_blockers
from apps.demo.data import DEMO_USERS
from apps.engine.models import BulkEnrollment, Enrollment, StepRun
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.queues.models import Queue

pytestmark = pytest.mark.django_db

COUNTED = (
    User,
    Account,
    Contact,
    ProductFamily,
    Product,
    WinReason,
    LossReason,
    Deal,
    DealLineItem,
    StageChange,
    DomainEvent,
    Queue,
    Playbook,
    PlaybookStep,
    PlaybookVersion,
    BulkEnrollment,
    Enrollment,
    StepRun,
)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_seeding_twice_creates_everything_once():
    first_output = seed()
    after_first = counts()
    second_output = seed()

    assert counts() == after_first
    assert after_first["Account"] >= 20
    assert after_first["User"] == len(DEMO_USERS)
    assert "Created 7 users" in first_output and "3 queues," in first_output
    assert "2 bulk enrollments," in first_output
    # A year of survey answers, so the Responses page's metrics and trend show something.
    assert " responses," in first_output
    # Growth: usage over the threshold, a won expansion, referrals in every state.
    assert "usage snapshots, 1 expansion deal, 6 referral requests," in first_output
    # Health: today's scores and 90 days of history for the customers.
    assert " health snapshots." in first_output
    assert "active customers were enrolled in “Quarterly business reviews”" in first_output
    assert "nothing created" in second_output
    for user in DEMO_USERS:
        assert user.password in second_output  # still valid, so still printed


def test_every_role_can_sign_in_to_the_admin_with_the_printed_password(client):
    output = seed()
    seed()

    assert "http://127.0.0.1:8000/admin/" in output and "/api/docs/" in output
    roles = set()
    for demo_user in DEMO_USERS:
        assert f"{demo_user.username}" in output and demo_user.password in output
        client.logout()
        response = client.post(
            "/admin/login/",
            {"username": demo_user.username, "password": demo_user.password},
        )
        assert response.status_code == 302, demo_user.username
        assert client.get("/admin/").status_code == 200
        user = User.objects.get(username=demo_user.username)
        assert user.groups.filter(name=demo_user.role).exists()
        roles.add(demo_user.role)
    assert roles == {"Admin", "CS Manager", "CSM", "Sales Rep", "Sales Manager"}
    assert User.objects.get(username="admin").is_superuser


def test_demo_covers_every_stage_country_and_a_published_playbook():
    seed()

    assert set(Deal.objects.values_list("stage", flat=True)) == set(Stage.values)
    # Deals from referrals are leads: nothing is on them until the rep qualifies them.
    leads = Deal.objects.filter(source=Deal.Source.REFERRAL, stage=Stage.NEW)
    assert not Deal.objects.filter(line_items__isnull=True).exclude(pk__in=leads).exists()
    countries = set(Account.objects.values_list("country", flat=True))
    assert {"US", "DE", "GB", "FR", "JP", "AU", "BR", "IN", "CA"} <= countries
    assert not Account.objects.filter(contacts__isnull=True).exists()
    assert Contact.objects.filter(is_primary=True).exclude(email="").count() == (
        Account.objects.count()
    )
    assert not Account.objects.filter(owner__isnull=True).exists()
    # Prospects a customer referred get a CSM once they buy.
    referred = Account.objects.filter(referrals__outcome="new_account")
    assert not Account.objects.filter(csm__isnull=True).exclude(pk__in=referred).exists()

    queue = Queue.objects.get(slug="onboarding")
    assert queue.manager.username == "maria.manager"
    assert set(queue.members.values_list("username", flat=True)) == {
        "maria.manager",
        "carla.csm",
        "chris.csm",
    }

    playbook = Playbook.objects.get(name="New customer onboarding")
    assert playbook.status == Playbook.Status.ACTIVE
    steps = {step["key"]: step for step in playbook.current_version.steps}
    first = playbook.current_version.steps[0]
    assert first["kind"] == "task" and first["start"] == "enrollment"
    assert first["config"]["queue"] == "onboarding"
    assert first["config"]["title"] == "Kickoff call with {{ account.name }}"
    assert steps["handoff"]["kind"] == "reminder"
    assert steps["welcome"]["kind"] == "email" and steps["welcome"]["window_start"] == "09:00"
    assert steps["day-7-check-in"]["delay_days"] == 7
    assert steps["onboarding-complete"]["config"]["for_step"] == "kickoff"
    assert steps["escalation"]["after_step"] == "onboarding-complete"
    assert (
        steps["quarterly-check-in"]["repeat_every_days"],
        steps["quarterly-check-in"]["repeat_max"],
    ) == (90, 4)


def test_closed_won_deals_went_through_the_service():
    seed()

    won = Deal.objects.filter(stage=Stage.CLOSED_WON)
    assert won.exists()
    for deal in won:
        close = deal.stage_changes.get(to_stage=Stage.CLOSED_WON)
        assert close.source == StageChange.Source.SYSTEM
        assert deal.win_reason is not None and deal.closed_at is not None
    events = DomainEvent.objects.filter(name="deal.closed_won")
    assert sorted(events.values_list("aggregate_id", flat=True)) == sorted(
        won.values_list("pk", flat=True)
    )


def test_negotiation_deals_can_be_closed_as_won():
    seed()
    reason = WinReason.objects.filter(active=True).first()

    negotiation = Deal.objects.filter(stage=Stage.NEGOTIATION)
    assert negotiation.exists()
    for deal in negotiation:
        blockers = deal_close_won_blockers(deal=deal, win_reason=reason, win_notes="Great fit.")
        assert blockers == {}, deal.name


def test_refuses_to_run_in_production_without_force(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="AFTERWIN_PRODUCTION"):
        seed()

    assert not Account.objects.exists()
    assert not User.objects.exists()


def test_existing_customers_join_quarterly_business_reviews_through_bulk_enrollment():
    seed()
    seed()

    playbook = Playbook.objects.get(name="Quarterly business reviews")
    assert playbook.status == Playbook.Status.ACTIVE
    reviews = {step.key: step for step in playbook.current_version.definitions}
    enterprise, others = reviews["enterprise-review"], reviews["business-review"]
    assert (enterprise.repeat_every_days, others.repeat_every_days) == (90, 180)
    assert enterprise.conditions == ({"field": "account.tier", "op": "==", "value": "enterprise"},)
    assert others.conditions == ({"field": "account.tier", "op": "!=", "value": "enterprise"},)
    assert enterprise.config["queue"] == others.config["queue"] == "customer-success"
    assert Queue.objects.get(slug="customer-success").manager.username == "maria.manager"

    # One run per programme (reviews, relationship NPS); seeding again starts no second.
    assert BulkEnrollment.objects.count() == 2
    run = BulkEnrollment.objects.get(playbook=playbook)
    active = Account.objects.filter(lifecycle_status=Account.Lifecycle.ACTIVE)
    assert (run.playbook, run.state, run.requested_by.username) == (
        playbook,
        "done",
        "maria.manager",
    )
    assert run.enrolled == active.count() >= 3
    enrolled = Enrollment.objects.filter(playbook=playbook)
    assert sorted(enrolled.values_list("account_id", flat=True)) == sorted(
        active.values_list("pk", flat=True)
    )
    # Each account's review waits as a pending row; its deal is the latest won deal.
    assert not enrolled.filter(deal__isnull=True).exists()
    runs = StepRun.objects.filter(enrollment__playbook=playbook)
    assert runs.count() == 2 * active.count()
    assert set(runs.values_list("state", flat=True)) == {StepRun.State.PENDING}
