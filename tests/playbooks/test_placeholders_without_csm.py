"""Templates that name the CSM read well for an account without one (an account taken in
from a CRM, say): "our customer success team", never an empty gap."""

from apps.core.templating import render_text
from apps.demo.data import PLAYBOOK_STEPS
from apps.playbooks.placeholders import template_context
from tests.factories import AccountFactory, ContactFactory, UserFactory


def context(account):
    return template_context(account=account, deal=None, enrollment_context={})


def demo_step(key: str) -> dict:
    return next(step["config"] for step in PLAYBOOK_STEPS if step["key"] == key)


def test_the_demo_welcome_email_and_hand_off_reminder_read_well_without_a_csm(db):
    account = AccountFactory(name="Initech", csm=None)
    ContactFactory(account=account, name="Peter Gibbons")
    values = context(account) | {"contact": {"name": "Peter Gibbons"}}

    welcome = render_text(demo_step("welcome")["body"], values)
    title = render_text(demo_step("handoff")["title"], values)
    body = render_text(demo_step("handoff")["body"], values)

    assert "is in the hands of our customer success team, who will reach out" in welcome
    assert title == "Introduce our customer success team to Peter Gibbons at Initech"
    assert body.endswith(
        "hand the relationship over to our customer success team with a short intro email."
    )
    assert not any("  " in text or " to  " in text for text in (welcome, title, body))


def test_the_csm_placeholders_name_the_csm_when_there_is_one(db):
    cora = UserFactory(username="cora", first_name="Cora", last_name="Diaz", role="CSM")
    values = context(AccountFactory(csm=cora))
    assert render_text("{{ csm.name }} / {{ csm.first_name }}", values) == "Cora Diaz / Cora"


def test_the_fallback_has_no_email_to_invent(db):
    values = context(AccountFactory(csm=None))
    assert render_text("[{{ csm.email }}] {{ csm.first_name }}", values) == (
        "[] our customer success team"
    )
