"""The monthly counts behind the metrics stay equal to a recount of the responses."""

import datetime as dt

import pytest

from apps.surveys.models import (
    InvitationMonth,
    ResponseMonth,
)
from apps.surveys.rollups import rollups_rebuild
from apps.surveys.selectors import ResponseFilters, response_metrics, responses_count
from apps.surveys.services import response_follow_up, response_record
from tests.surveys.conftest import invitation_of, survey_playbook, won_with_contact

pytestmark = pytest.mark.django_db


def snapshot():
    responses = ResponseMonth.objects.exclude(responses=0).values_list(
        "month",
        "kind",
        "band",
        "score",
        "segment",
        "csm_id",
        "playbook_id",
        "followed_up",
        "responses",
    )
    invitations = InvitationMonth.objects.exclude(invitations=0).values_list(
        "month", "kind", "segment", "csm_id", "playbook_id", "suppressed", "invitations"
    )
    return sorted(responses), sorted(invitations)


def test_answers_and_follow_ups_keep_the_counts_equal_to_a_recount(rep, cs_manager):
    survey_playbook()
    answered = [invitation_of(won_with_contact(rep, email=f"p{n}@globex.test")) for n in range(3)]
    response_record(invitation=answered[0], score=2, comment="Too slow.")
    response_record(invitation=answered[1], score=10)
    detractor = response_record(invitation=answered[2], score=5)
    response_follow_up(response=detractor, actor=cs_manager, note="Called back.")

    incremental = snapshot()
    rollups_rebuild()

    assert snapshot() == incremental
    assert sum(row[-1] for row in incremental[0]) == 3
    assert sum(row[-1] for row in incremental[1]) == 3


def test_the_counts_and_a_date_range_over_the_responses_agree(rep, cs_manager):
    survey_playbook()
    for n, score in enumerate((0, 6, 8, 9, 10)):
        response_record(
            invitation=invitation_of(won_with_contact(rep, email=f"q{n}@globex.test")),
            score=score,
        )
    everything = ResponseFilters()
    wide = ResponseFilters(answered_from=dt.date(2000, 1, 1), answered_to=dt.date(2100, 1, 1))
    not_followed = ResponseFilters(followed_up=False, band="detractor")

    [from_counts], [from_rows] = response_metrics(everything), response_metrics(wide)
    for key in ("responses", "nps", "promoters", "detractors", "invited", "response_rate"):
        assert from_counts[key] == from_rows[key], key
    assert from_counts["nps"] == 0.0  # 2 promoters (9, 10), 2 detractors (0, 6) of 5
    assert responses_count(everything) == responses_count(wide) == 5
    assert responses_count(not_followed) == 2
