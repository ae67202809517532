"""The URLs CRMs call. Thin: the vendor's adapter authenticates, ``receiving`` stores,
and the answer is the vendor's acknowledgement (Salesforce's SOAP Ack)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import get_usage

from apps.core import clock
from apps.core.client_ip import client_ip
from apps.core.links import absolute_url
from apps.integrations.models import Vendor
from apps.integrations.receiving import delivery_authenticate, delivery_store, rejection_count
from apps.integrations.vendors import adapter
from apps.integrations.vendors.base import InboundRequest, Malformed, Rejected

REJECTIONS = "integrations.rejections"


def _address_and_vendor(group: str, request: HttpRequest) -> str:
    """Rejections count per address and CRM: CRMs send from shared addresses, so a
    connection with a stale secret holds back no other CRM's deliveries."""
    return f"{client_ip(request)}|{request.resolver_match.kwargs.get('vendor', '')}"


def _rejections_exceeded(request: HttpRequest, *, count: bool) -> bool:
    """An address whose deliveries to one CRM's URL keep failing authentication
    (guessing a signature, a token or a password) is refused there for the rest of the
    window before anything is read, once it has used up its rejections. Only rejections
    count (``count=True``): a CRM sending genuine deliveries in bulk is never slowed."""
    usage = get_usage(
        request,
        group=REJECTIONS,
        key=_address_and_vendor,
        rate=settings.INBOUND_REJECTION_RATE_PER_IP,
        increment=count,
    )
    return usage is not None and usage["count"] >= usage["limit"]


def public_url(request: HttpRequest) -> str:
    """The URL the CRM called, as the CRM saw it: behind a proxy the request's own host
    and scheme are the proxy's, so it is built on ``AFTERWIN_SITE_URL``."""
    return absolute_url(request.get_full_path())


def _refusal(vendor: str, status: int, problem: str) -> HttpResponse:
    """JSON ``{"detail": …}``, or the vendor's own form of a refusal (Salesforce's SOAP
    Fault)."""
    refuse = getattr(adapter(vendor), "refuse", None)
    if refuse is None:
        return JsonResponse({"detail": problem}, status=status)
    status, content_type, body = refuse(status, problem)
    return HttpResponse(body, status=status, content_type=content_type)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, vendor: str) -> HttpResponse:
    if vendor not in Vendor.values:
        return JsonResponse({"detail": f"No CRM called “{vendor}”."}, status=404)
    if _rejections_exceeded(request, count=False):
        response = JsonResponse(
            {"detail": "Too many rejected deliveries from your address; try again later."},
            status=429,
        )
        response["Retry-After"] = "60"
        return response
    inbound = InboundRequest(
        method=request.method,
        url=public_url(request),
        body=request.body,
        headers=request.headers,
        now=clock.now(),
        client_address=client_ip(request),
    )
    try:
        auth = delivery_authenticate(vendor=vendor, request=inbound)
    except Rejected as exc:
        _rejections_exceeded(request, count=True)
        rejection_count(vendor=vendor, reason=exc.reason, connection=exc.connection)
        response = _refusal(vendor, exc.status, f"Refused: {exc.reason}.")
        if exc.status == 401 and vendor == "pipedrive":
            response["WWW-Authenticate"] = 'Basic realm="Afterwin"'
        return response
    except Malformed as exc:
        _rejections_exceeded(request, count=True)
        rejection_count(vendor=vendor, reason="malformed body")
        return _refusal(vendor, 400, str(exc))
    delivery_store(vendor=vendor, auth=auth, body=request.body)
    status, content_type, body = adapter(vendor).acknowledge(auth)
    return HttpResponse(body, status=status, content_type=content_type)
