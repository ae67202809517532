"""Render admin-written title/body templates (``{{ account.name }}``) safely.

Templates see only plain dicts built by the caller, never model instances, so a template
cannot reach methods or related objects; rendering has no side effects.
"""

from typing import Any

from django.template import Context, Engine, TemplateSyntaxError

_engine = Engine(debug=False, autoescape=False, libraries={}, builtins=[])


class TemplateError(ValueError):
    pass


def render_text(source: str, context: dict[str, Any]) -> str:
    try:
        return _engine.from_string(source).render(Context(context, autoescape=False)).strip()
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Template error: {exc}") from exc


def check_template(source: str) -> str | None:
    """Return a human message if ``source`` does not compile, else None."""
    try:
        _engine.from_string(source)
    except TemplateSyntaxError as exc:
        return f"Template error: {exc}"
    return None
