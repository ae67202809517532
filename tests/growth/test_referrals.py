"""Referrals end to end on the real engine: a promoter's answer leads to the ask (email
and rep task), the public page turns a recommendation into an attributed deal, and the
won deal converts the referral and records the reward."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.core import clock, outbox
from apps.core.models import DomainEvent
from apps.customers.models import Account, Contact
from apps.deals.models import Deal
from apps.engine.models import StepRun
from apps.growth.models import Referral, ReferralRequest, Reward, RewardRule
from apps.growth.tokens import referral_request_id_from_token, referral_token
from apps.notifications.models import EmailMessage, Notification
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue, Task
from apps.surveys.services import response_record
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, ContactFactory, DealFactory, UserFactory
from tests.surveys.conftest import invitation_of, won_with_contact

pytestmark = pytest.mark.django_db


def referral_playbook(**ask_config) -> Playbook:
    """Ask the NPS question at the win; a promoter's answer is asked for a referral."""
    for slug in ("escalations", "referrals"):
        Queue.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    playbook = Playbook.objects.create(name="Promoters refer")
    steps = [
        {"key": "nps_survey", "kind": "survey", "config": {"survey": "nps"}},
        {
            "key": "nps_answer",
            "kind": "wait",
            "config": {"until_event": "survey.answered", "for_step": "nps_survey"},
            "start": "after_step",
            "after_step": "nps_survey",
            "delay_days": 14,
        },
        {
            "key": "ask",
            "name": "Ask for a referral",
            "kind": "referral_request",
            "config": {"queue": "referrals", "answer_step": "nps_answer", **ask_config},
            "start": "after_step",
            "after_step": "nps_answer",
            "conditions": [{"field": "steps.nps_answer.band", "op": "==", "value": "promoter"}],
        },
    ]
    for position, step in enumerate(steps, start=1):
        PlaybookStep.objects.create(
            playbook=playbook, position=position, name=step.pop("name", step["key"]), **step
        )
    playbook_publish(playbook=playbook, actor=None)
    return playbook


@pytest.fixture
def asked(rep, csm):
    """Grace at Globex answered 10; the playbook asked her for a referral."""
    referral_playbook()
    account = AccountFactory(name="Globex", domain="globex.test", owner=rep, csm=csm)
    deal = won_with_contact(rep, account=account)
    Deal.objects.filter(pk=deal.pk).update(owner=rep)
    response_record(invitation=invitation_of(deal), score=10, comment="Love it")
    outbox.drain()
    return ReferralRequest.objects.get()


LINK = r"https?://[^/\s]+/r/([^/\s]+)/"


def linked_request_id(body: str) -> int | None:
    """The referral request the email's link names (tokens are signed with a timestamp,
    so the link is compared by what it names)."""
    return referral_request_id_from_token(re.search(LINK, body).group(1))


def form(**changes) -> dict:
    return {
        "company": "Initech",
        "contact_name": "Peter Gibbons",
        "email": "peter@initech.test",
        "title": "VP Engineering",
        "note": "They are drowning in spreadsheets.",
        "consent": "yes",
        **changes,
    }


def page(ask: ReferralRequest) -> str:
    return reverse("referral:refer", args=[referral_token(ask.pk)])


def test_a_promoter_is_emailed_a_personal_link_and_the_rep_gets_a_task(asked, rep):
    assert asked.contact.name == "Grace Hopper"
    assert asked.status == ReferralRequest.Status.ASKED
    email = EmailMessage.objects.get(idempotency_key=f"referral-ask:{asked.pk}")
    assert email.to_email == "grace@globex.test"
    assert linked_request_id(email.body_text) == asked.pk
    task = Task.objects.get(step_run__step_key="ask")
    assert (task.title, task.assignee) == ("Ask Grace Hopper at Globex for a referral", rep)
    assert task.queue.slug == "referrals"


