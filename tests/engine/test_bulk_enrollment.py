"""Enrolling existing accounts in a playbook in bulk: preview, run, policy, spreading."""

import datetime as dt
import zoneinfo

import pytest

from apps.core import clock
from apps.core.errors import Conflict, ValidationFailed
from apps.core.models import DomainEvent
from apps.customers.models import Account, Product
from apps.engine.bulk import (
    bulk_enrollment_preview,
    bulk_enrollment_resume,
    bulk_enrollment_run,
    bulk_enrollment_start,
)
from apps.engine.bulk import services as bulk_services
from apps.engine.execution import step_run_execute, step_runs_due_ids
from apps.engine.models import BulkEnrollment, Enrollment, StepRun
from apps.engine.tasks import bulk_enroll
from apps.engine.timing import Calendar
from apps.playbooks.models import Playbook
from apps.playbooks.services import playbook_archive
from apps.queues.models import Task
from tests.factories import AccountFactory, UserFactory, programme_playbook, won_deal

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FRIDAY = dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC)
ACTIVE = {"lifecycle_status": ["active"]}


def customers(count: int, **fields) -> list[Account]:
    fields.setdefault("lifecycle_status", Account.Lifecycle.ACTIVE)
    return AccountFactory.create_batch(count, **fields)


def enroll(playbook, filters=None, *, actor=None, spread=0, chunk_size=1000) -> BulkEnrollment:
    run = bulk_enrollment_start(
        playbook=playbook, filters=filters or ACTIVE, spread_business_days=spread, actor=actor
    )
    bulk_enrollment_run(bulk_enrollment_id=run.pk, chunk_size=chunk_size)
    run.refresh_from_db()
    return run


def test_preview_counts_the_matching_accounts_and_those_the_policy_skips():
    playbook = programme_playbook()
    accounts = customers(5)
    customers(2, lifecycle_status=Account.Lifecycle.PROSPECT)
    enroll(playbook, {"lifecycle_status": ["active"], "country": ["DE"]}, chunk_size=1)
    Enrollment.objects.filter(account__in=accounts[2:]).delete()

    preview = bulk_enrollment_preview(playbook=playbook.pk, filters=ACTIVE)

    assert (preview.total, preview.already_enrolled, preview.cooldown) == (5, 2, 0)
    assert (preview.to_enroll, preview.skipped) == (3, 2)
    assert Enrollment.objects.count() == 2  # a preview writes nothing


def test_enrolling_creates_one_enrollment_per_account_with_its_first_step_runs():
    csm = UserFactory(username="cleo", role="CSM")
    playbook = programme_playbook()
    accounts = customers(3, csm=csm)
    older = won_deal(account=accounts[0], close_date=dt.date(2024, 5, 1))
    latest = won_deal(account=accounts[0], close_date=dt.date(2025, 5, 1))

    with clock.frozen(MONDAY):
        run = enroll(playbook, actor=csm)

    assert (run.state, run.total, run.enrolled, run.skipped) == ("done", 3, 3, 0)
    assert run.started_at == run.finished_at == MONDAY
    enrollments = Enrollment.objects.filter(playbook=playbook)
    assert sorted(enrollments.values_list("account_id", flat=True)) == sorted(
        a.pk for a in accounts
    )
    assert enrollments.get(account=accounts[0]).deal == latest != older
    assert enrollments.get(account=accounts[1]).deal is None
    assert {e.version_id for e in enrollments} == {playbook.current_version_id}
    # One event per run is every enrollment's trigger; it is a record, already processed.
    event = DomainEvent.objects.get(name="playbook.bulk_enrolled")
    assert (event.aggregate_type, event.aggregate_id, event.actor) == (
        "bulkenrollment",
        run.pk,
        csm,
    )
    assert event.processed_at is not None
    assert {e.trigger_event_id for e in enrollments} == {event.pk}
    # Only the step that starts at enrollment gets a run; it waits for the dispatcher.
    runs = StepRun.objects.filter(enrollment__playbook=playbook)
    assert set(runs.values_list("step_key", "state", "occurrence")) == {("review", "pending", 1)}
    assert runs.count() == 3
    assert {(r.due_at, r.planned_at) for r in runs} == {(MONDAY, MONDAY)}


