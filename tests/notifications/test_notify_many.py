"""Many notices at once: the same effects as one by one, in a few statements."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import DomainEvent
from apps.notifications.models import EmailMessage, Notification, SilencedNotice
from apps.notifications.reminders import task_assigned_notify_many
from apps.notifications.services import Notice, notify_many
from apps.queues.services import task_assign, task_create
from tests.factories import AccountFactory, ProfileFactory, QueueFactory, UserFactory

pytestmark = pytest.mark.django_db

ASSIGNED = Notification.Reason.TASK_ASSIGNED
OVERDUE = Notification.Reason.TASK_OVERDUE


def notice(recipient, key, reason=ASSIGNED):
    return Notice(recipient=recipient, reason=reason, title=f"Task {key}", dedupe_key=key)


def test_each_recipient_gets_the_channels_they_chose(csm, rep, outsider):
    ProfileFactory(user=rep, channels={ASSIGNED: ["in_app"]})
    ProfileFactory(user=outsider, channels={ASSIGNED: []})

    results = notify_many(
        notices=[
            notice(csm, "task:1:assigned"),
            notice(rep, "task:2:assigned"),
            notice(outsider, "task:3:assigned"),
        ]
    )

    assert [r.created for r in results] == [True, True, False]
    assert results[0].notification.recipient == csm and results[0].email.to_email == csm.email
    assert results[1].notification.recipient == rep and results[1].email is None
    assert results[2].notification is None and results[2].email is None
    assert set(Notification.objects.values_list("dedupe_key", flat=True)) == {
        "task:1:assigned",
        "task:2:assigned",
    }
    assert list(EmailMessage.objects.values_list("idempotency_key", flat=True)) == [
        "task:1:assigned:email"
    ]
    # Switched off is remembered, so a periodic job does not try again and again.
    assert SilencedNotice.objects.get().dedupe_key == "task:3:assigned"


def test_a_key_given_twice_or_again_later_is_written_once(csm):
    first = notify_many(notices=[notice(csm, "task:1:assigned"), notice(csm, "task:1:assigned")])
    again = notify_many(notices=[notice(csm, "task:1:assigned")])

    assert [r.created for r in first] == [True, False]
    assert first[0].notification.pk == first[1].notification.pk == again[0].notification.pk
    assert again[0].created is False
    assert Notification.objects.count() == 1
    assert EmailMessage.objects.count() == 1


def test_statements_do_not_grow_with_the_notices(csm):
    people = [UserFactory(username=f"csm{n}") for n in range(20)]
    for person in people:
        ProfileFactory(user=person)
    one = [notice(csm, "task:0:assigned")]
    many = [notice(person, f"task:{n}:assigned") for n, person in enumerate(people, start=1)]
    ProfileFactory(user=csm)
    with CaptureQueriesContext(connection) as single:
        notify_many(notices=one)
    with CaptureQueriesContext(connection) as batch:
        notify_many(notices=many)

    assert Notification.objects.count() == 21
    assert len(batch.captured_queries) == len(single.captured_queries)


def test_an_inactive_recipient_or_unknown_reason_writes_nothing(csm, rep):
    rep.is_active = False
    rep.save()
    assert notify_many(notices=[notice(rep, "task:1:assigned")])[0].created is False
    with pytest.raises(Exception, match="Unknown notification reason"):
        notify_many(notices=[notice(csm, "task:2:assigned"), notice(csm, "x", reason="gossip")])
    assert not Notification.objects.exists()
    assert not EmailMessage.objects.exists()


def test_task_assigned_events_in_one_batch_tell_each_current_assignee(csm, cs_manager):
    colleague = UserFactory(username="cleo", role="CSM")
    queue = QueueFactory(name="Onboarding", members=[csm, colleague], manager=cs_manager)
    due = dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC)
    tasks = [
        task_create(
            queue=queue,
            title=f"Kickoff {n}",
            account=AccountFactory(name=f"Globex {n}"),
            assignee=csm,
            due_at=due,
            actor=cs_manager,
        )
        for n in range(3)
    ]
    # Reassigned before the events run: only the newer assignee hears about it.
    task_assign(task=tasks[0], assignee=colleague, actor=cs_manager)
    # Taken by Carla herself: nobody needs telling.
    mine = task_create(queue=queue, title="Mine", assignee=csm, due_at=due, actor=csm)
    assigned = DomainEvent.objects.filter(name="task.assigned", processed_at__isnull=True)
    assert assigned.count() == 5

    task_assigned_notify_many(list(assigned))

    told = set(Notification.objects.values_list("recipient__username", "title"))
    assert told == {
        ("cleo", "New task for you: Kickoff 0"),
        ("carla", "New task for you: Kickoff 1"),
        ("carla", "New task for you: Kickoff 2"),
    }
    assert not Notification.objects.filter(url__contains=f"/{mine.pk}/").exists()