def test_the_step_delivered_twice_asks_once(asked):
    from apps.engine.execution import step_run_execute

    run = StepRun.objects.get(step_key="ask")
    StepRun.objects.filter(pk=run.pk).update(state=StepRun.State.PENDING, due_at=clock.now())
    step_run_execute(step_run_id=run.pk)
    assert ReferralRequest.objects.count() == 1
    assert Task.objects.filter(step_run=run).count() == 1
    assert EmailMessage.objects.filter(idempotency_key__startswith="referral-ask:").count() == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("unsubscribed", "Grace Hopper was not asked: the contact unsubscribed"),
        (
            "asked_before",
            "Grace Hopper was not asked: the contact was asked for a referral in the last 180 days",
        ),
    ],
)
def test_a_contact_who_may_not_be_asked_is_skipped_with_the_reason(rep, setup, reason):
    referral_playbook()
    account = AccountFactory(name="Globex", owner=rep)
    deal = won_with_contact(rep, account=account)
    grace = Contact.objects.get(name="Grace Hopper")
    if setup == "unsubscribed":
        Contact.objects.filter(pk=grace.pk).update(unsubscribed=True)
    else:
        ReferralRequest.objects.create(
            contact=grace, account=account, expires_at=clock.now() + dt.timedelta(days=9)
        )
    response_record(invitation=invitation_of(deal), score=9, comment="")
    outbox.drain()
    run = StepRun.objects.get(step_key="ask")
    assert run.result["skipped"] == reason
    assert not Task.objects.filter(step_run=run).exists()


def test_a_detractor_is_not_asked(rep):
    referral_playbook()
    deal = won_with_contact(rep)
    response_record(invitation=invitation_of(deal), score=4, comment="")
    outbox.drain()
    assert not ReferralRequest.objects.exists()


def test_opening_the_page_names_the_referrer_and_counts_the_open_once(client, asked):
    first = client.get(page(asked))
    assert first.status_code == 200
    assert "Recommended by Grace Hopper at Globex" in first.content.decode()
    asked.refresh_from_db()
    opened = asked.opened_at
    assert opened is not None
    client.get(page(asked))
    asked.refresh_from_db()
    assert asked.opened_at == opened
    assert not Referral.objects.exists()


def test_a_referral_creates_the_account_contact_and_a_referral_deal_for_the_rep(
    client, asked, rep, csm
):
    response = client.post(page(asked), form())
    assert response.status_code == 200
    assert "Thank you, Grace Hopper!" in response.content.decode()

    referral = Referral.objects.get()
    assert referral.outcome == Referral.Outcome.NEW_ACCOUNT
    account = Account.objects.get(name="Initech")
    assert (account.domain, account.owner) == ("initech.test", rep)
    contact = Contact.objects.get(email="peter@initech.test")
    assert (contact.account, contact.is_primary, contact.title) == (account, True, "VP Engineering")
    deal = referral.deal
    assert (deal.stage, deal.source, deal.owner, deal.kind) == (
        "new",
        "referral",
        rep,
        "new_business",
    )
    assert deal.primary_contact == contact
    assert (referral.referrer_contact.name, referral.referrer_account.name) == (
        "Grace Hopper",
        "Globex",
    )
    told = Notification.objects.filter(reason="referral_received")
    assert sorted(n.recipient.username for n in told) == ["carla", "rick"]
    thanks = EmailMessage.objects.get(idempotency_key=f"referral:{referral.pk}:thanks")
    assert thanks.to_email == "grace@globex.test"
    assert "Initech" in thanks.subject


def test_the_deal_api_and_admin_say_who_referred_it(client, asked, admin_user):
    client.post(page(asked), form())
    deal = Referral.objects.get().deal
    client.force_login(admin_user)
    data = client.get(f"/api/deals/{deal.pk}/").json()
    assert data["source"] == "referral"
    [origin] = data["origin"]
    assert origin["kind"] == "referred_by"
    assert origin["text"] == "Grace Hopper at Globex"
    assert origin["referrer_account"] == asked.account_id
    admin_page = client.get(reverse("admin:deals_deal_change", args=[deal.pk])).content.decode()
    assert "Referred by" in admin_page and "Grace Hopper at Globex" in admin_page


def test_an_address_at_a_known_domain_is_linked_to_that_account_and_flagged(client, asked):
    known = AccountFactory(name="Initech Inc", domain="initech.test")
    response = client.post(page(asked), form(email="samir@initech.test"))
    assert response.status_code == 200
    referral = Referral.objects.get()
    assert (referral.outcome, referral.account) == (Referral.Outcome.EXISTING_ACCOUNT, known)
    assert "belongs to the existing account “Initech Inc”" in referral.flag
    assert Account.objects.filter(name__startswith="Initech").count() == 1
    assert referral.deal.account == known
    assert "Please look" in Notification.objects.filter(reason="referral_received").first().body


