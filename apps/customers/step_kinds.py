"""The ``set_lifecycle`` step kind: a playbook says where the account stands, e.g. the
onboarding playbook's last step marks the customer active once onboarding is done."""

from collections.abc import Mapping
from typing import Any

from django import forms

from apps.core import step_kinds
from apps.core.errors import ValidationFailed
from apps.customers.models import Account
from apps.customers.services import account_set_lifecycle


def validate_lifecycle_config(config: Mapping[str, Any]) -> step_kinds.ConfigErrors:
    if config.get("to") not in Account.Lifecycle.values:
        return {"to": [f"Choose the status to set: {', '.join(Account.Lifecycle.values)}."]}
    return {}


class LifecycleConfigForm(step_kinds.StepConfigForm):
    to = forms.ChoiceField(choices=Account.Lifecycle.choices, label="Set the status to")

    @classmethod
    def summary(cls, config) -> str:
        return str(config.get("to") or "")


def execute_set_lifecycle(execution: step_kinds.StepExecution) -> dict[str, Any]:
    account, status = execution.account, execution.step.config["to"]
    before = account.lifecycle_status
    if before == status:
        return {"skipped": f"{account.name} is already {account.get_lifecycle_status_display()}"}
    try:
        account = account_set_lifecycle(
            account=account,
            status=status,
            actor=None,
            reason=f"The playbook step “{execution.step.name}”.",
        )
    except ValidationFailed as refusal:  # e.g. churned meanwhile: the lifecycle decides
        return {"skipped": refusal.errors["lifecycle_status"][0]}
    return {
        "from": before,
        "to": status,
        "summary": f"{account.name} is now {account.get_lifecycle_status_display().lower()}",
    }


step_kinds.register(
    step_kinds.StepKind(
        name="set_lifecycle",
        label="Set the account's lifecycle status",
        execute=execute_set_lifecycle,
        validate_config=validate_lifecycle_config,
        config_form=LifecycleConfigForm,
    )
)
