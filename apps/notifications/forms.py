from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from apps.core.models import Profile
from apps.notifications.models import Notification
from apps.notifications.selectors import CHANNELS, notification_channels

CHANNEL_LABELS = {"in_app": "In the app", "email": "By email"}


class PreferencesForm(forms.ModelForm):
    """A person's working preferences, plus one row of channel checkboxes per reason."""

    class Meta:
        model = Profile
        fields = (
            "timezone",
            "work_start",
            "work_end",
            "digest_time",
            "out_of_office_from",
            "out_of_office_until",
            "backup",
            "capacity",
        )
        widgets = {
            "work_start": forms.TimeInput(attrs={"type": "time"}),
            "work_end": forms.TimeInput(attrs={"type": "time"}),
            "digest_time": forms.TimeInput(attrs={"type": "time"}),
            "out_of_office_from": forms.DateInput(attrs={"type": "date"}),
            "out_of_office_until": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {"timezone": "Time zone", "digest_time": "Daily digest at"}
        help_texts = {
            "timezone": "An IANA name such as Europe/Berlin; times are shown in it.",
            "digest_time": "Empty: no daily digest.",
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["backup"].queryset = (
            get_user_model().objects.filter(is_active=True).exclude(pk=user.pk).order_by("username")
        )
        self.channel_fields = []
        for reason, label in Notification.Reason.choices:
            name = f"channels_{reason}"
            self.fields[name] = forms.MultipleChoiceField(
                label=label,
                required=False,
                choices=[(c, CHANNEL_LABELS[c]) for c in sorted(CHANNELS, reverse=True)],
                initial=sorted(notification_channels(user, reason)),
                widget=forms.CheckboxSelectMultiple,
            )
            self.channel_fields.append(self[name])

    def changes(self) -> dict[str, Any]:
        data = {field: self.cleaned_data[field] for field in self.Meta.fields}
        data["channels"] = {
            reason: sorted(self.cleaned_data[f"channels_{reason}"])
            for reason, _ in Notification.Reason.choices
        }
        return data
