import pytest

from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.engine.models import Enrollment
from tests.deals.test_close_won import close_won


@pytest.fixture
def win_and_enroll():
    """Close a deal won and process its event: the deal's enrollment, steps scheduled."""

    def win(deal, actor) -> Enrollment:
        close_won(deal, actor=actor)
        event = DomainEvent.objects.get(name="deal.closed_won", aggregate_id=deal.pk)
        assert event_process(event_id=event.pk)
        return Enrollment.objects.get(deal=deal)

    return win
