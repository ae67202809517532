"""Where a webhook may be sent, and the POST itself.

A subscription's URL is an outsider's input that makes this server connect somewhere:
left unchecked it would reach the database, the metadata service of the cloud it runs
on or anything else on the private network (server-side request forgery). So only
http(s) URLs are accepted, the host is resolved and every address it resolves to must
be a public one, and the connection goes to the address that was checked (a name that
resolves to a public address at the check and a private one a moment later, DNS
rebinding, gets nowhere). Redirects are not followed for the same reason.
``WEBHOOK_ALLOW_PRIVATE_DESTINATIONS`` lets private and loopback addresses through (a
receiver on the same network, tests); link-local ones (the cloud metadata service) never.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

RESPONSE_EXCERPT_BYTES = 2000


class DestinationRefused(Exception):
    """The URL may not be called; the message says why, for the person who typed it."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: str  # the checked address the connection goes to


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _never_a_receiver(address: Address) -> bool:
    # Link-local holds the cloud metadata service (169.254.169.254); multicast and the
    # unspecified address are nobody's endpoint. Refused even on a private network.
    address = _unmapped(address)
    return address.is_link_local or address.is_multicast or address.is_unspecified


def _refused_address(address: Address) -> bool:
    # is_global is False for loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
    # link-local (169.254/16, fe80::/10), shared (100.64/10), reserved and documentation
    # ranges and the unspecified address.
    address = _unmapped(address)
    return not address.is_global or _never_a_receiver(address)


def destination_resolve(url: str) -> Destination:
    """Check ``url`` and resolve its host. Raises ``DestinationRefused`` with the reason."""
    try:
        parts = urlsplit(url.strip())
        parts.hostname  # noqa: B018 (raises for a malformed IPv6 literal)
    except ValueError:
        raise DestinationRefused("This is not a valid web address.") from None
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        raise DestinationRefused("The address has no host name.")
    if parts.username or parts.password:
        raise DestinationRefused("Put no user name or password in the address.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DestinationRefused("The port is not a number from 1 to 65535.") from None
    host = parts.hostname
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):  # ValueError: a NUL in the name
        raise DestinationRefused(f"The host {host} could not be resolved.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise DestinationRefused(f"The host {host} could not be resolved.")
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if _never_a_receiver(ip) or (not allow_private and _refused_address(ip)):
            raise DestinationRefused(
                f"{host} resolves to {address}, a private, loopback or otherwise "
                "non-public address; webhooks go only to addresses on the internet."
            )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(parts.scheme, host, port, target, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header keeps the URL's name."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self.address = destination.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address and verifies the certificate for the URL's name."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(
            destination.host,
            destination.port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
        self.address = destination.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(*, url: str, body: str, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` with ``settings.WEBHOOK_TIMEOUT_SECONDS`` for the
    connection and for each read. Never raises: a refused address, a network error or
    a timeout is an ``Answer`` without a status code."""
    started = time.monotonic()

    def answer(status_code: int | None, error: str = "", excerpt: str = "") -> Answer:
        elapsed = int((time.monotonic() - started) * 1000)
        return Answer(status_code, error, excerpt, elapsed)

    try:
        destination = destination_resolve(url)
    except DestinationRefused as refused:
        return answer(None, f"Refused: {refused}")
    timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    kind = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    connection = kind(destination, timeout)
    try:
        connection.request(
            "POST",
            destination.target,
            body=body.encode(),
            headers={
                "content-type": "application/json",
                "user-agent": "Afterwin-Webhooks/1",
                **headers,
            },
        )
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", errors="replace")
    except TimeoutError:
        return answer(None, f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s.")
    except (OSError, http.client.HTTPException) as exc:
        return answer(None, f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        connection.close()
    error = ""
    if 300 <= response.status < 400:
        error = "Redirects are not followed; give the final address."
    elif not 200 <= response.status < 300:
        error = f"HTTP {response.status} {response.reason}"
    return answer(response.status, error, excerpt)
