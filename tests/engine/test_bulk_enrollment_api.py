"""Bulk enrollment through the REST API: dry run, start, progress, errors, permissions."""

import pytest
from rest_framework.test import APIClient

from apps.core.models import DomainEvent
from apps.engine.models import BulkEnrollment, Enrollment
from apps.engine.tasks import bulk_enroll
from apps.playbooks.models import Playbook
from tests.factories import AccountFactory, programme_playbook

pytestmark = pytest.mark.django_db

URL = "/api/bulk-enrollments/"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def playbook():
    AccountFactory.create_batch(3, lifecycle_status="active", tier="enterprise")
    AccountFactory(lifecycle_status="active", tier="smb")
    return programme_playbook()


def test_a_dry_run_counts_and_enrolls_nobody(api, cs_manager, playbook):
    api.force_authenticate(cs_manager)

    response = api.post(
        URL,
        {"playbook": playbook.pk, "filters": {"tier": ["enterprise"]}, "dry_run": True},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "playbook": playbook.pk,
        "total": 3,
        "to_enroll": 3,
        "skipped": 0,
        "skipped_reasons": {"already_enrolled": 0, "cooldown": 0},
    }
    assert not BulkEnrollment.objects.exists() and not Enrollment.objects.exists()


def test_a_run_is_queued_then_reports_its_progress_until_done(
    api, cs_manager, playbook, django_capture_on_commit_callbacks
):
    api.force_authenticate(cs_manager)

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            URL,
            {
                "playbook": playbook.pk,
                "filters": {"tier": ["enterprise"]},
                "spread_business_days": 3,
            },
            format="json",
        )

    assert response.status_code == 202, response.json()
    run = response.json()
    assert response["Location"] == f"{URL}{run['id']}/"
    assert (run["state"], run["total"], run["enrolled"], run["percent"]) == ("queued", 3, 0, 0)
    assert run["requested_by_username"] == "mona" and run["spread_business_days"] == 3
    assert len(callbacks) == 1  # engine.bulk_enroll is sent after commit

    bulk_enroll(run["id"])
    progress = api.get(f"{URL}{run['id']}/").json()

    assert (progress["state"], progress["enrolled"], progress["percent"]) == ("done", 3, 100)
    assert progress["summary"] == "Done: 3 enrolled, 0 skipped."
    assert Enrollment.objects.count() == 3


def test_a_second_run_reports_the_accounts_it_skipped(api, admin_user, playbook):
    api.force_authenticate(admin_user)
    first = api.post(URL, {"playbook": playbook.pk}, format="json").json()
    bulk_enroll(first["id"])

    second = api.post(URL, {"playbook": playbook.pk}, format="json").json()
    bulk_enroll(second["id"])
    progress = api.get(f"{URL}{second['id']}/").json()

    assert progress["enrolled"] == 0 and progress["skipped"] == 4
    assert progress["skipped_reasons"] == {"already_enrolled": 4, "cooldown": 0}
    assert "4 already enrolled in this playbook" in progress["summary"]
    assert Enrollment.objects.count() == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"playbook": 424242}, "playbook"),
        ({"playbook": "qbr"}, "playbook"),
        ({"playbook": None}, "playbook"),
        ({"playbook": "DRAFT"}, "playbook"),
        ({"filters": {"tier": ["gold"]}}, "filters.tier"),
        ({"filters": {"customer_since_from": "31/01/2024"}}, "filters.customer_since_from"),
        ({"filters": {"segment": ["Nobody"]}}, "filters"),
        ({"filters": "enterprise"}, "filters"),
        ({"filters": {"products": [{"sku": "X"}]}}, "filters.products"),
        ({"spread_business_days": 100}, "spread_business_days"),
        ({"spread_business_days": "a week"}, "spread_business_days"),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    api, cs_manager, playbook, body, field, dry_run
):
    api.force_authenticate(cs_manager)
    body = {"playbook": playbook.pk, "dry_run": dry_run, **body}
    if body["playbook"] == "DRAFT":
        body["playbook"] = Playbook.objects.create(name="Draft programme").pk
    events = DomainEvent.objects.count()

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert all(isinstance(m, str) and m for m in response.json()[field])
    assert not BulkEnrollment.objects.exists() and not Enrollment.objects.exists()
    assert DomainEvent.objects.count() == events


def test_a_csm_may_neither_start_nor_watch_a_run(api, csm, cs_manager, playbook):
    api.force_authenticate(cs_manager)
    run = api.post(URL, {"playbook": playbook.pk}, format="json").json()
    api.force_authenticate(csm)

    assert api.post(URL, {"playbook": playbook.pk}, format="json").status_code == 403
    assert (
        api.post(URL, {"playbook": playbook.pk, "dry_run": True}, format="json").status_code == 403
    )
    assert api.get(f"{URL}{run['id']}/").status_code == 403
    assert BulkEnrollment.objects.count() == 1


def test_anonymous_requests_are_refused(api, playbook):
    assert api.post(URL, {"playbook": playbook.pk}, format="json").status_code == 401


def test_the_list_of_runs_runs_a_fixed_number_of_queries(
    api, admin_user, playbook, django_assert_max_num_queries
):
    api.force_authenticate(admin_user)
    for _ in range(3):
        api.post(URL, {"playbook": playbook.pk}, format="json")

    with django_assert_max_num_queries(6):
        response = api.get(URL)

    assert response.json()["count"] == 3
