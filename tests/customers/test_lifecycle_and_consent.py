"""The account's lifecycle moves with its deals (audited, announced as
``account.lifecycle_changed``), and consent is cleared only by the contact's own link or
an admin with a written reason."""

import pytest

from apps.core import outbox
from apps.core.errors import NotPermitted, ValidationFailed
from apps.core.models import DomainEvent
from apps.customers.models import Account, AccountLifecycleChange, ConsentChange, Contact
from apps.customers.services import (
    account_mark_churned,
    account_set_lifecycle,
    contact_unsubscribe,
    contact_update,
)
from apps.notifications.unsubscribe import unsubscribe_token
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, ContactFactory, closable_deal

pytestmark = pytest.mark.django_db


def moves(account) -> list[tuple[str, str]]:
    return list(
        AccountLifecycleChange.objects.filter(account=account).values_list(
            "from_status", "to_status"
        )
    )


def test_a_first_win_starts_onboarding_and_a_win_after_churn_too(rep):
    account = AccountFactory(lifecycle_status=Account.Lifecycle.PROSPECT)
    close_won(closable_deal(account=account), actor=rep)
    account.refresh_from_db()
    assert account.lifecycle_status == Account.Lifecycle.ONBOARDING
    account_set_lifecycle(account=account, status="active", actor=None, reason="Live")
    account_mark_churned(account=account, actor=None, reason="Budget cut")
    close_won(closable_deal(account=account), actor=rep)
    account.refresh_from_db()
    assert account.lifecycle_status == Account.Lifecycle.ONBOARDING
    assert moves(account) == [
        ("prospect", "onboarding"),
        ("onboarding", "active"),
        ("active", "churned"),
        ("churned", "onboarding"),
    ]
    events = DomainEvent.objects.filter(name="account.lifecycle_changed", aggregate_id=account.pk)
    assert [e.payload["status"] for e in events.order_by("id")] == [
        "onboarding",
        "active",
        "churned",
        "onboarding",
    ]
    first = AccountLifecycleChange.objects.filter(account=account).first()
    assert first.reason.startswith("Its first won deal")


def test_a_move_the_lifecycle_does_not_allow_is_refused_naming_the_allowed(rep):
    account = AccountFactory(lifecycle_status=Account.Lifecycle.PROSPECT)
    with pytest.raises(ValidationFailed) as refused:
        account_set_lifecycle(account=account, status="active", actor=None)
    assert "can move to churned, onboarding" in refused.value.errors["lifecycle_status"][0]
    assert not moves(account)


def test_an_active_customer_winning_more_stays_active(rep):
    account = AccountFactory(lifecycle_status=Account.Lifecycle.ACTIVE)
    close_won(closable_deal(account=account), actor=rep)
    account.refresh_from_db()
    assert account.lifecycle_status == Account.Lifecycle.ACTIVE
    assert not moves(account)


def test_the_onboarding_playbook_marks_the_customer_active(rep):
    playbook = Playbook.objects.create(name="Onboarding")
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="done",
        name="Onboarding done",
        kind="set_lifecycle",
        config={"to": "active"},
    )
    playbook_publish(playbook=playbook, actor=None)
    account = AccountFactory(lifecycle_status=Account.Lifecycle.PROSPECT)
    close_won(closable_deal(account=account), actor=rep)
    outbox.drain()
    account.refresh_from_db()
    assert account.lifecycle_status == Account.Lifecycle.ACTIVE
    assert moves(account) == [("prospect", "onboarding"), ("onboarding", "active")]


def test_staff_may_unsubscribe_a_contact_but_not_clear_it(client, csm):
    contact = ContactFactory(account=AccountFactory(csm=csm))
    client.force_login(csm)
    response = client.patch(
        f"/api/contacts/{contact.pk}/", {"unsubscribed": True}, content_type="application/json"
    )
    assert response.status_code == 200
    response = client.patch(
        f"/api/contacts/{contact.pk}/",
        {"unsubscribed": False, "consent_reason": "They asked"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Contact.objects.get(pk=contact.pk).unsubscribed
    assert list(
        ConsentChange.objects.filter(contact=contact).values_list("unsubscribed", "how")
    ) == [(True, "staff")]


def test_an_admin_clears_it_only_with_a_written_reason(admin_user):
    contact = ContactFactory()
    contact_unsubscribe(contact=contact, how=ConsentChange.How.EMAIL_LINK)
    with pytest.raises(ValidationFailed) as refused:
        contact_update(contact=contact, actor=admin_user, unsubscribed=False)
    assert "consent_reason" in refused.value.errors
    contact_update(
        contact=contact,
        actor=admin_user,
        unsubscribed=False,
        consent_reason="Asked us in writing on 3 Dec",
    )
    latest = ConsentChange.objects.filter(contact=contact).order_by("-id").first()
    assert (latest.unsubscribed, latest.actor, latest.reason) == (
        False,
        admin_user,
        "Asked us in writing on 3 Dec",
    )


def test_a_rep_may_not_clear_it_even_with_a_reason(rep):
    account = AccountFactory(owner=rep)
    contact = ContactFactory(account=account, unsubscribed=True)
    with pytest.raises(NotPermitted):
        contact_update(contact=contact, actor=rep, unsubscribed=False, consent_reason="Please")


def test_the_contacts_own_link_subscribes_them_again(client):
    contact = ContactFactory()
    contact_unsubscribe(contact=contact, how=ConsentChange.How.EMAIL_LINK)
    url = f"/u/{unsubscribe_token(contact.pk)}/"
    page = client.get(url).content.decode()
    assert "Subscribe again" in page
    response = client.post(url, {"action": "resubscribe"})
    assert "Welcome back" in response.content.decode()
    contact.refresh_from_db()
    assert not contact.unsubscribed
    latest = ConsentChange.objects.filter(contact=contact).order_by("-id").first()
    assert (latest.unsubscribed, latest.how) == (False, "resubscribe_link")
