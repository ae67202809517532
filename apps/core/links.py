"""Links that work outside the site: in emails, on a phone, in a CSV."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """``path`` under the site's base URL (``AFTERWIN_SITE_URL``); a full URL is kept."""
    if not path or "://" in path:
        return path
    return settings.SITE_URL.rstrip("/") + path