def test_the_dispatcher_runs_bulk_enrolled_steps_like_any_other():
    playbook = programme_playbook()
    account = customers(1, name="Globex")[0]
    with clock.frozen(MONDAY):
        enroll(playbook)
        claimed = step_runs_due_ids(limit=10)
        assert len(claimed) == 1
        assert step_run_execute(step_run_id=claimed[0]) == "done"

    task = Task.objects.get()
    assert (task.title, task.account, task.queue.slug) == (
        "Business review with Globex",
        account,
        "customer-success",
    )


def test_a_second_run_enrolls_nobody_twice():
    playbook = programme_playbook()
    customers(4)
    first = enroll(playbook)

    second = enroll(playbook)

    assert (first.enrolled, second.enrolled) == (4, 0)
    assert (second.total, second.skipped_already_enrolled, second.state) == (4, 4, "done")
    assert Enrollment.objects.count() == 4
    assert StepRun.objects.count() == 4


def test_running_the_task_twice_is_harmless():
    playbook = programme_playbook()
    customers(5)
    run = bulk_enrollment_start(playbook=playbook, filters=ACTIVE, actor=None)

    assert bulk_enroll(run.pk) == "done"
    assert bulk_enroll(run.pk) == "done"

    run.refresh_from_db()
    assert (run.enrolled, run.skipped) == (5, 0)
    assert Enrollment.objects.count() == StepRun.objects.count() == 5


def test_a_run_redelivered_after_its_worker_died_continues_where_it_stood(monkeypatch):
    playbook = programme_playbook()
    customers(5)
    run = bulk_enrollment_start(playbook=playbook, filters=ACTIVE, actor=None)
    chunks = []

    def worker_dies_after_two_chunks(*args, **kwargs):
        if len(chunks) == 2:
            raise SystemExit("worker lost")  # not an Exception: nothing records it
        chunks.append(kwargs)
        return enroll_chunk(*args, **kwargs)

    enroll_chunk = bulk_services._enroll_chunk
    monkeypatch.setattr(bulk_services, "_enroll_chunk", worker_dies_after_two_chunks)
    with pytest.raises(SystemExit):
        bulk_enrollment_run(bulk_enrollment_id=run.pk, chunk_size=2)
    run.refresh_from_db()
    assert (run.state, run.enrolled) == ("running", 4)
    monkeypatch.undo()

    assert bulk_enrollment_run(bulk_enrollment_id=run.pk, chunk_size=2) == "done"

    run.refresh_from_db()
    assert (run.state, run.enrolled, run.skipped) == ("done", 5, 0)
    assert Enrollment.objects.count() == StepRun.objects.count() == 5


def test_a_failed_run_resumes_from_its_cursor():
    playbook = programme_playbook()
    customers(3)
    run = bulk_enrollment_start(playbook=playbook, filters=ACTIVE, actor=None)
    BulkEnrollment.objects.filter(pk=run.pk).update(state="failed", error="Worker lost")

    bulk_enrollment_resume(bulk_enrollment=run)
    assert bulk_enroll(run.pk) == "done"

    run.refresh_from_db()
    assert (run.state, run.error, run.enrolled) == ("done", "", 3)
    with pytest.raises(Conflict, match="This run is done"):
        bulk_enrollment_resume(bulk_enrollment=run)


def test_spreading_puts_starts_on_distinct_business_days_in_each_accounts_calendar():
    playbook = programme_playbook()
    customers(10)  # Europe/Berlin, DE
    with clock.frozen(FRIDAY):
        run = enroll(playbook, spread=5, chunk_size=3)

    assert run.enrolled == 10
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    days = [r.due_at.astimezone(berlin).date() for r in StepRun.objects.all()]
    # Friday, then the next four business days; the weekend is passed over.
    assert sorted(set(days)) == [dt.date(2026, 3, d) for d in (6, 9, 10, 11, 12)]
    assert all(days.count(day) == 2 for day in set(days))
    calendar = Calendar.for_place(timezone="Europe/Berlin", country="DE")
    assert all(calendar.is_business_day(day) for day in days)
    # The same time of day as the run, in the account's zone.
    assert {r.due_at.astimezone(berlin).time() for r in StepRun.objects.all()} == {dt.time(10, 0)}


