"""An admin builds a playbook in a real browser without typing JSON: a survey, a wait for
its answer and a call-back on a low score, previewed against a deal and published."""

import pytest

from apps.deals.models import Deal
from apps.playbooks.models import Playbook

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
CONFIG_LABELS = {"survey": "Survey:", "wait": "Wait for:"}


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def log_in_as_admin(page):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("harbor-lantern-4821")
    page.get_by_role("button", name="Log in").click()
    expect()(page.get_by_role("heading", name="Site administration")).to_be_visible()


def add_step(page, index: int, *, name: str, key: str, kind: str):
    page.get_by_role("button", name="Add another Playbook step").click()
    step = page.locator(f"#steps-{index}")
    step.locator(f'[name="steps-{index}-name"]').fill(name)
    step.locator(f'[name="steps-{index}-key"]').fill(key)
    if kind != "task":  # a new step starts as a task
        step.locator(f'[name="steps-{index}-kind"]').select_option(kind)
        # htmx swaps in the kind's own fields.
        expect()(step.locator(".step-config")).to_contain_text(CONFIG_LABELS[kind])
    return step


def test_an_admin_builds_previews_and_publishes_a_playbook_without_json(
    browser_page, demo, screenshot
):
    page = browser_page
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda r: problems.append(f"FAILED {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: problems.append(f"STATUS {r.status} {r.url}") if r.status >= 400 else None,
    )
    log_in_as_admin(page)

    page.goto("/admin/playbooks/playbook/add/")
    page.locator("#id_name").fill("Low score rescue")
    page.get_by_label("Deal kinds:").select_option(["new_business"])
    page.get_by_label("Deal amount from:").fill("1000")
    page.get_by_label("Deal closed lost").uncheck()

    survey = add_step(page, 0, name="NPS survey", key="nps", kind="survey")
    survey.locator('[name="steps-0-config-survey"]').select_option("nps")
    survey.locator('[name="steps-0-delay_days"]').fill("30")
    survey.locator('[name="steps-0-at_time"]').fill("10:00")

    wait = add_step(page, 1, name="NPS answer", key="nps_answer", kind="wait")
    wait.locator('[name="steps-1-config-until_event"]').select_option("survey.answered")
    wait.locator('[name="steps-1-config-for_step"]').fill("nps")
    wait.locator('[name="steps-1-start"]').select_option("after_step")
    wait.locator('[name="steps-1-after_step"]').fill("nps")
    wait.locator('[name="steps-1-delay_days"]').fill("14")

    # No save in between: the call-back's conditions read the wait step on the page.
    call = add_step(page, 2, name="Call back", key="call_back", kind="task")
    call.locator('[name="steps-2-config-queue"]').select_option("escalations")
    call.locator('[name="steps-2-config-assign_to"]').select_option("queue_manager")
    title = call.locator('[name="steps-2-config-title"]')
    title.fill("Call back ")
    # The placeholder picker inserts at the cursor; the preview renders for the chosen deal.
    call.locator(".template-picker").first.select_option("{{ contact.name }}")
    deal = Deal.objects.filter(stage="closed_won").order_by("-close_date", "-pk").first()
    contact_name = deal.primary_contact.name
    expect()(title).to_have_value("Call back {{ contact.name }}")
    expect()(call.locator(".template-preview").first).to_contain_text(f"Call back {contact_name}")
    # The wait step on the page offers its answer as templates read it, and the preview
    # knows it; a misspelt placeholder is named in the preview, not rendered blank.
    title.fill("Call back {{ contact.name }}, NPS ")
    call.locator(".template-picker").first.select_option("{{ context.steps.nps_answer.score }}")
    expect()(title).to_have_value(
        "Call back {{ contact.name }}, NPS {{ context.steps.nps_answer.score }}"
    )
    expect()(call.locator(".template-preview").first).to_contain_text(
        f"Call back {contact_name}, NPS [NPS answer: score]"
    )
    body = call.locator('[name="steps-2-config-body"]')
    body.press_sequentially("Ask {{ contact.nmae }} why")
    expect()(call.locator(".template-preview").nth(1)).to_contain_text(
        "“contact.nmae” is not a placeholder; did you mean “contact.name”?"
    )
    body.fill("")
    call.locator('[name="steps-2-start"]').select_option("after_step")
    call.locator('[name="steps-2-after_step"]').fill("nps_answer")
    call.get_by_label("Rule 1: what it reads").select_option(label="NPS answer: score")
    call.get_by_label("Rule 1: operator").select_option("<=")
    call.get_by_label("Rule 1: value").fill("6")
    page.get_by_role("button", name="Save and continue editing").click()
    expect()(page.locator(".messagelist")).to_contain_text("was added successfully")

    # The steps read as a timeline, collapsed to a line each.
    headlines = page.locator(".step:not(.empty-form) .step-headline")
    expect()(headlines).to_have_text(
        [
            "Day 30 at 10:00 — NPS survey (survey, nps)",
            "After NPS survey + 14 days — NPS answer (wait, survey.answered on nps)",
            "After NPS answer: if score ≤ 6 — Call back (task, queue manager)",
        ]
    )
    screenshot(page, "40-playbook-builder")

    # Reordering: the call-back moves up one, and its position is saved.
    page.get_by_role("button", name="Move “Call back” earlier").click()
    page.get_by_role("button", name="Save and continue editing").click()
    expect()(headlines).to_have_text(
        [
            "Day 30 at 10:00 — NPS survey (survey, nps)",
            "After NPS answer: if score ≤ 6 — Call back (task, queue manager)",
            "After NPS survey + 14 days — NPS answer (wait, survey.answered on nps)",
        ]
    )

    page.get_by_role("link", name="Preview timeline").click()
    page.get_by_label("Deal id").fill(str(deal.pk))
    page.get_by_role("button", name="Preview").click()
    expect()(page.locator("#content table")).to_contain_text("NPS survey")
    screenshot(page, "41-playbook-builder-preview")

    page.go_back()
    page.go_back()
    page.get_by_role("link", name="Publish").click()
    page.get_by_role("button", name="Publish version 1").click()
    expect()(page.locator(".messagelist")).to_contain_text(
        "Published “Low score rescue” as version 1."
    )

    version = Playbook.objects.get(name="Low score rescue").current_version
    assert version.trigger == "deal.closed_won"
    assert version.filters == {"deal_kinds": ["new_business"], "min_amount": 1000}
    assert sorted(version.cancel_on) == ["account.churned", "deal.reopened"]
    assert [step["key"] for step in version.steps] == ["nps", "call_back", "nps_answer"]
    call_back = version.steps[1]
    assert call_back["conditions"] == [{"field": "steps.nps_answer.score", "op": "<=", "value": 6}]
    assert call_back["config"]["title"] == (
        "Call back {{ contact.name }}, NPS {{ context.steps.nps_answer.score }}"
    )
    assert problems == []


