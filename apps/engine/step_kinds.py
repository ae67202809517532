"""The ``wait`` kind's settings as a form (the kind itself is registered in ``apps.py``)."""

from django import forms

from apps.core import event_registry as registry
from apps.core import step_kinds


def _waitable_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *registry.waitable_choices()]


class WaitConfigForm(step_kinds.StepConfigForm):
    until_event = forms.ChoiceField(choices=_waitable_choices, label="Wait for")
    for_step = forms.SlugField(
        label="On the step",
        help_text="The key of the step whose task or survey this waits on. The step's delay "
        "is the timeout.",
    )

    @classmethod
    def summary(cls, config) -> str:
        return f"{config.get('until_event', '')} on {config.get('for_step', '')}"
