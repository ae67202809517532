"""Moving the running enrollments of the demo's "New customer onboarding" to a new version
that adds a step, as the demo admin in a real browser: from the version's page, a dry run
first, then the move, whose progress updates in place until the summary says it is done."""

import re

import pytest

from apps.demo.data import PLAYBOOK_NAME, QUEUE_SLUG
from apps.engine.models import Enrollment, EnrollmentMove
from apps.engine.tasks import move_enrollments
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN, PASSWORD = "admin", "harbor-lantern-4821"  # the demo's admin (apps/demo/data.py)


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def test_the_admin_moves_running_enrollments_to_a_version_that_adds_a_step(
    browser_page, demo, screenshot
):
    playbook = Playbook.objects.get(name=PLAYBOOK_NAME)
    PlaybookStep.objects.create(
        playbook=playbook,
        position=99,
        key="success-plan",
        name="Success plan review",
        kind="task",
        config={
            "queue": QUEUE_SLUG,
            "title": "Review the success plan with {{ account.name }}",
            "assign_to": "account_csm",
        },
        delay_days=21,
    )
    version = playbook_publish(playbook=playbook, actor=None)
    running = Enrollment.objects.filter(playbook=playbook, state__in=["active", "paused"]).count()
    assert running > 0
    page = browser_page

    page.goto("/admin/login/")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin/playbooks/playbookversion/{version.pk}/change/")
    page.get_by_role("link", name="Move running enrollments to this version").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(
        "Move running enrollments to a version"
    )
    expect()(page.get_by_label("Move to")).to_have_value(str(version.pk))

    page.get_by_role("button", name="Dry run").click()
    dry_run = page.locator("#move-dry-run")
    expect()(dry_run).to_contain_text(f"{running} running enrollment")
    expect()(dry_run).to_contain_text(f"{running} added")
    expect()(dry_run.locator("tr.move-added").first).to_contain_text("Success plan review")
    assert Enrollment.objects.filter(version=version).count() == 0  # the dry run moved none
    screenshot(page, "30-enrollment-move-dry-run")

    page.get_by_role("button", name=re.compile(rf"^Move {running} enrollment")).click()
    expect()(page).to_have_url(re.compile(r"/admin/engine/enrollmentmove/\d+/change/$"))
    progress = page.locator("#move-progress")
    expect()(progress).to_contain_text(f"Queued: {running} enrollments to move to v")
    page.evaluate("window.notReloaded = true")

    move_enrollments(EnrollmentMove.objects.get().pk)  # what the worker does

    expect()(progress).to_contain_text(f"Done: {running} moved, 0 failed, 0 unchanged.")
    expect()(page.locator("#move-progress-bar")).to_have_attribute("value", "100")
    assert page.evaluate("window.notReloaded") is True  # updated in place
    screenshot(page, "31-enrollment-move-done")
    assert Enrollment.objects.filter(version=version).count() == running

    # On a phone the record of each enrollment's move scrolls in its own box.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect()(page.locator("#move-changes")).to_contain_text("Moved")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "32-enrollment-move-done-phone")
