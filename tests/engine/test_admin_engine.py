import datetime as dt

import pytest

from apps.engine.execution import step_run_record_failure
from apps.engine.models import Enrollment, StepRun
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import AccountFactory, closable_deal, onboarding_playbook, won_deal

pytestmark = pytest.mark.django_db


def test_admin_previews_a_playbook_timeline_without_saving_anything(client, admin_user):
    playbook = onboarding_playbook()
    deal = closable_deal()
    client.force_login(admin_user)

    change = client.get(f"/admin/playbooks/playbook/{playbook.pk}/change/")
    assert f"/admin/engine/enrollment/preview/{playbook.pk}/" in change.content.decode()

    page = client.get(
        f"/admin/engine/enrollment/preview/{playbook.pk}/", {"deal": deal.pk, "days": 30}
    )
    assert page.status_code == 200
    assert f"Kickoff call with {deal.account.name}" in page.content.decode()
    assert not Enrollment.objects.exists()


def test_preview_offers_the_latest_won_deals_to_pick_from(client, admin_user):
    playbook = onboarding_playbook()
    won = won_deal(account=AccountFactory(), close_date=dt.date(2026, 11, 2))
    client.force_login(admin_user)

    html = client.get(f"/admin/engine/enrollment/preview/{playbook.pk}/").content.decode()

    assert 'list="preview-deals"' in html
    assert f'<option value="{won.pk}">{won.name} — {won.account.name}' in html


def test_preview_names_a_missing_deal(client, admin_user):
    playbook = onboarding_playbook()
    client.force_login(admin_user)
    page = client.get(f"/admin/engine/enrollment/preview/{playbook.pk}/", {"deal": 424242})
    assert "There is no deal with id 424242" in page.content.decode()


def test_preview_needs_playbook_permission(client, outsider):
    playbook = onboarding_playbook()
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    assert client.get(f"/admin/engine/enrollment/preview/{playbook.pk}/").status_code == 403


def test_admin_retries_a_dead_step_and_shows_counts(client, admin_user, rep, settings):
    settings.ENGINE_MAX_ATTEMPTS = 1
    onboarding_playbook()
    enrollment = win_and_process(closable_deal(), rep)
    run = enrollment.step_runs.get()
    assert step_run_record_failure(step_run_id=run.pk, error="SMTP down") == StepRun.State.DEAD
    client.force_login(admin_user)

    listing = client.get("/admin/engine/steprun/")
    assert "1 dead" in listing.content.decode()
    client.post(
        "/admin/engine/steprun/", {"action": "retry_selected", "_selected_action": [run.pk]}
    )

    run.refresh_from_db()
    assert (run.state, run.attempts) == (StepRun.State.PENDING, 0)
