"""One-click unsubscribe for customer email (RFC 8058).

Every email to a contact carries a link and the ``List-Unsubscribe`` and
``List-Unsubscribe-Post`` headers. The link's token is signed, names the contact and
expires after a year; opening it (a GET, which mail scanners do) only asks, and a POST
(the button, or the mail client's one-click request) unsubscribes.
"""

import datetime as dt

from django.urls import reverse

from apps.core.links import absolute_url
from apps.core.signed_ids import id_from_token, id_token

SALT = "notifications.unsubscribe"
TOKEN_MAX_AGE = dt.timedelta(days=365)


def unsubscribe_token(contact_id: int) -> str:
    return id_token(contact_id, salt=SALT)


def unsubscribe_url(contact_id: int) -> str:
    return absolute_url(reverse("unsubscribe", args=[unsubscribe_token(contact_id)]))


def contact_id_from_token(token: str) -> int | None:
    """The contact a token names, or None if it was tampered with or has expired."""
    return id_from_token(token, salt=SALT, max_age=TOKEN_MAX_AGE)


def unsubscribe_headers(contact_id: int) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(contact_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def with_unsubscribe_footer(*, text: str, html: str, contact_id: int) -> tuple[str, str]:
    """The email's text and HTML with the unsubscribe line at the end."""
    url = unsubscribe_url(contact_id)
    text = f"{text.rstrip()}\n\n--\nNo more emails like this: {url}\n"
    if html:
        footer = (
            '<p style="margin-top:24px;font-size:12px;color:#555">'
            f'<a href="{url}" style="color:#555">Unsubscribe</a> from these emails.</p>'
        )
        html = html.replace("</body>", f"{footer}</body>") if "</body>" in html else html + footer
    return text, html
