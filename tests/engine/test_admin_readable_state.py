"""Enrollment contexts and step results in the admin read as tables, with the raw JSON
behind a disclosure."""

import pytest

from apps.core.admin_tools import json_rows
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db


def test_nested_state_becomes_rows_of_paths_and_values():
    context = {
        "steps": {"nps": {"score": 3, "band": "detractor", "comment": ""}},
        "flags": [True, None],
        "items": [{"sku": "A"}, {"sku": "B"}],
        "empty": {},
    }

    assert json_rows(context) == [
        ("steps.nps.score", "3"),
        ("steps.nps.band", "detractor"),
        ("steps.nps.comment", "empty"),
        ("flags", "yes, —"),
        ("items.1.sku", "A"),
        ("items.2.sku", "B"),
        ("empty", "empty"),
    ]


def test_the_enrollment_and_step_run_pages_show_tables_not_raw_json(client, admin_user, rep):
    onboarding_playbook()
    enrollment = win_and_process(closable_deal(owner=rep), rep)
    run = enrollment.step_runs.get(step_key="kickoff")
    assert step_run_execute(step_run_id=run.pk) == "done"
    Enrollment.objects.filter(pk=enrollment.pk).update(
        context={"steps": {"nps": {"score": 3, "band": "detractor"}}}
    )
    run.refresh_from_db()
    client.force_login(admin_user)

    enrollment_page = client.get(f"/admin/engine/enrollment/{enrollment.pk}/change/")
    run_page = client.get(f"/admin/engine/steprun/{run.pk}/change/")

    html = enrollment_page.content.decode()
    assert '<table class="json-table">' in html
    assert "<tr><td>steps.nps.score</td><td>3</td></tr>" in html
    assert '<details class="raw-json"><summary>Raw JSON</summary><pre>{' in html
    assert "core/admin-readable.css" in html
    result_html = run_page.content.decode()
    assert f"<tr><td>task_id</td><td>{run.result['task_id']}</td></tr>" in result_html
    assert "<tr><td>summary</td><td>Task “Kickoff call with" in result_html
    assert '<details class="raw-json">' in result_html


def test_an_empty_context_says_so(client, admin_user, rep):
    onboarding_playbook()
    enrollment = win_and_process(closable_deal(owner=rep), rep)
    client.force_login(admin_user)

    html = client.get(f"/admin/engine/enrollment/{enrollment.pk}/change/").content.decode()

    assert "Nothing yet: no step has left a result." in html
    assert '<details class="raw-json">' not in html
