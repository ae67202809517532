"""Reusing a playbook in the admin, in a real browser, as the demo admin: export the
onboarding playbook's version as a file, import the file as a draft, read the draft; the
version, enrollment and step-run pages read as tables with the raw JSON folded away, at
desk and phone width; the playbook page loads its numbers."""

import json
import re

import pytest

from apps.engine.models import Enrollment, StepRun
from apps.playbooks.models import Playbook

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def log_in_as_admin(page) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("harbor-lantern-4821")
    page.get_by_role("button", name="Log in").click()
    expect()(
        page.get_by_role("link", name="Log out").or_(page.locator("#logout-form"))
    ).to_be_visible()


def watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    return errors


def test_admin_exports_a_version_and_imports_it_as_a_draft(
    browser_page, demo, screenshot, tmp_path
):
    page = browser_page
    errors = watch_errors(page)
    source = Playbook.objects.get(name="New customer onboarding")
    version = source.current_version
    log_in_as_admin(page)

    # The playbook page: its numbers load into the page.
    page.goto(f"/admin/playbooks/playbook/{source.pk}/change/")
    numbers = page.locator("#playbook-numbers")
    enrolled = Enrollment.objects.filter(playbook=source).count()
    expect()(numbers.locator(".numbers-totals td").first).to_have_text(str(enrolled))
    expect()(numbers).to_contain_text(version.steps[0]["name"])
    screenshot(page, "reuse-01-playbook-numbers")

    # The version page: tables, the raw JSON closed behind a disclosure.
    page.goto(f"/admin/playbooks/playbookversion/{version.pk}/change/")
    steps = page.locator(".field-steps_readable .playbook-table")
    expect()(steps).to_contain_text(version.steps[0]["name"])
    raw = page.locator(".field-steps_readable details.raw-json")
    expect()(raw.locator("pre")).to_be_hidden()
    screenshot(page, "reuse-02-version-tables")
    raw.locator("summary").click()
    expect()(raw.locator("pre")).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Export as a file")).click()
    download = download_info.value
    assert download.suggested_filename == f"new-customer-onboarding-v{version.number}.json"
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)
    assert json.loads(exported.read_text())["playbook"]["steps"] == version.steps

    # A broken copy of the file is refused with its problems, and creates nothing.
    broken = json.loads(exported.read_text())
    broken["playbook"]["steps"][0]["kind"] = "carrier_pigeon"
    broken["playbook"]["cancel_on"] = ["moon.landed"]
    broken_path = tmp_path / "broken.json"
    broken_path.write_text(json.dumps(broken))
    page.goto("/admin/playbooks/playbook/")
    page.get_by_role("link", name="Import from a file").click()
    page.get_by_label("Playbook file").set_input_files(broken_path)
    page.get_by_role("button", name="Import as a draft").click()
    expect()(page.locator(".errornote")).to_contain_text("Nothing was created: 2 problems")
    expect()(page.locator(".playbook-problems")).to_contain_text("carrier_pigeon")
    expect()(page.locator(".playbook-problems")).to_contain_text("cancel on")
    screenshot(page, "reuse-03-import-refused")
    assert not Playbook.objects.filter(name__contains="(imported)").exists()
    # The refusal itself answers 400 (and the browser logs that); nothing else may fail.
    errors[:] = [e for e in errors if not (e.startswith("400 ") or "status of 400" in e)]

    # The good file becomes a draft; the name is taken here, so it gets a suffix.
    page.get_by_label("Playbook file").set_input_files(exported)
    page.get_by_role("button", name="Import as a draft").click()
    expect()(page.locator(".messagelist")).to_contain_text(
        "Imported “New customer onboarding (imported)” as a draft"
    )
    draft = Playbook.objects.get(name="New customer onboarding (imported)")
    expect()(page).to_have_url(re.compile(rf"/admin/playbooks/playbook/{draft.pk}/change/$"))
    expect()(page.locator(".field-status")).to_contain_text("Draft")
    expect()(page.locator("#playbook-numbers")).to_contain_text("Not published yet")
    screenshot(page, "reuse-04-imported-draft")
    assert [s.as_snapshot() for s in draft.steps.all()] == version.steps
    assert errors == []


def test_engine_state_reads_as_tables_at_phone_width(chromium, live_server, demo, screenshot):
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE, locale="en-US")
    page = context.new_page()
    errors = watch_errors(page)
    log_in_as_admin(page)
    run = StepRun.objects.exclude(result={}).order_by("pk").first()
    version = Playbook.objects.get(name="New customer onboarding").current_version

    for name, url, table in (
        ("version", f"/admin/playbooks/playbookversion/{version.pk}/change/", ".playbook-table"),
        ("enrollment", f"/admin/engine/enrollment/{run.enrollment_id}/change/", ".json-table"),
        ("step-run", f"/admin/engine/steprun/{run.pk}/change/", ".json-table"),
    ):
        page.goto(url)
        expect()(page.locator(table).first).to_be_visible()
        screenshot(page, f"reuse-390-{name}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} page is {width} px wide"
    assert errors == []
    context.close()
