"""What the health app adds to the rest of the product, called from ``ready()``: the
``account.health_changed`` trigger and the events that make a score stale."""

from apps.core import event_registry as registry
from apps.core.events import subscribe
from apps.health.models import Band
from apps.health.services import RECOMPUTE_ON, SINGLE_FORMS


def register() -> None:
    # A band change starts playbooks, filtered by the band entered: "became red" → an
    # escalation playbook.
    registry.register_trigger(
        registry.Trigger(
            name="account.health_changed",
            label="Account health band changed",
            subject=registry.account_subject,
            payload_filters=(
                registry.PayloadFilter(
                    key="health_bands",
                    label="Bands entered",
                    payload_field="band",
                    choices=tuple(Band.choices),
                ),
            ),
        )
    )
    for event_names, many in RECOMPUTE_ON:
        for event_name in event_names:
            subscribe(event_name, SINGLE_FORMS[many], many=many)