def test_spreading_skips_the_public_holidays_of_the_accounts_country():
    playbook = programme_playbook()
    customers(3, timezone="America/New_York", country="US")
    before_thanksgiving = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)  # Wednesday
    with clock.frozen(before_thanksgiving):
        enroll(playbook, spread=3)

    new_york = zoneinfo.ZoneInfo("America/New_York")
    days = sorted(r.due_at.astimezone(new_york).date() for r in StepRun.objects.all())
    assert days == [dt.date(2026, 11, 25), dt.date(2026, 11, 27), dt.date(2026, 11, 30)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tier": ["enterprise"]}, {"Acme"}),
        ({"segment": ["Retail"]}, {"Globex"}),
        ({"country": ["fr"]}, {"Globex"}),
        ({"products": ["ANL-DASH"]}, {"Initech"}),
        ({"customer_since_from": "2024-01-01"}, {"Initech"}),
        ({"customer_since_to": "2023-12-31"}, {"Acme"}),
        ({"lifecycle_status": ["onboarding"]}, {"Initech"}),
    ],
)
def test_filters_select_the_accounts_a_programme_is_for(filters, expected):
    playbook = programme_playbook()
    acme = AccountFactory(name="Acme", tier="enterprise", lifecycle_status="active")
    AccountFactory(name="Globex", segment="Retail", country="FR", lifecycle_status="active")
    initech = AccountFactory(name="Initech", lifecycle_status="onboarding")
    AccountFactory(name="Gone", tier="enterprise", lifecycle_status="churned")
    won_deal(account=acme, close_date=dt.date(2023, 6, 1), skus=("PLAT-BUSINESS",))
    won_deal(account=initech, close_date=dt.date(2024, 2, 1), skus=("ANL-DASH",))
    won_deal(account=acme, close_date=dt.date(2025, 6, 1), skus=("ANL-PREDICT",))

    enroll(playbook, filters)

    assert set(Enrollment.objects.values_list("account__name", flat=True)) == expected


def test_filters_by_csm():
    cleo, max_ = UserFactory(username="cleo"), UserFactory(username="max")
    playbook = programme_playbook()
    mine = customers(2, csm=cleo)
    customers(2, csm=max_)

    enroll(playbook, {"csm": [cleo.pk]})

    assert set(Enrollment.objects.values_list("account_id", flat=True)) == {a.pk for a in mine}


def test_the_cooldown_skips_accounts_enrolled_recently_and_says_so():
    playbook = programme_playbook(
        account_cooldown_days=30, enrollment_policy=Playbook.Policy.EVERY_TRIGGER
    )
    accounts = customers(3)
    with clock.frozen(MONDAY):
        enroll(playbook, {"lifecycle_status": ["active"], "country": ["DE"]})
    Enrollment.objects.filter(account=accounts[0]).update(state="completed")
    Enrollment.objects.filter(account=accounts[1]).update(state="cancelled")

    with clock.frozen(MONDAY + dt.timedelta(days=10)):
        preview = bulk_enrollment_preview(playbook=playbook, filters=ACTIVE)
    with clock.frozen(MONDAY + dt.timedelta(days=31)):
        later = bulk_enrollment_preview(playbook=playbook, filters=ACTIVE)

    # The running one is already enrolled; the finished ones are within the cool-down.
    assert (preview.already_enrolled, preview.cooldown, preview.to_enroll) == (1, 2, 0)
    assert (later.already_enrolled, later.cooldown, later.to_enroll) == (1, 0, 2)


def test_once_per_deal_skips_an_account_already_enrolled_with_its_latest_won_deal():
    playbook = programme_playbook()
    account = customers(1)[0]
    won_deal(account=account, close_date=dt.date(2025, 1, 10))
    enroll(playbook)
    Enrollment.objects.update(state="completed")

    assert bulk_enrollment_preview(playbook=playbook, filters=ACTIVE).already_enrolled == 1
    won_deal(account=account, close_date=dt.date(2026, 1, 10))  # a renewal
    assert bulk_enrollment_preview(playbook=playbook, filters=ACTIVE).to_enroll == 1


