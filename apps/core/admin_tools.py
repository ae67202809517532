"""Small pieces the apps' admin modules share."""

import json

from django.utils.html import format_html


def pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=2))


class ReadOnlyAdminMixin:
    """For audit rows and engine state that change only through services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
