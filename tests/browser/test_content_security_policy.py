"""The Content Security Policy in a real browser: the API docs (Swagger UI, served from
this server) the CS pages and the admin work with no violation reported.

Chromium reports each blocked script, style, font or image on the console ("Refused to
…"); the test fails on any of them, wherever the page is.
"""

import pytest

from apps.customers.models import Account
from apps.engine.models import BulkEnrollment
from apps.notifications.models import EmailMessage
from apps.playbooks.models import PlaybookVersion
from tests.browser.test_cs_flow import KICKOFF, expect, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("Refused to")


@pytest.fixture
def violations(browser_page):
    """Every CSP complaint the browser makes while the test runs."""
    found: list[str] = []
    browser_page.on(
        "console",
        lambda message: (
            found.append(f"{browser_page.url}: {message.text}")
            if is_csp_violation(message.text)
            else None
        ),
    )
    browser_page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    return found


def test_swagger_ui_renders_the_operations_under_the_policy(
    browser_page, violations, demo, screenshot
):
    page = browser_page

    response = page.goto("/api/docs/")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect()(page.locator(".opblock").first).to_be_visible()
    expect()(page.get_by_text("/api/deals/", exact=True).first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    page.locator(".opblock-summary").first.click()
    expect()(page.locator(".opblock-body").first).to_be_visible()
    screenshot(page, "30-api-docs-under-csp")
    assert violations == [], "\n".join(violations)


def test_the_cs_pages_report_no_violation(browser_page, violations, demo, screenshot):
    page = browser_page
    page.goto("/login/")
    log_in(page, "carla.csm")  # My work

    page.get_by_role("link", name=KICKOFF).click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(KICKOFF)
    # An htmx partial update: the kickoff's outcome is required, so the form comes back.
    page.get_by_role("button", name="Complete task").click()
    expect()(page.locator("#complete_outcome_error")).to_contain_text("needs an outcome")
    page.goto("/tasks/")
    expect()(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto("/surveys/responses/")
    expect()(page.get_by_role("heading", level=1)).to_have_text("Survey responses")
    screenshot(page, "32-responses-under-csp")
    page.goto("/notifications/")
    for path in ["/growth/referrals/", "/growth/expansion/", "/growth/whitespace/"]:
        page.goto(path)

    assert violations == [], "\n".join(violations)


def test_the_admin_reports_no_violation(browser_page, violations, demo):
    page = browser_page
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("harbor-lantern-4821")
    page.get_by_role("button", name="Log in").click()
    expect()(page.get_by_role("heading", name="Site administration")).to_be_visible()
    run = BulkEnrollment.objects.first()
    version = PlaybookVersion.objects.first()
    for path in [
        "/admin/deals/deal/",
        "/admin/customers/account/add/",
        "/admin/engine/enrollment/",
        f"/admin/engine/bulkenrollment/{run.pk}/change/",  # htmx, a progress bar
        f"/admin/playbooks/playbookversion/{version.pk}/diff/",
    ]:
        page.goto(path)
        expect()(page.locator("#content")).to_be_visible()

    assert violations == [], "\n".join(violations)


def test_an_email_shown_as_the_recipient_sees_it_keeps_its_styles(
    browser_page, violations, demo, screenshot
):
    # The preview is an iframe of the email's own HTML, which inherits the page's policy;
    # customer emails style themselves inline, as email clients need.
    page = browser_page
    page.goto("/login/")
    log_in(page, "maria.manager")
    email = EmailMessage.objects.exclude(body_html="").filter(body_html__contains="style=").first()

    page.goto(f"/notifications/emails/{email.pk}/")
    frame = page.frame_locator("iframe.email-frame")
    expect()(frame.locator("body")).to_be_visible()
    screenshot(page, "33-email-preview-under-csp")

    assert violations == [], "\n".join(violations)


def test_a_note_added_after_resizing_its_box_reports_no_violation(browser_page, violations, demo):
    # Dragging a textarea's corner gives it a style attribute; when htmx swaps the notes
    # section it copied that attribute onto the new box, which the policy refuses.
    page = browser_page
    page.goto("/login/")
    log_in(page, "carla.csm")
    account = Account.objects.filter(csm__username="carla.csm").order_by("pk").first()
    page.goto(f"/accounts/{account.pk}/")
    box = page.get_by_label("Add a note:")
    box.evaluate("(textarea) => { textarea.style.height = '140px'; }")  # as a drag does

    box.fill("Spoke to the champion; renewal looks fine.")
    page.get_by_role("button", name="Add note").click()

    expect()(page.locator("#notes")).to_contain_text("Spoke to the champion")
    assert violations == [], "\n".join(violations)