def test_every_trigger_policy_skips_only_running_enrollments():
    playbook = programme_playbook(enrollment_policy=Playbook.Policy.EVERY_TRIGGER)
    customers(2)
    enroll(playbook)
    Enrollment.objects.filter(pk=Enrollment.objects.first().pk).update(state="completed")

    assert bulk_enrollment_preview(playbook=playbook, filters=ACTIVE).to_enroll == 1


def draft_playbook() -> Playbook:
    return Playbook.objects.create(name="Not yet")


def archived_playbook() -> Playbook:
    playbook = programme_playbook(name="Old programme")
    return playbook_archive(playbook=playbook, actor=None)


@pytest.mark.parametrize(
    ("request_fields", "field", "message"),
    [
        ({"playbook": 424242}, "playbook", "There is no playbook with the id 424242."),
        ({"playbook": "qbr"}, "playbook", "“qbr” is not a playbook id."),
        ({"playbook": draft_playbook}, "playbook", "is a draft: publish it"),
        ({"playbook": archived_playbook}, "playbook", "is archived"),
        ({"filters": {"tier": ["gold"]}}, "filters.tier", "Unknown tier “gold”"),
        ({"filters": {"lifecycle_status": ["churned"]}}, "filters.lifecycle_status", "Churned"),
        ({"filters": {"country": ["Germany"]}}, "filters.country", "two-letter ISO codes"),
        ({"filters": {"csm": ["cleo"]}}, "filters.csm", "“cleo” is not a user id."),
        ({"filters": {"csm": [424242]}}, "filters.csm", "no user with the id 424242"),
        ({"filters": {"products": ["NOPE"]}}, "filters.products", "SKU “NOPE”"),
        ({"filters": {"customer_since_from": "last year"}}, "filters.customer_since_from", "date"),
        (
            {"filters": {"customer_since_from": "2025-01-01", "customer_since_to": "2024-01-01"}},
            "filters.customer_since_to",
            "before its start",
        ),
        ({"filters": {"size": ["big"]}}, "filters", "Unknown filter “size”"),
        ({"filters": ["active"]}, "filters", "Filters are an object"),
        ({"filters": {"segment": ["Nobody"]}}, "filters", "No account matches these filters"),
        ({"spread_business_days": 61}, "spread_business_days", "from 0"),
        ({"spread_business_days": "soon"}, "spread_business_days", "whole number"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(request_fields, field, message):
    customers(2)
    fields = {
        "playbook": programme_playbook(name="QBR").pk,
        "filters": ACTIVE,
        "spread_business_days": 0,
        **request_fields,
    }
    if callable(fields["playbook"]):
        fields["playbook"] = fields["playbook"]().pk
    events = DomainEvent.objects.count()

    with pytest.raises(ValidationFailed) as raised:
        bulk_enrollment_start(**fields, actor=None)

    assert message in " ".join(raised.value.errors[field])
    assert not BulkEnrollment.objects.exists() and not Enrollment.objects.exists()
    assert DomainEvent.objects.count() == events


def test_a_playbook_archived_during_the_run_fails_it_with_the_reason():
    playbook = programme_playbook()
    customers(3)
    run = bulk_enrollment_start(playbook=playbook, filters=ACTIVE, actor=None)
    playbook_archive(playbook=playbook, actor=None)

    assert bulk_enroll(run.pk) == "failed"

    run.refresh_from_db()
    assert run.error == "“Quarterly business reviews” was archived during the run."
    assert run.finished_at is not None and not Enrollment.objects.exists()


def test_a_filter_that_no_longer_holds_fails_the_run_naming_the_field():
    playbook = programme_playbook()
    account = customers(1)[0]
    deal = won_deal(account=account, close_date=dt.date(2025, 3, 1), skus=("LEGACY-1",))
    run = bulk_enrollment_start(playbook=playbook, filters={"products": ["LEGACY-1"]}, actor=None)
    deal.line_items.all().delete()
    Product.objects.filter(sku="LEGACY-1").delete()  # retired after the run was requested

    assert bulk_enroll(run.pk) == "failed"

    run.refresh_from_db()
    assert "filters.products: There is no product with the SKU “LEGACY-1”." in run.error
    assert not Enrollment.objects.exists()
