"""The CS web UI in a real browser, with the demo people and data.

A CSM logs in, opens My work, opens the onboarding kickoff task, completes it with an
outcome and sees it leave the list; a sales rep sees the hand-off reminder and marks it
read. Screenshots go to test-artifacts/browser/.
"""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User

from apps.demo.data import DEMO_USERS
from apps.notifications.models import Notification
from apps.queues.models import Task
from apps.queues.selectors import tasks_visible_to

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORDS = {user.username: user.password for user in DEMO_USERS}
KICKOFF = "Kickoff call with Maple Leaf Outfitters"
HANDOFF = "Introduce Carla Jensen to Emily Tremblay at Maple Leaf Outfitters"


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def log_in(page, username: str) -> None:
    page.goto("/")
    expect()(page).to_have_url(re.compile(r"/login/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    # CS managers land on their team's dashboard, everyone else on My work.
    expect()(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^(My work|Team)$"))


def test_csm_completes_the_onboarding_kickoff_and_it_leaves_my_work(browser_page, demo, screenshot):
    page = browser_page
    page.goto("/")
    screenshot(page, "01-login")
    log_in(page, "carla.csm")

    kickoff_link = page.get_by_role("link", name=KICKOFF)
    expect()(kickoff_link).to_be_visible()
    open_before = Task.objects.filter(assignee__username="carla.csm", status="open").count()
    expect()(page.locator("#topbar-open-tasks")).to_contain_text(f"{open_before} open task")
    screenshot(page, "02-my-work")

    kickoff_link.click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(KICKOFF)
    expect()(page.get_by_text("Their local time now")).to_be_visible()
    expect()(
        page.get_by_role("link", name="emily.tremblay@maple-leaf-outfitters.example")
    ).to_be_visible()
    expect()(page.get_by_role("cell", name="Guided Onboarding")).to_be_visible()
    expect()(page.get_by_text("(this task)")).to_be_visible()
    screenshot(page, "03-task-detail")

    # Without the outcome this kind of task needs, the error shows next to the field.
    page.get_by_role("button", name="Complete task").click()
    outcome_error = page.locator("#complete_outcome_error")
    expect()(outcome_error).to_contain_text("needs an outcome")
    expect()(page.get_by_label("Outcome")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "03b-outcome-required")

    page.get_by_label("Outcome").select_option("reached")
    page.get_by_label("Notes").fill("Go-live agreed for the first of next month.")
    page.get_by_role("button", name="Complete task").click()
    expect()(page.get_by_text("Task completed.")).to_be_visible()
    # Focus moves to the message, so a screen reader says what happened.
    expect()(page.locator("#task-work .messages")).to_be_focused()
    expect()(page.locator("#task-work .status")).to_have_text("Done")
    # The partial update also refreshed the top bar's count of open tasks.
    expect()(page.locator("#topbar-open-tasks")).to_contain_text(f"{open_before - 1} open task")
    screenshot(page, "04-task-completed")

    task = Task.objects.get(title=KICKOFF)
    assert (task.status, task.outcome, task.completed_by.username) == (
        "done",
        "reached",
        "carla.csm",
    )

    page.get_by_role("link", name=re.compile("^My work")).click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("My work")
    expect()(page.get_by_role("link", name=KICKOFF)).to_have_count(0)
    expect()(page.get_by_role("link", name="Kickoff call with Northwind Logistics")).to_be_visible()
    screenshot(page, "05-my-work-after-completing")


def test_keyboard_shortcuts_select_and_snooze_a_task(browser_page, demo, screenshot):
    page = browser_page
    log_in(page, "carla.csm")

    page.keyboard.press("?")
    expect()(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    screenshot(page, "06-shortcut-help")
    page.keyboard.press("Escape")
    expect()(page.get_by_role("dialog")).to_have_count(0)

    first_row = page.locator("[data-task-row]").first
    title = first_row.locator(".task-link").inner_text()
    page.keyboard.press("j")
    expect()(first_row).to_have_class(re.compile("is-current"))
    page.keyboard.press("x")
    expect()(first_row.get_by_role("checkbox")).to_be_checked()
    page.keyboard.press("s")
    until = page.get_by_label("Snooze until")
    expect()(until).to_be_focused()
    tomorrow = dt.date.today() + dt.timedelta(days=3)
    until.fill(f"{tomorrow.isoformat()}T09:00")
    page.keyboard.press("Enter")

    expect()(
        # The first task may be due before then: the summary then says so.
        page.get_by_text(
            re.compile(
                r"^Snoozed 1 task until \w{3} \d+ \w{3} \d{4}, 09:00"
                r"(; 1 will be overdue or breach the SLA \(see each task\))?\.$"
            )
        )
    ).to_be_visible()
    snoozed = page.locator("section.section--snoozed")
    expect()(snoozed.get_by_role("link", name=title)).to_be_visible()
    screenshot(page, "07-snoozed-with-the-keyboard")
    assert Task.objects.get(title=title).snoozed_until is not None


def test_rep_sees_the_handoff_reminder_and_marks_it_read(browser_page, demo, screenshot):
    page = browser_page
    log_in(page, "rita.rep")
    unread = page.locator("#topbar-unread")
    # The hand-off reminders of the demo's wins, and a referral the demo's customers sent.
    before = Notification.objects.filter(recipient__username="rita.rep", read_at=None).count()
    assert before >= 3
    expect()(unread).to_contain_text(f"({before} unread)")

    page.get_by_role("link", name=re.compile("^Notifications")).click()
    reminder = page.locator("li.notification", has_text=HANDOFF)
    expect()(reminder).to_be_visible()
    expect()(reminder.locator(".tag")).to_have_text("Unread")
    screenshot(page, "08-rep-notifications")

    reminder.get_by_role("button", name=re.compile("^Mark read")).click()
    expect()(reminder.locator(".tag")).to_have_text("Read")
    expect()(reminder).to_be_focused()  # not thrown back to the top of the page
    expect()(unread).to_contain_text(f"({before - 1} unread)")
    screenshot(page, "09-rep-reminder-read")

    page.get_by_role("button", name="Mark all read").click()
    expect()(page.get_by_text(f"Marked {before - 1} notifications read.")).to_be_visible()
    expect()(unread).to_contain_text("(0 unread)")
    expect()(page.get_by_role("button", name="Mark all read")).to_be_disabled()


def test_manager_filters_a_queue_and_reassigns_in_bulk(browser_page, demo, screenshot):
    page = browser_page
    log_in(page, "maria.manager")
    page.get_by_role("link", name=re.compile(r"^My work")).click()  # she lands on Team
    expect()(page.get_by_role("heading", name="You’re all caught up")).to_be_visible()
    screenshot(page, "10-manager-my-work-empty")

    page.get_by_role("link", name="Queues", exact=True).click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Queues")
    manager = User.objects.get(username="maria.manager")
    visible = tasks_visible_to(manager).filter(status__in=Task.OPEN_STATUSES).count()
    expect()(page.locator("[data-task-row]")).to_have_count(visible)
    page.get_by_label("Assignee").select_option(label="Carla Jensen")
    page.get_by_role("button", name="Apply filters").click()
    expect()(page).to_have_url(re.compile(r"assignee=\d+"))
    rows = page.locator("[data-task-row]")
    # Onboarding work, plus a business review if one fell due today (it depends on the day).
    carla_tasks = Task.objects.filter(assignee__username="carla.csm").count()
    assert carla_tasks >= 3
    expect()(rows).to_have_count(carla_tasks)
    screenshot(page, "11-queue-filtered")

    for box in rows.get_by_role("checkbox").all():
        box.check()
    page.get_by_label("Action").select_option("assign")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect()(page.locator("#bulk_assignee_error")).to_have_text(
        "Choose who gets the selected tasks."
    )
    screenshot(page, "12-bulk-error-next-to-field")

    for box in page.locator("[data-task-row]").get_by_role("checkbox").all():
        box.check()
    page.get_by_label("Action").select_option("assign")
    page.get_by_label("Assign to").select_option(label="Chris Okafor")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect()(page.get_by_text(f"Assigned {carla_tasks} tasks to Chris Okafor.")).to_be_visible()
    expect()(page.get_by_role("heading", name="No tasks match these filters")).to_be_visible()
    screenshot(page, "13-bulk-reassigned")
    assert not Task.objects.filter(assignee__username="carla.csm", status="open").exists()

    # The filters live in the URL: a reload shows the same view.
    page.reload()
    carla = User.objects.get(username="carla.csm")
    expect()(page).to_have_url(re.compile(rf"assignee={carla.pk}"))
    expect()(page.get_by_label("Assignee")).to_have_value(str(carla.pk))
