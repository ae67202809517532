"""In-app notifications: one per dedupe key, read by their recipient only."""

import pytest

from apps.core.errors import NotPermitted, ValidationFailed
from apps.notifications.models import Notification
from apps.notifications.services import (
    notification_create,
    notification_mark_read,
    notifications_mark_all_read,
)

pytestmark = pytest.mark.django_db

OVERDUE = Notification.Reason.TASK_OVERDUE


def test_one_reminder_per_task_per_reason(csm):
    first = notification_create(
        recipient=csm, reason=OVERDUE, title="Kickoff call is overdue", dedupe_key="task:7:overdue"
    )
    again = notification_create(
        recipient=csm, reason=OVERDUE, title="Kickoff call is overdue", dedupe_key="task:7:overdue"
    )
    other_reason = notification_create(
        recipient=csm,
        reason=Notification.Reason.SLA_BREACHED,
        title="SLA breached",
        dedupe_key="task:7:sla",
    )

    assert again.pk == first.pk
    assert other_reason.pk != first.pk
    assert Notification.objects.filter(recipient=csm).count() == 2


def test_unknown_reason_is_refused(csm):
    with pytest.raises(ValidationFailed):
        notification_create(recipient=csm, reason="gossip", title="Psst")
    assert not Notification.objects.exists()


def test_recipient_marks_a_notification_read_once(csm):
    notification = notification_create(recipient=csm, reason=OVERDUE, title="Overdue")

    assert notification_mark_read(notification=notification, user=csm) is True
    assert notification_mark_read(notification=notification, user=csm) is False
    notification.refresh_from_db()
    assert notification.is_read


def test_nobody_else_can_mark_my_notification_read(csm, outsider):
    notification = notification_create(recipient=csm, reason=OVERDUE, title="Overdue")

    with pytest.raises(NotPermitted):
        notification_mark_read(notification=notification, user=outsider)
    notification.refresh_from_db()
    assert not notification.is_read


def test_mark_all_read_touches_only_my_unread_notifications(csm, rep):
    for n in range(3):
        notification_create(recipient=csm, reason=OVERDUE, title=f"Overdue {n}")
    theirs = notification_create(recipient=rep, reason=OVERDUE, title="Someone else's")

    assert notifications_mark_all_read(user=csm) == 3
    assert notifications_mark_all_read(user=csm) == 0
    theirs.refresh_from_db()
    assert not theirs.is_read