def test_what_a_condition_reads_follows_the_steps_as_they_are_edited(
    browser_page, demo, screenshot
):
    page = browser_page
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in_as_admin(page)
    page.goto("/admin/playbooks/playbook/add/")
    page.locator("#id_name").fill("Follow-up on answers")
    call = add_step(page, 0, name="Call back", key="call_back", kind="task")
    reads = call.get_by_label("Rule 1: what it reads")

    def offers(*labels):  # what it offers beyond the deal and the account
        expect()(reads.locator('option[value^="steps."]')).to_have_text(list(labels))

    offers()
    wait = add_step(page, 1, name="Answer", key="answer", kind="wait")
    offers("Answer: outcome")
    wait.locator('[name="steps-1-config-until_event"]').select_option("survey.answered")
    offers("Answer: outcome", "Answer: score", "Answer: band", "Answer: comment")
    wait.locator('[name="steps-1-name"]').fill("NPS answer")
    offers("NPS answer: outcome", "NPS answer: score", "NPS answer: band", "NPS answer: comment")
    reads.select_option(label="NPS answer: band")
    # A step added later gets the same list; a wait step turned into a task leaves it.
    later = add_step(page, 2, name="Thank you", key="thanks", kind="task")
    expect()(later.get_by_label("Rule 1: what it reads").locator("option")).to_contain_text(
        ["NPS answer: band"]
    )
    wait.locator('[name="steps-1-kind"]').select_option("task")
    offers("steps.answer.band")  # the rule keeps what it read, as the path
    expect()(reads).to_have_value("steps.answer.band")
    wait.locator('[name="steps-1-kind"]').select_option("wait")
    expect()(wait.locator(".step-config")).to_contain_text("Wait for:")
    offers("NPS answer: outcome", "steps.answer.band")

    # A key changed under a rule: saving names the step that is not there any more.
    wait.locator('[name="steps-1-config-until_event"]').select_option("survey.answered")
    wait.locator('[name="steps-1-config-for_step"]').fill("thanks")
    wait.locator('[name="steps-1-key"]').fill("nps_answer")
    offers(
        "NPS answer: outcome",
        "NPS answer: score",
        "NPS answer: band",
        "NPS answer: comment",
        "steps.answer.band",
    )
    call.get_by_label("Rule 1: operator").select_option("==")
    call.get_by_label("Rule 1: value").fill("detractor")
    later.locator('[name="steps-2-config-queue"]').select_option("escalations")
    later.locator('[name="steps-2-config-title"]').fill("Thank them")
    call.locator('[name="steps-0-config-queue"]').select_option("escalations")
    call.locator('[name="steps-0-config-title"]').fill("Call them")
    page.get_by_role("button", name="Save and continue editing").click()
    expect()(page.locator("#steps-0 .field-conditions .errorlist")).to_have_text(
        "Rule 1: there is no step with the key “answer”."
    )
    assert not Playbook.objects.filter(name="Follow-up on answers").exists()

    # The page drawn again offers the steps as they were sent; picking the new key saves.
    call = page.locator("#steps-0")
    offers_again = call.get_by_label("Rule 1: what it reads")
    offers_again.select_option(label="NPS answer: band")
    screenshot(page, "43-playbook-builder-conditions-follow-steps")
    page.get_by_role("button", name="Save and continue editing").click()
    expect()(page.locator(".messagelist")).to_contain_text("was added successfully")
    playbook = Playbook.objects.get(name="Follow-up on answers")
    assert playbook.steps.get(key="call_back").conditions == [
        {"field": "steps.nps_answer.band", "op": "==", "value": "detractor"}
    ]
    assert problems == []


