"""``{% company_name %}``: the selling company's name (``AFTERWIN_COMPANY_NAME``), for what
customers read — their emails and the public pages. A built-in library (settings
``TEMPLATES``), so emails rendered without a request have it too."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def company_name() -> str:
    return settings.COMPANY_NAME
