"""Reading records from a CRM's API (HubSpot and Zoho send ids only), and asking a CRM's
OAuth server for a new access token.

Plain HTTPS requests with a timeout, retried with exponential backoff on what passes (a
timeout, a refused connection, 429 and 5xx); anything else fails at once. Called by the
worker outside any database transaction, never by the web process (the admin's "Refresh
token now" aside).
"""

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

from apps.core.outbox import Backoff
from apps.integrations.vendors.base import FetchFailed

logger = logging.getLogger(__name__)

RETRIED_STATUSES = {429, 500, 502, 503, 504}


def get_json(url: str, *, headers: dict[str, str], what: str) -> Any:
    """GET ``url`` and decode its JSON; ``None`` for 204 (Zoho's "no records"). Raises
    ``FetchFailed`` naming ``what`` when the retries run out or the answer is refused.
    The headers carry the token: they are never logged."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    return _json_with_retries(request, what=what)


def post_form(url: str, *, fields: dict[str, str], what: str) -> Any:
    """POST ``fields`` form-encoded and decode the JSON answer, as ``get_json``. The fields
    (client secret, refresh token) travel in the body, never in the URL, which servers and
    proxies log; neither is logged here."""
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
        headers={
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    return _json_with_retries(request, what=what)


def _json_with_retries(request: urllib.request.Request, *, what: str) -> Any:
    attempts = settings.CRM_FETCH_ATTEMPTS
    backoff = Backoff(
        first=dt.timedelta(milliseconds=settings.CRM_FETCH_BACKOFF_MS), cap=dt.timedelta(seconds=8)
    )
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=settings.CRM_FETCH_TIMEOUT_SECONDS) as r:
                if r.status == 204:
                    return None
                return json.loads(r.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as exc:
            problem = f"{what}: the CRM answered {exc.code}"
            if exc.code not in RETRIED_STATUSES:
                raise FetchFailed(problem, status=exc.code, answer=_error_body(exc)) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            problem = f"{what}: {getattr(exc, 'reason', exc)}"
        except ValueError:
            raise FetchFailed(f"{what}: the CRM's answer is not JSON") from None
        if attempt < attempts:
            logger.info("%s; trying again (%s of %s)", problem, attempt + 1, attempts)
            time.sleep(backoff.after(attempt).total_seconds())
    raise FetchFailed(f"{problem} (tried {attempts} times)")


def _error_body(exc: urllib.error.HTTPError) -> Any:
    """The JSON a refusal carries (OAuth servers say why in it), or None."""
    try:
        return json.loads(exc.read(8192).decode("utf-8"))
    except (OSError, ValueError):
        return None
    finally:
        exc.close()
