"""Every page of the CS web UI and the public pages, in a real browser, with the demo data:
no JavaScript error and no failed request on any of them, and nothing wider than a phone
(390 px). A page is one line of ``PAGES``; a page added to the product is a line added
here (a top-bar link missing from the list fails the test)."""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.customers.models import Account, Contact
from apps.deals.models import Deal
from apps.growth.models import ReferralRequest
from apps.growth.tokens import referral_token
from apps.integrations.models import CrmConnection
from apps.notifications.models import EmailMessage
from apps.notifications.unsubscribe import unsubscribe_token
from apps.playbooks.models import Playbook, PlaybookVersion
from apps.queues.models import Task
from apps.surveys.models import Invitation, Response
from apps.surveys.tokens import invitation_token

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class Page:
    who: str | None  # a demo username, or None for a visitor without a login
    path: str | Callable[[], str]  # a path, or how to find one in the demo data
    status: int = 200

    def url(self) -> str:
        return self.path if isinstance(self.path, str) else self.path()


def _crm_connection() -> int:
    """The demo has no CRM connected: the admin's connection pages get one to show."""
    connection, _ = CrmConnection.objects.get_or_create(
        vendor="pipedrive",
        tenant_id="12882925",
        defaults={"name": "Pipedrive", "secret": "demo-password", "basic_auth_username": "demo"},
    )
    return connection.pk


def _first(queryset) -> int:
    row = queryset.order_by("pk").first()
    assert row is not None, f"the demo data has no {queryset.model.__name__}"
    return row.pk


PAGES = [
    Page(None, "/login/"),
    Page("carla.csm", "/"),
    Page("carla.csm", "/work/"),
    Page("carla.csm", "/tasks/"),
    Page(
        "carla.csm",
        lambda: f"/tasks/{_first(Task.objects.filter(assignee__username='carla.csm'))}/",
    ),
    Page("carla.csm", "/notifications/"),
    Page("carla.csm", "/notifications/preferences/"),
    Page("carla.csm", "/no-such-page/", status=404),
    Page("maria.manager", "/work/"),
    Page("maria.manager", "/tasks/"),
    Page("maria.manager", "/surveys/responses/"),
    Page("maria.manager", lambda: f"/surveys/responses/{_first(Response.objects)}/"),
    Page("maria.manager", "/notifications/emails/"),
    Page("maria.manager", lambda: f"/notifications/emails/{_first(EmailMessage.objects)}/"),
    Page("maria.manager", "/growth/referrals/"),
    Page("maria.manager", "/growth/expansion/"),
    Page("maria.manager", "/growth/whitespace/"),
    Page("maria.manager", "/notifications/"),
    Page("maria.manager", "/notifications/preferences/"),
    Page("maria.manager", "/accounts/"),
    Page("carla.csm", lambda: f"/accounts/{_first(Account.objects.exclude(csm=None))}/"),
    Page("carla.csm", "/search/?q=north"),
    Page("maria.manager", "/"),
    Page("maria.manager", "/team/"),
    Page("maria.manager", "/insights/"),
    Page("maria.manager", "/insights/onboarding/"),
    Page("maria.manager", "/insights/growth/"),
    Page("rita.rep", "/work/"),
    Page("rita.rep", "/notifications/"),
    Page("rita.rep", "/accounts/"),
    Page("rita.rep", "/deals/"),
    Page("rita.rep", lambda: f"/deals/{_first(Deal.objects.filter(owner__username='rita.rep'))}/"),
    Page("rita.rep", lambda: f"/deals/{_first(Deal.objects.filter(stage='closed_won'))}/"),
    Page("sam.salesmanager", "/work/"),
    Page("sam.salesmanager", "/deals/"),
    Page("sam.salesmanager", "/insights/"),
    Page(None, lambda: f"/s/{invitation_token(_first(Invitation.objects))}/?score=9"),
    Page(None, lambda: f"/r/{referral_token(_first(ReferralRequest.objects))}/"),
    Page(None, lambda: f"/u/{unsubscribe_token(_first(Contact.objects.exclude(email='')))}/"),
    Page(None, "/s/not-a-token/", status=404),
    Page("admin", "/admin/playbooks/playbook/import/"),
    Page("admin", lambda: f"/admin/playbooks/playbook/{_first(Playbook.objects)}/clone/"),
    Page("admin", lambda: f"/admin/engine/enrollment/numbers/{_first(Playbook.objects)}/"),
    Page("admin", "/admin/integrations/crmconnection/add/"),
    Page("admin", lambda: f"/admin/integrations/crmconnection/{_crm_connection()}/change/"),
    Page("admin", lambda: f"/admin/integrations/crmconnection/{_crm_connection()}/test/"),
    Page("admin", "/admin/integrations/inboundevent/"),
    Page("admin", "/admin/webhooks/webhooksubscription/add/"),
    Page("admin", "/admin/webhooks/webhookdelivery/"),
    Page(
        "admin",
        lambda: f"/admin/engine/enrollmentmove/add/?to_version={_first(PlaybookVersion.objects)}",
    ),
    Page("maria.manager", "/admin/engine/enrollmentversionchange/"),
]


