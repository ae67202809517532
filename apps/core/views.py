import logging

from django.db import connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.middleware import API_PREFIX
from config.celery import app as celery_app

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("healthz: database check failed", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("healthz: broker check failed", exc_info=True)
        return False


@never_cache
@require_GET
def healthz(request):
    """Liveness for load balancers: public on purpose, it reveals only ok/down."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    body = {name: "ok" if ok else "down" for name, ok in checks.items()}
    body["status"] = "ok" if all(checks.values()) else "down"
    return JsonResponse(body, status=200 if all(checks.values()) else 503)


def rate_limited(request, exception=None):
    """What a client that asked too often gets (django-ratelimit's RATELIMIT_VIEW)."""
    from django.shortcuts import render

    response = render(request, "429.html", status=429)
    response["Retry-After"] = "60"
    return response


def not_found(request, exception=None):
    """The 404 for a URL that matches no route: JSON under the API, like every other API
    answer, and the product's page elsewhere."""
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"detail": "No such API endpoint."}, status=404)
    return defaults.page_not_found(request, exception)
