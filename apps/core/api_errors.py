import traceback

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import Conflict, DomainError
from apps.core.middleware import request_too_large_response
from apps.core.parsers import MAX_DEPTH


def _raised_while_parsing(exc: BaseException) -> bool:
    """Whether ``exc`` came out of a request parser (a view may name its own parsers, as
    DRF's token view does, and so skip ours)."""
    return any(
        isinstance(frame.f_locals.get("self"), BaseParser)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def exception_handler(exc, context):
    """Domain errors become 4xx responses keyed by field, in DRF's own error shape; a
    body Django refuses to read (too big, too many fields) is a JSON 4xx, not its HTML
    error page."""
    if isinstance(exc, RequestDataTooBig):
        return request_too_large_response(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, RecursionError) and _raised_while_parsing(exc):
        return Response(
            {"detail": f"JSON parse error - nested too deeply (at most {MAX_DEPTH} levels)."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Conflict):
        return Response({"detail": exc.message, **exc.errors}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {
                field: [m for e in errs for m in e.messages]
                for field, errs in exc.error_dict.items()
            }
        else:
            body = {"non_field_errors": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
