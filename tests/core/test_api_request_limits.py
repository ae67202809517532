"""Hostile request bodies get a JSON 4xx from the API, never a 500 or an HTML page."""

import json

import pytest
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from apps.core.api_errors import exception_handler

pytestmark = pytest.mark.django_db


def test_a_thousand_nested_brackets_are_a_json_parse_error_not_a_500():
    body = "[" * 1000 + "]" * 1000

    response = APIClient().post("/api/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("JSON parse error - nested")


def test_nesting_deeper_than_the_api_takes_is_refused_even_when_python_could_parse_it():
    body = json.dumps({"username": "rick", "password": [[[[["x"]]]]] * 1}).replace(
        '["x"]', "[" * 80 + '"x"' + "]" * 80
    )

    response = APIClient().post("/api/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert "more than 64 levels" in response.json()["detail"]


def test_ordinary_nesting_still_parses(rep):
    client = APIClient()
    client.force_authenticate(rep)

    response = client.post(
        "/api/auth/token/",
        {"username": "rick", "password": "pass-for-tests-1", "extra": {"a": [{"b": [1]}]}},
        format="json",
    )

    assert response.status_code == 200


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_upload_limit_is_a_json_413(settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"username": "x" * 2000, "password": "y"})
    if content_type != "application/json":
        body = f"username={'x' * 2000}&password=y"

    response = APIClient().post("/api/auth/token/", body, content_type=content_type)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "The request body is larger than the 1000 bytes the API accepts."
    }


def test_the_api_error_handler_answers_a_body_django_refused_to_read_with_a_json_413(settings):
    # The middleware refuses by Content-Length first; Django's own check (when a view
    # reads request.body or request.POST) lands in the API's error handler.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = exception_handler(RequestDataTooBig("too big"), {})

    assert response.status_code == 413
    assert json.loads(response.content) == {
        "detail": "The request body is larger than the 1000 bytes the API accepts."
    }


def test_a_view_with_its_own_parsers_still_answers_deep_nesting_with_a_400():
    class PlainParsers(APIView):
        permission_classes = [AllowAny]
        parser_classes = [parsers.JSONParser]

        def post(self, request):
            return Response(request.data)

    request = APIRequestFactory().post(
        "/api/x/", "[" * 5000 + "]" * 5000, content_type="application/json"
    )

    response = PlainParsers.as_view()(request)

    assert response.status_code == 400
    assert "nested too deeply" in response.data["detail"]
