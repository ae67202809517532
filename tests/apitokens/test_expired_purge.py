import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from apps.apitokens.models import ApiToken
from apps.apitokens.services import api_token_create
from apps.apitokens.tasks import delete_expired_api_tokens

pytestmark = pytest.mark.django_db


def test_the_purge_deletes_expired_tokens_and_can_run_twice(csm):
    with time_machine.travel(timezone.now() - dt.timedelta(days=100), tick=False):
        api_token_create(user=csm, name="Old")
    fresh, _ = api_token_create(user=csm, name="Fresh")

    assert delete_expired_api_tokens() == 1
    assert delete_expired_api_tokens() == 0

    assert list(ApiToken.objects.all()) == [fresh]
