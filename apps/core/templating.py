"""Render admin-written title/body templates (``{{ account.name }}``) safely.

Templates see only plain dicts built by the caller, never model instances, so a template
cannot reach methods or related objects; rendering has no side effects.
"""

from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError

_engine = Engine(debug=False, autoescape=False, libraries={}, builtins=[])


class TemplateError(ValueError):
    pass


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    # A playbook's few templates render for every enrollment: compile each once. A
    # compiled template is not changed by rendering, so sharing it is safe.
    return _engine.from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    try:
        return _compiled(source).render(Context(context, autoescape=False)).strip()
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Template error: {exc}") from exc


def check_template(source: str) -> str | None:
    """Return a human message if ``source`` does not compile, else None."""
    try:
        _compiled(source)
    except TemplateSyntaxError as exc:
        return f"Template error: {exc}"
    return None
