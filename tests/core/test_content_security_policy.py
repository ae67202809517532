"""Every page carries the strict Content Security Policy: the CS pages, the public pages
customers open from emails, the admin, the API and its docs, and the error pages.
(tests/browser/test_content_security_policy.py checks the pages work under it.)"""

import re

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.views.defaults import server_error

from apps.notifications.models import EmailMessage
from apps.notifications.unsubscribe import unsubscribe_token
from apps.surveys.tokens import invitation_token
from tests.factories import ContactFactory
from tests.surveys.conftest import invitation_of, survey_playbook, won_with_contact

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.fixture
def invitation(rep):
    survey_playbook()
    return invitation_of(won_with_contact(rep))


def test_the_public_pages_carry_the_policy(client, invitation):
    contact = ContactFactory()
    for path in [
        f"/s/{invitation_token(invitation.pk)}/?score=9",
        f"/u/{unsubscribe_token(contact.pk)}/",
        "/r/not-a-valid-link/",
        "/login/",
    ]:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert policy_of(response) == POLICY, path


def test_the_cs_pages_admin_and_api_carry_the_policy(client, admin_user):
    client.force_login(admin_user)
    for path in [
        "/work/",
        "/tasks/",
        "/surveys/responses/",
        "/admin/",
        "/admin/deals/deal/",
        "/api/deals/",
        "/api/docs/",
        "/page-that-does-not-exist/",
    ]:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert policy_of(response) == POLICY, path


def test_the_email_preview_alone_allows_inline_styles(client, admin_user):
    # Its sandboxed iframe shows a customer email, styled inline as mail clients need.
    email = EmailMessage.objects.create(
        to_email="ana@example.com",
        subject="Hello",
        body_text="Hello",
        body_html='<p style="color:#555">Hello</p>',
        idempotency_key="csp-test",
    )
    client.force_login(admin_user)

    policy = policy_of(client.get(f"/notifications/emails/{email.pk}/"))

    assert policy == {**POLICY, "style-src": "'self' 'unsafe-inline'"}
    assert policy_of(client.get("/notifications/emails/")) == POLICY


def test_the_api_docs_script_is_served_as_a_file_from_this_server(client, admin_user):
    client.force_login(admin_user)

    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    init = client.get(sources[-1].replace("&amp;", "&"))

    assert [src.split("?")[0] for src in sources] == [
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "/api/docs/",
    ]
    assert init["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in init.content.decode()
    assert "<script>" not in page and "<style>" not in page


def test_no_template_has_inline_script_style_or_event_handlers():
    # Email templates are not web pages; everything else is served under the policy.
    offenders = []
    for template in (settings.BASE_DIR / "templates").rglob("*.html"):
        if "email" in template.parts:
            continue
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|hx-on", text):
            offenders.append(str(template.relative_to(settings.BASE_DIR)))

    assert offenders == []


def test_the_server_error_page_has_its_style_in_a_file():
    page = server_error(RequestFactory().get("/")).content.decode()

    assert "<style" not in page
    assert '<link rel="stylesheet" href="/static/core/error.css">' in page
