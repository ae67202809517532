"""Two people close the same deal at the same moment: one wins, one gets a conflict."""

import threading

import pytest
from django.db import connection

from apps.core.errors import Conflict
from apps.core.models import DomainEvent
from apps.deals import services
from apps.deals.models import Deal, StageChange
from tests.factories import WinReasonFactory, closable_deal


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_closes_write_one_stage_change_and_one_event(rep):
    deal = closable_deal(owner=rep)
    reason = WinReasonFactory()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def close() -> None:
        try:
            mine = Deal.objects.get(pk=deal.pk)  # both load the deal in negotiation
            barrier.wait(5)
            services.deal_close_won(
                deal=mine, actor=rep, source="api", win_reason=reason, win_notes="Fit"
            )
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc.message}")
        finally:
            connection.close()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes)[-1] == "won"
    assert sorted(outcomes)[0].startswith("conflict:")
    assert StageChange.objects.filter(deal=deal).count() == 1
    assert DomainEvent.objects.filter(name="deal.closed_won").count() == 1
