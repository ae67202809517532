from django import template

from apps.workspace.links import deal_url as _deal_url

register = template.Library()


@register.simple_tag(takes_context=True)
def deal_url(context, deal_id: int) -> str:
    """The deal's page for the viewer (see ``apps.workspace.links``), or ""."""
    return _deal_url(deal_id, context.get("user"))
