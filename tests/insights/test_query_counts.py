"""Every insights page and the team dashboard run the same number of queries whatever
the number of deals, reasons, segments, people, queues, tasks and step runs."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import clock
from apps.core.models import DomainEvent, Profile
from apps.customers.models import Account
from apps.engine.models import Enrollment, StepRun
from apps.insights.services import funnel_counts_rebuild
from apps.queues.models import Task
from tests.factories import (
    AccountFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
    closed_deal,
    onboarding_playbook,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)
PAGES = ("insights:team", "insights:deals", "insights:onboarding", "insights:growth")
MOST = {"insights:team": 20, "insights:deals": 12, "insights:onboarding": 13, "insights:growth": 13}


def grow(manager, n: int) -> None:
    """``n`` of everything: people in the manager's queue, open and done tasks, won and
    lost deals in ``n`` segments with ``n`` reasons, onboarding accounts, enrollments."""
    queue = QueueFactory(name=f"Queue {n}", manager=manager)
    playbook = onboarding_playbook() if not Enrollment.objects.exists() else None
    from apps.playbooks.models import Playbook

    playbook = playbook or Playbook.objects.get()
    for i in range(n):
        person = UserFactory(username=f"p{n}-{i}", role="CSM")
        Profile.objects.create(user=person, capacity=5)
        queue.members.add(person)
        TaskFactory(queue=queue, assignee=person, due_at=NOW - dt.timedelta(hours=1))
        TaskFactory(
            queue=queue,
            status=Task.Status.DONE,
            completed_by=person,
            completed_at=NOW - dt.timedelta(days=i % 10),
            sla_due_at=NOW,
        )
        segment = f"Segment {i}"
        closed_deal(
            won=True,
            closed_at=NOW - dt.timedelta(days=30 * i),
            segment=segment,
            reason=f"Win {i}",
            owner=person,
            families=(f"Family {i}",),
        )
        closed_deal(
            won=False,
            closed_at=NOW - dt.timedelta(days=20 * i),
            segment=segment,
            reason=f"Loss {i}",
        )
        account = AccountFactory(
            segment=segment, lifecycle_status=Account.Lifecycle.ONBOARDING, csm=person
        )
        closed_deal(won=True, closed_at=NOW - dt.timedelta(days=i), account=account)
        event = DomainEvent.objects.create(
            name="deal.closed_won", aggregate_type="deal", aggregate_id=i
        )
        enrollment = Enrollment.objects.create(
            playbook=playbook, version=playbook.versions.get(), account=account, trigger_event=event
        )
        StepRun.objects.create(
            enrollment=enrollment, step_key="kickoff", kind="task", due_at=NOW, state="done"
        )


def counts(client, user) -> dict[str, int]:
    funnel_counts_rebuild()
    client.force_login(user)
    for name in PAGES:  # the first request of a session makes the viewer's profile
        client.get(reverse(name))
    result = {}
    for name in PAGES:
        for query in ({}, {"by": "rep", "segment": "Segment 0", "since": "2025-01-01"}):
            if name == "insights:team" and query:
                continue
            with clock.frozen(NOW), CaptureQueriesContext(connection) as queries:
                response = client.get(reverse(name), query)
            assert response.status_code == 200, (name, query)
            result[f"{name} {sorted(query)}"] = len(queries)
    return result


def test_query_counts_do_not_grow_with_the_data(client, cs_manager):
    grow(cs_manager, 2)
    small = counts(client, cs_manager)
    grow(cs_manager, 12)
    large = counts(client, cs_manager)
    assert small == large
    for key, count in large.items():
        assert count <= MOST[key.split(" ")[0]], (key, count)


def test_the_csv_download_runs_a_fixed_number_of_queries(client, cs_manager):
    client.force_login(cs_manager)
    grow(cs_manager, 2)
    url = reverse("insights:export", args=["win-reasons"])

    def run() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"by": "family"})
            b"".join(response.streaming_content)
        return len(queries)

    run()  # the first request of a session makes the viewer's profile
    small = run()
    grow(cs_manager, 12)
    assert run() == small
