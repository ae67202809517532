"""Enrolling existing accounts in the admin, in a real browser: the progress bar moves
from queued to done while the page stays put (htmx asks for it every second)."""

import re

import pytest

from apps.engine.models import BulkEnrollment
from apps.engine.tasks import bulk_enroll
from tests.factories import AccountFactory, UserFactory, programme_playbook

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pass-for-tests-1"


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def test_a_cs_manager_enrolls_existing_accounts_and_watches_the_progress(
    browser_page, screenshot, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    UserFactory(username="mona", role="CS Manager", is_staff=True, password=PASSWORD)
    AccountFactory.create_batch(12, lifecycle_status="active")
    AccountFactory.create_batch(3, lifecycle_status="prospect")
    playbook = programme_playbook()
    page = browser_page

    page.goto("/admin/login/")
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/engine/enrollment/")
    page.get_by_role("link", name="Enroll existing accounts").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Enroll existing accounts")

    page.get_by_label("Playbook").select_option(label=f"{playbook.name} (v1)")
    page.get_by_label("Spread over business days").fill("3")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#bulk-preview")
    expect()(preview).to_contain_text("12 accounts match")
    expect()(preview).to_contain_text("12 will be enrolled")
    screenshot(page, "20-bulk-enrollment-preview")

    page.get_by_role("button", name="Enroll 12 accounts").click()
    expect()(page).to_have_url(re.compile(r"/admin/engine/bulkenrollment/\d+/change/$"))
    progress = page.locator("#bulk-progress")
    expect()(progress).to_contain_text("Queued: 12 accounts to go through.")
    screenshot(page, "21-bulk-enrollment-queued")
    page.evaluate("window.notReloaded = true")

    bulk_enroll(BulkEnrollment.objects.get().pk)  # what the worker does

    expect()(progress).to_contain_text("Done: 12 enrolled, 0 skipped.")
    expect()(page.locator("#bulk-progress-bar")).to_have_attribute("value", "100")
    assert page.evaluate("window.notReloaded") is True  # updated in place
    screenshot(page, "22-bulk-enrollment-done")
