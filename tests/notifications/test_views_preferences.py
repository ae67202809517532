import datetime as dt

import pytest

from apps.core.selectors import profile_for
from apps.notifications.selectors import notification_channels

pytestmark = pytest.mark.django_db

VALID = {
    "timezone": "Europe/Berlin",
    "work_start": "08:30",
    "work_end": "16:30",
    "digest_time": "07:45",
    "out_of_office_from": "",
    "out_of_office_until": "",
    "backup": "",
    "capacity": "30",
    "channels_task_assigned": ["in_app"],
    "channels_sla_breached": ["in_app", "email"],
}


def test_a_person_saves_their_hours_digest_and_channels(client, csm):
    client.force_login(csm)
    assert client.get("/notifications/preferences/").status_code == 200

    response = client.post("/notifications/preferences/", VALID)

    assert response.status_code == 302
    profile = profile_for(csm)
    assert (profile.timezone, profile.work_start, profile.digest_time, profile.capacity) == (
        "Europe/Berlin",
        dt.time(8, 30),
        dt.time(7, 45),
        30,
    )
    assert notification_channels(csm, "task_assigned") == {"in_app"}
    assert notification_channels(csm, "task_overdue") == set()  # both unticked: off


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "not an IANA time zone"),
        ({"work_end": "08:00"}, "work_end", "must end after it starts"),
        (
            {"out_of_office_from": "2026-12-10", "out_of_office_until": "2026-12-01"},
            "out_of_office_until",
            "cannot be before the first",
        ),
    ],
)
def test_bad_preferences_are_refused_next_to_the_field(client, csm, changes, field, message):
    client.force_login(csm)
    before = profile_for(csm).timezone

    response = client.post("/notifications/preferences/", {**VALID, **changes})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert profile_for(csm).timezone == before


def test_backup_cannot_be_yourself_and_anonymous_is_sent_to_log_in(client, csm):
    assert client.get("/notifications/preferences/").status_code == 302
    client.force_login(csm)
    response = client.post("/notifications/preferences/", {**VALID, "backup": str(csm.pk)})
    assert response.status_code == 400
    assert "backup" in response.context["form"].errors
