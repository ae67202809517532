"""Enrolling existing accounts in the admin: form → preview → confirm → progress."""

import pytest

from apps.engine.models import BulkEnrollment, Enrollment
from apps.engine.tasks import bulk_enroll
from apps.playbooks.models import Playbook
from tests.factories import AccountFactory, programme_playbook

pytestmark = pytest.mark.django_db

ADD = "/admin/engine/bulkenrollment/add/"


@pytest.fixture
def playbook():
    AccountFactory.create_batch(3, lifecycle_status="active", tier="enterprise", segment="Retail")
    AccountFactory(lifecycle_status="active", tier="smb")
    AccountFactory(lifecycle_status="prospect", tier="enterprise")
    return programme_playbook()


def form_data(programme, **fields):
    return {
        "playbook": programme.pk,
        "lifecycle_status": ["active"],
        "spread_business_days": "0",
        **fields,
    }


def test_the_enrollment_list_offers_to_enroll_existing_accounts(client, cs_manager):
    client.force_login(cs_manager)

    page = client.get("/admin/engine/enrollment/").content.decode()

    assert "Enroll existing accounts" in page and ADD in page


def test_preview_then_confirm_then_the_progress_shows_done(
    client, cs_manager, playbook, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client.force_login(cs_manager)
    assert client.get(ADD).status_code == 200

    preview = client.post(ADD, {**form_data(playbook, tier=["enterprise"]), "_preview": "1"})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "<strong>3</strong> accounts match" in page
    assert "<strong>3</strong> will be enrolled in “Quarterly business reviews”" in page
    assert 'value="Enroll 3 accounts"' in page
    assert not BulkEnrollment.objects.exists()  # nothing happens before the confirmation

    with django_capture_on_commit_callbacks() as callbacks:
        confirmed = client.post(ADD, {**form_data(playbook, tier=["enterprise"]), "_confirm": "1"})
    run = BulkEnrollment.objects.get()
    assert confirmed.status_code == 302
    assert confirmed["Location"] == f"/admin/engine/bulkenrollment/{run.pk}/change/"
    assert len(callbacks) == 1 and run.requested_by == cs_manager

    queued = client.get(confirmed["Location"]).content.decode()
    progress_url = f"/admin/engine/bulkenrollment/{run.pk}/progress/"
    assert f'hx-get="{progress_url}"' in queued and 'hx-trigger="every 1s"' in queued
    assert "htmx" in queued and "Queued: 3 accounts to go through." in queued

    bulk_enroll(run.pk)
    with django_assert_max_num_queries(5):
        done = client.get(progress_url, headers={"HX-Request": "true"}).content.decode()

    assert 'value="100"' in done and "Done: 3 enrolled, 0 skipped." in done
    assert "hx-trigger" not in done  # a finished run stops the polling
    assert Enrollment.objects.count() == 3


def test_a_second_run_previews_the_accounts_already_enrolled(client, admin_user, playbook):
    client.force_login(admin_user)
    client.post(ADD, {**form_data(playbook), "_confirm": "1"})
    bulk_enroll(BulkEnrollment.objects.get().pk)

    page = client.post(ADD, {**form_data(playbook), "_preview": "1"}).content.decode()

    assert "<strong>0</strong> will be enrolled" in page
    assert "4 already enrolled in this playbook" in page
    assert "Nothing to enroll" in page and "_confirm" not in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"segment": ["Retail"], "tier": ["smb"]}, None, "No account matches these filters"),
        ({"playbook": "DRAFT"}, "playbook", "is a draft: publish it"),
        ({"spread_business_days": "90"}, "spread_business_days", "from 0"),
        (
            {"customer_since_from": "2025-02-01", "customer_since_to": "2025-01-01"},
            "customer_since_to",
            "before its start",
        ),
        ({"tier": ["gold"]}, "tier", "Select a valid choice"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_changes_nothing(
    client, cs_manager, playbook, fields, field, message
):
    client.force_login(cs_manager)
    if fields.get("playbook") == "DRAFT":
        fields["playbook"] = Playbook.objects.create(name="Draft programme").pk

    for button in ("_preview", "_confirm"):
        response = client.post(ADD, {**form_data(playbook), **fields, button: "1"})

        form = response.context["form"]
        errors = form.errors.get(field or "__all__")
        assert errors and message in " ".join(errors), form.errors
        assert f"field-{field}" in response.content.decode() if field else True
    assert not BulkEnrollment.objects.exists() and not Enrollment.objects.exists()


def test_a_csm_may_not_enroll_in_bulk(client, csm, playbook):
    csm.is_staff = True
    csm.save()
    client.force_login(csm)

    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {**form_data(playbook), "_confirm": "1"}).status_code == 403
    assert (
        "Enroll existing accounts" not in client.get("/admin/engine/enrollment/").content.decode()
    )
    assert not BulkEnrollment.objects.exists()


def test_runs_are_read_only_records(client, admin_user, playbook):
    client.force_login(admin_user)
    client.post(ADD, {**form_data(playbook), "_confirm": "1"})
    run = BulkEnrollment.objects.get()
    bulk_enroll(run.pk)

    listing = client.get("/admin/engine/bulkenrollment/").content.decode()
    change = client.get(f"/admin/engine/bulkenrollment/{run.pk}/change/").content.decode()

    assert "Quarterly business reviews" in listing and "100%" in listing
    assert "lifecycle status: active" in change
    assert 'name="_save"' not in change and "/delete/" not in change
