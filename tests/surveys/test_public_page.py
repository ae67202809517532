"""The answer page customers reach from the email: no login, the signed token is the
credential, a GET stores nothing, one answer per invitation."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.core import clock
from apps.core.models import DomainEvent
from apps.surveys.models import Invitation, Response
from apps.surveys.tokens import invitation_token
from tests.surveys.conftest import invitation_of, survey_playbook, won_with_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(rep) -> Invitation:
    survey_playbook()
    return invitation_of(won_with_contact(rep))


def url(invitation_or_token, score=None) -> str:
    token = (
        invitation_or_token
        if isinstance(invitation_or_token, str)
        else invitation_token(invitation_or_token.pk)
    )
    path = reverse("survey:answer", args=[token])
    return path if score is None else f"{path}?score={score}"


def test_opening_a_score_link_selects_it_and_stores_nothing(client, invitation):
    response = client.get(url(invitation, 3))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="3" checked' in html
    assert "How likely are you to recommend us" in html
    assert "What is the main reason for your score?" in html  # the detractor's follow-up
    assert "Globex" in html
    assert not Response.objects.exists()
    assert not DomainEvent.objects.filter(name="survey.answered").exists()
    assert response["Cache-Control"] == "no-store"


def test_one_tap_answers_with_a_comment_and_raises_survey_answered(client, invitation):
    response = client.post(url(invitation), {"score": "10", "comment": "Great kickoff!"})

    assert response.status_code == 200
    assert "Thank you, that means a lot to us!" in response.content.decode()
    answer = Response.objects.get()
    assert (answer.score, answer.band, answer.comment) == (10, "promoter", "Great kickoff!")
    assert (answer.account.name, answer.contact.name) == ("Globex", "Grace Hopper")
    event = DomainEvent.objects.get(name="survey.answered")
    assert event.payload["score"] == 10 and event.payload["band"] == "promoter"
    assert event.payload["step_key"] == "nps_survey"
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ANSWERED


def test_a_second_submission_says_already_answered_and_changes_nothing(client, invitation):
    client.post(url(invitation), {"score": "4", "comment": "Slow support."})

    again = client.post(url(invitation), {"score": "10", "comment": "Changed my mind"})

    assert again.status_code == 409
    assert "You have already answered this survey" in again.content.decode()
    assert list(Response.objects.values_list("score", "comment")) == [(4, "Slow support.")]
    assert DomainEvent.objects.filter(name="survey.answered").count() == 1
    # Opening the link again shows the same, without storing anything either.
    assert "already answered" in client.get(url(invitation, 9)).content.decode()


@pytest.mark.parametrize("score", ["11", "-1", "ten", "", "7.5"])
def test_a_score_off_the_scale_is_refused_and_names_the_field(client, invitation, score):
    response = client.post(url(invitation), {"score": score})

    assert response.status_code == 400
    assert "from 0 to 10" in response.content.decode()
    assert not Response.objects.exists()


def test_a_too_long_comment_is_refused(client, invitation):
    response = client.post(url(invitation), {"score": "8", "comment": "x" * 2001})

    assert response.status_code == 400
    assert "Keep it under 2000 characters" in response.content.decode()
    assert not Response.objects.exists()


def test_tampered_unknown_and_expired_tokens_store_nothing_and_say_why(client, invitation):
    token = invitation_token(invitation.pk)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    unknown = invitation_token(invitation.pk + 1000)
    for bad in (tampered, unknown, "not-a-token"):
        for response in (client.get(url(bad, 5)), client.post(url(bad), {"score": "5"})):
            assert response.status_code == 404
            assert "This survey link is not valid" in response.content.decode()

    Invitation.objects.filter(pk=invitation.pk).update(expires_at=clock.now())
    with clock.frozen(clock.now() + dt.timedelta(seconds=1)):
        expired = client.post(url(invitation), {"score": "5"})
    assert expired.status_code == 410
    assert "This survey has closed" in expired.content.decode()
    assert not Response.objects.exists()


def test_answers_are_rate_limited_per_token(client, invitation, settings):
    settings.PUBLIC_POST_RATE_PER_TOKEN = "2/h"  # an hour: no window boundary mid-test
    cache.clear()
    statuses = [client.post(url(invitation), {"score": "x"}).status_code for _ in range(3)]

    assert statuses == [400, 400, 429]
    assert not Response.objects.exists()


def test_a_comment_is_escaped_on_the_staff_pages(client, invitation, cs_manager):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(url(invitation), {"score": "2", "comment": attack})
    answer = Response.objects.get()
    client.force_login(cs_manager)

    for page in (
        reverse("surveys:responses"),
        reverse("surveys:response_detail", args=[answer.pk]),
    ):
        html = client.get(page).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