def test_an_account_with_an_open_deal_gets_no_second_deal(client, asked):
    known = AccountFactory(name="Initech Inc", domain="initech.test")
    DealFactory(account=known, name="Initech platform")
    client.post(page(asked), form())
    referral = Referral.objects.get()
    assert (referral.outcome, referral.deal) == (Referral.Outcome.OPEN_DEAL, None)
    assert "already has the open deal “Initech platform”" in referral.flag
    assert Deal.objects.filter(account=known).count() == 1


def test_a_shared_mail_domain_matches_no_account(client, asked):
    AccountFactory(name="Someone at Gmail", domain="gmail.com")
    client.post(page(asked), form(email="peter.gibbons@gmail.com"))
    referral = Referral.objects.get()
    assert referral.outcome == Referral.Outcome.NEW_ACCOUNT
    assert referral.account.domain == ""


def test_the_same_address_twice_through_one_link_is_refused(client, asked):
    client.post(page(asked), form())
    again = client.post(page(asked), form(company="Initech again"))
    assert again.status_code == 409
    assert "You already referred peter@initech.test" in again.content.decode()
    assert Referral.objects.count() == 1
    assert Deal.objects.filter(source="referral").count() == 1


def test_invalid_fields_are_named_and_nothing_is_stored(client, asked):
    response = client.post(
        page(asked), form(company=" ", email="not-an-address", consent="", note="x" * 2001)
    )
    assert response.status_code == 400
    text = response.content.decode()
    for message in (
        "Tell us the company&#x27;s name.",
        "Give their work email address",
        "Please confirm they agreed to hear from us.",
        "Keep it under 2000 characters.",
    ):
        assert message in text
    assert 'value="Peter Gibbons"' in text  # what was typed is kept
    assert not Referral.objects.exists()
    assert not Account.objects.filter(name="Initech").exists()


def test_the_honeypot_stores_nothing(client, asked):
    response = client.post(page(asked), form(website="http://spam.example"))
    assert response.status_code == 400
    assert "This looked automated" in response.content.decode()
    assert not Referral.objects.exists()


def test_tampered_unknown_and_expired_links_store_nothing_and_say_why(client, asked):
    token = referral_token(asked.pk)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    unknown = referral_token(asked.pk + 1000)
    for bad in (tampered, unknown, "not-a-token"):
        url = reverse("referral:refer", args=[bad])
        for response in (client.get(url), client.post(url, form())):
            assert response.status_code == 404
            assert "This referral link is not valid" in response.content.decode()
    ReferralRequest.objects.filter(pk=asked.pk).update(expires_at=clock.now())
    for response in (client.get(page(asked)), client.post(page(asked), form())):
        assert response.status_code == 410
        assert "This referral link has closed" in response.content.decode()
    assert not Referral.objects.exists()


