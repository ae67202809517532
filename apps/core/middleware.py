"""Middleware of our own, kept small."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"


def request_too_large_response(limit: int | None) -> JsonResponse:
    return JsonResponse(
        {"detail": f"The request body is larger than the {limit} bytes the API accepts."},
        status=413,
    )


class ApiRequestSizeMiddleware:
    """Refuse an API request whose body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with a JSON
    413, before anything reads it.

    Django checks that limit only when ``request.body`` or ``request.POST`` is read, and
    then answers with its HTML 400 page; DRF's JSON parser reads the request's stream and
    never checks it. The API takes no file uploads, so the whole body counts."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path_info.startswith(API_PREFIX):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return request_too_large_response(limit)
        return self.get_response(request)
