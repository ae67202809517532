"""One adapter per CRM, each reading the vendor's own request and payload shapes."""

import hmac
import ipaddress
from types import ModuleType

from apps.integrations.models import CrmConnection
from apps.integrations.vendors.base import Rejected, lines


def adapter(vendor: str) -> ModuleType:
    from apps.integrations.vendors import close, hubspot, pipedrive, salesforce, zoho

    return {
        "hubspot": hubspot,
        "salesforce": salesforce,
        "pipedrive": pipedrive,
        "close": close,
        "zoho": zoho,
    }[vendor]


def require_connection(vendor: str, tenant_id: str) -> CrmConnection:
    """The enabled connection for this CRM tenant, or a 403 counted against the vendor
    (unknown) or the connection (disabled)."""
    tenant_id = (tenant_id or "").strip()
    found = (
        CrmConnection.objects.filter(vendor=vendor, tenant_id=tenant_id).first()
        if (tenant_id)
        else None
    )
    if found is None:
        raise Rejected(403, "unknown tenant")
    if not found.enabled:
        raise Rejected(403, "connection disabled", found)
    return found


def known_connection(vendor: str, tenant_id: str) -> CrmConnection | None:
    """The connection for this tenant if there is one: a refusal made before the tenant
    was checked (no signature, a stale timestamp) still counts against it."""
    tenant_id = (tenant_id or "").strip()
    return (
        CrmConnection.objects.filter(vendor=vendor, tenant_id=tenant_id).first()
        if tenant_id
        else None
    )


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an unset secret matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def source_allowed(connection: CrmConnection, address: str) -> bool:
    """Whether the request's address is in one of the connection's allowed networks (no
    networks listed: any address)."""
    listed = lines(connection.allowed_networks)
    if not listed:
        return True
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for line in listed:
        try:
            if client in ipaddress.ip_network(line, strict=False):
                return True
        except ValueError:  # the form refuses such a line; one saved before is skipped
            continue
    return False