def test_posts_are_rate_limited_per_link(client, asked, settings):
    settings.PUBLIC_POST_RATE_PER_TOKEN = "2/h"  # an hour: no window boundary mid-test
    cache.clear()
    statuses = [
        client.post(page(asked), form(email=f"p{n}@initech.test")).status_code for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert Referral.objects.count() == 2


def test_what_a_referrer_wrote_is_escaped_for_staff(client, asked, admin_user):
    client.post(page(asked), form(company="<script>alert(1)</script>", email="x@evil.test"))
    referral = Referral.objects.get()
    client.force_login(admin_user)
    admin_page = client.get(
        reverse("admin:growth_referral_change", args=[referral.pk])
    ).content.decode()
    results_page = client.get(reverse("growth:referrals")).content.decode()
    notice = client.get("/notifications/").content.decode()
    for page_text in (admin_page, results_page):
        assert "<script>alert(1)</script>" not in page_text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page_text
    assert "<script>alert(1)</script>" not in notice


def win_referred(client, asked, rep, amount="20000.00") -> Referral:
    client.post(page(asked), form())
    referral = Referral.objects.get()
    deal = referral.deal
    Deal.objects.filter(pk=deal.pk).update(amount=Decimal(amount), close_date=dt.date(2026, 11, 20))
    from tests.factories import DealLineItemFactory

    DealLineItemFactory(deal=deal)
    deal.refresh_from_db()
    close_won(deal, actor=rep)
    outbox.drain()
    referral.refresh_from_db()
    return referral


def test_a_won_referred_deal_converts_thanks_and_rewards(client, asked, rep):
    RewardRule.objects.create(name="10 %", kind="percent", percent=10, currency="USD")
    referral = win_referred(client, asked, rep)
    assert referral.converted_at is not None
    assert referral.won_amount == Decimal("20000.00")
    reward = Reward.objects.get(referral=referral)
    assert (reward.amount, reward.currency, reward.status) == (Decimal("2000.00"), "USD", "owed")
    task = Task.objects.get(title__startswith="Thank Grace Hopper")
    assert task.title == "Thank Grace Hopper for referring Initech"
    assert task.assignee == rep
    assert "A reward of 2000.00 USD is owed to them." in task.body
    event = DomainEvent.objects.get(name="referral.converted")
    assert event.payload["account_id"] == asked.account_id
    assert event.payload["deal_id"] == referral.deal_id


def test_a_fixed_reward_and_conversion_happen_once(client, asked, rep):
    RewardRule.objects.create(name="Gift card", kind="fixed", amount=250, currency="EUR")
    referral = win_referred(client, asked, rep)
    from apps.growth.referrals import referrals_won

    referrals_won(list(DomainEvent.objects.filter(name="deal.closed_won")))
    reward = Reward.objects.get()
    assert (reward.amount, reward.currency) == (Decimal("250.00"), "EUR")
    assert DomainEvent.objects.filter(name="referral.converted").count() == 1
    assert Task.objects.filter(title__startswith="Thank Grace").count() == 1
    assert referral.converted_at is not None


def test_an_admin_marks_a_reward_issued_once(client, asked, rep, admin_user):
    RewardRule.objects.create(name="Gift card", kind="fixed", amount=250, currency="USD")
    win_referred(client, asked, rep)
    reward = Reward.objects.get()
    client.force_login(admin_user)
    changelist = reverse("admin:growth_reward_changelist")
    action = {"action": "issue_selected", "_selected_action": [reward.pk]}
    client.post(changelist, action, follow=True)
    reward.refresh_from_db()
    assert (reward.status, reward.issued_by) == ("issued", admin_user)
    issued_at = reward.issued_at
    second = client.post(changelist, action, follow=True).content.decode()
    assert "already issued" in second
    reward.refresh_from_db()
    assert reward.issued_at == issued_at


def test_a_rep_may_not_issue_rewards(rep):
    from apps.core.errors import NotPermitted
    from apps.growth.referrals import reward_issue

    account = AccountFactory()
    grace = ContactFactory(account=account)
    ask = ReferralRequest.objects.create(
        contact=grace, account=account, expires_at=clock.now() + dt.timedelta(days=1)
    )
    referral = Referral.objects.create(
        request=ask,
        referrer_contact=grace,
        referrer_account=account,
        company="X",
        contact_name="Y",
        email="y@x.test",
        consent_at=clock.now(),
        outcome="new_account",
        account=account,
    )
    rule = RewardRule.objects.create(name="r", kind="fixed", amount=1, currency="USD")
    reward = Reward.objects.create(referral=referral, rule=rule, amount=1, currency="USD")
    with pytest.raises(NotPermitted):
        reward_issue(reward=reward, actor=UserFactory(role="Sales Rep"))


def test_the_link_in_the_email_opens_the_page(client, asked):
    body = EmailMessage.objects.get(idempotency_key=f"referral-ask:{asked.pk}").body_text
    response = client.get(f"/r/{re.search(LINK, body).group(1)}/")
    assert response.status_code == 200
    assert "Recommended by Grace Hopper at Globex" in response.content.decode()


def test_a_link_signed_again_counts_against_the_same_rate_limit():
    from types import SimpleNamespace

    import time_machine

    from apps.core.ratelimits import path_token_key

    def key(token: str) -> str:
        request = SimpleNamespace(resolver_match=SimpleNamespace(kwargs={"token": token}))
        return path_token_key("group", request)

    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        first = referral_token(5)
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, 7, tzinfo=dt.UTC), tick=False):
        again = referral_token(5)
    assert first != again
    assert key(first) == key(again)
    assert key(referral_token(6)) != key(first)


def test_a_cancelled_enrollment_cancels_the_reps_referral_task(asked):
    from apps.engine.services import enrollment_cancel

    run = StepRun.objects.get(step_key="ask")
    task = Task.objects.get(step_run=run)
    enrollment_cancel(enrollment=run.enrollment, reason="the deal was reopened")
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    # The link was sent: it stays valid until it expires.
    assert ReferralRequest.objects.get().status == ReferralRequest.Status.ASKED