def test_saving_the_demo_playbook_untouched_changes_none_of_its_steps(browser_page, demo):
    page = browser_page
    log_in_as_admin(page)
    playbook = Playbook.objects.get(name="New customer onboarding")
    before = [step.as_snapshot() for step in playbook.steps.all()]
    version = playbook.current_version

    page.goto(f"/admin/playbooks/playbook/{playbook.pk}/change/")
    page.get_by_role("button", name="Save and continue editing").click()

    expect()(page.locator(".messagelist")).to_contain_text("successfully")
    assert [step.as_snapshot() for step in playbook.steps.all()] == before
    playbook.refresh_from_db()
    assert (playbook.filters, playbook.cancel_on) == (version.filters, [])
    expect()(page.locator(".field-draft_state")).to_contain_text("Same as version 1")


def test_the_playbook_page_fits_a_phone_and_is_no_longer_a_wall(browser_page, demo, screenshot):
    page = browser_page
    log_in_as_admin(page)
    playbook = Playbook.objects.get(name="New customer onboarding")

    page.goto(f"/admin/playbooks/playbook/{playbook.pk}/change/")
    desk_height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size(PHONE)
    page.reload()
    screenshot(page, "42-playbook-builder-phone")

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Sixteen steps, one line each until opened: far from the 8,100 px of JSON boxes.
    assert desk_height < 4000