def _context(chromium, live_server, who: str | None, viewport: dict):
    context = chromium.new_context(base_url=live_server.url, viewport=viewport, locale="en-US")
    if who is not None:
        client = Client()
        client.force_login(User.objects.get(username=who))
        cookie = client.cookies["sessionid"]
        context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    return context


def _visit_all(chromium, live_server, viewport: dict, check, watch=None) -> list[str]:
    """Open every page as its person; ``watch(page)`` is called before it loads and
    ``check(page, url)`` after, returning the problems seen."""
    problems: list[str] = []
    contexts: dict[str | None, object] = {}
    try:
        for spec in PAGES:
            if spec.who not in contexts:
                contexts[spec.who] = _context(chromium, live_server, spec.who, viewport)
            page = contexts[spec.who].new_page()
            if watch is not None:
                watch(page)
            url = spec.url()
            response = page.goto(url)
            page.wait_for_load_state("networkidle")
            if response.status != spec.status:
                problems.append(f"{spec.who} {url}: status {response.status}")
            problems += [f"{spec.who} {url}: {p}" for p in check(page, url, spec)]
            page.close()
    finally:
        for context in contexts.values():
            context.close()
    return problems


def test_no_page_has_a_javascript_error_or_a_failed_request(chromium, live_server, demo):
    listed = {spec.path for spec in PAGES if isinstance(spec.path, str)}
    errors: list[str] = []

    def watch(page):
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        # The page itself may answer 404 on purpose; what it loads may not.
        page.on(
            "response",
            lambda r: (
                r.status >= 400
                and r.request.resource_type != "document"
                and errors.append(f"{r.status} for {r.url}")
            ),
        )

    def check(page, url, spec):
        found = [e for e in errors if not (spec.status == 404 and "status of 404" in e)]
        errors.clear()
        hrefs = page.eval_on_selector_all(
            ".topbar a[href]", "(links) => links.map((a) => a.getAttribute('href'))"
        )
        return found + [f"top-bar link {h} is not in PAGES" for h in hrefs if h not in listed]

    problems = _visit_all(chromium, live_server, DESK, check, watch)
    assert problems == [], "\n".join(problems)


def test_no_page_is_wider_than_a_phone(chromium, live_server, demo, screenshot):
    def overflow(page, url, spec):
        width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, "390-" + re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-")[:50])
        if width <= PHONE["width"]:
            return []
        wide = page.evaluate(
            """(limit) => Array.from(document.querySelectorAll('body *'))
                .filter((el) => el.getBoundingClientRect().right > limit + 1)
                .filter((el) => !Array.from(el.children).some(
                    (child) => child.getBoundingClientRect().right > limit + 1))
                .slice(0, 4)
                .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)""",
            PHONE["width"],
        )
        return [f"{width} px wide ({', '.join(wide)})"]

    problems = _visit_all(chromium, live_server, PHONE, overflow)
    assert problems == [], "\n".join(problems)
