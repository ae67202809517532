"""Who enrolls: product filters, once per deal, account cool-down; churn cancels."""

import pytest

from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.customers.services import account_mark_churned
from apps.deals import services as deal_services
from apps.deals.models import Deal
from apps.engine.models import Enrollment, StepRun
from apps.playbooks.services import playbook_publish
from apps.queues.models import Task
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db


def process_all() -> None:
    for event in DomainEvent.objects.filter(processed_at__isnull=True).order_by("id"):
        event_process(event_id=event.pk)


def republish(playbook, **changes):
    for field, value in changes.items():
        setattr(playbook, field, value)
    playbook.save()
    playbook_publish(playbook=playbook, actor=None)


def test_products_bought_and_not_bought_filters(rep):
    playbook = onboarding_playbook()
    included = closable_deal()
    sku = included.line_items.get().product.sku
    republish(playbook, filters={"products_bought": [sku]})
    other = closable_deal()

    close_won(included, actor=rep)
    close_won(other, actor=rep)
    process_all()
    assert list(Enrollment.objects.values_list("deal_id", flat=True)) == [included.pk]

    republish(playbook, filters={"products_not_bought": [sku]})
    third = closable_deal()
    close_won(third, actor=rep)
    process_all()
    assert Enrollment.objects.filter(deal=third).exists()


def test_once_per_deal_does_not_enroll_a_rewon_deal_again(rep, admin_user):
    onboarding_playbook()
    deal = closable_deal()
    close_won(deal, actor=rep)
    process_all()
    deal_services.deal_reopen(
        deal=Deal.objects.get(pk=deal.pk), actor=admin_user, source="admin", reason="Re-quote"
    )
    close_won(Deal.objects.get(pk=deal.pk), actor=rep)
    process_all()

    assert Enrollment.objects.filter(deal=deal).count() == 1
    assert Enrollment.objects.get(deal=deal).state == Enrollment.State.CANCELLED


def test_account_cool_down_skips_a_second_deal_of_the_same_account(rep):
    playbook = onboarding_playbook()
    republish(playbook, account_cooldown_days=90)
    account = AccountFactory()
    first, second = closable_deal(account=account), closable_deal(account=AccountFactory())
    second.account = account
    second.save()

    close_won(first, actor=rep)
    close_won(Deal.objects.get(pk=second.pk), actor=rep)
    process_all()

    assert list(Enrollment.objects.values_list("deal_id", flat=True)) == [first.pk]


def test_churned_account_cancels_its_enrollments_and_open_tasks(rep, cs_manager):
    onboarding_playbook(
        extra_steps=[
            {
                "key": "checkin",
                "name": "Check-in",
                "kind": "task",
                "delay_days": 7,
                "config": {"queue": "onboarding", "title": "Check-in"},
            }
        ]
    )
    deal = closable_deal()
    close_won(deal, actor=rep)
    process_all()
    from apps.engine.execution import step_run_execute

    step_run_execute(step_run_id=StepRun.objects.get(step_key="kickoff").pk)

    account_mark_churned(account=deal.account, actor=cs_manager, reason="Budget cut")
    process_all()

    enrollment = Enrollment.objects.get(deal=deal)
    assert enrollment.state == Enrollment.State.CANCELLED
    assert "account churned" in enrollment.cancelled_reason
    assert StepRun.objects.get(step_key="checkin").state == StepRun.State.CANCELLED
    assert Task.objects.get().status == Task.Status.CANCELLED


def test_churning_through_the_api_or_admin_also_cancels_playbooks(rep, cs_manager, admin_user):
    from rest_framework.test import APIClient

    onboarding_playbook()
    first, second = closable_deal(), closable_deal()
    close_won(first, actor=rep)
    close_won(second, actor=rep)
    process_all()

    api = APIClient()
    api.force_authenticate(cs_manager)
    response = api.patch(
        f"/api/accounts/{first.account_id}/", {"lifecycle_status": "churned"}, format="json"
    )
    assert response.status_code == 200 and response.json()["lifecycle_status"] == "churned"

    from django.test import Client

    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(f"/admin/customers/account/{second.account_id}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update(
        lifecycle_status="churned",
        **{
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
        },
    )
    data["owner"] = data.get("owner") or ""
    data["csm"] = data.get("csm") or ""
    assert (
        admin.post(f"/admin/customers/account/{second.account_id}/change/", data).status_code == 302
    )

    process_all()
    assert set(Enrollment.objects.values_list("state", flat=True)) == {Enrollment.State.CANCELLED}
