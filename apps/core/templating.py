"""Render admin-written title/body templates (``{{ account.name }}``) safely.

Templates see only plain dicts built by the caller, never model instances, so a template
cannot reach methods or related objects; rendering has no side effects.
"""

import re
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, Node, TokenType, Variable
from django.template.defaulttags import ForNode, TemplateLiteral, WithNode
from django.template.smartif import TokenBase

# An opening or closing mark left in the text: a tag the lexer did not recognise.
_TAG_MARK = re.compile(r"\{[{%#]|[}%#]\}")

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


def unclosed_tags(source: str) -> list[str]:
    """Tags an admin began and did not finish (``{{ account.nam }``) or finished without
    beginning, which Django would print as text: each as it reads, up to its line's end."""
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.TEXT:
            continue
        text = token.contents
        for mark in _TAG_MARK.finditer(text):
            if mark.group().startswith("{"):
                line_end = text.find("\n", mark.start())
                found.append(text[mark.start() : None if line_end < 0 else line_end].strip())
            else:
                found.append(text[text.rfind("\n", 0, mark.start()) + 1 : mark.end()].strip())
    return found


def _expressions(value: Any) -> list[FilterExpression]:
    """The expressions in a node's attribute: a variable, an ``{% if %}`` condition, the
    lists and dicts the built-in tags keep them in."""
    if isinstance(value, FilterExpression):
        return [value]
    if isinstance(value, list | tuple):
        return [e for item in value for e in _expressions(item)]
    if isinstance(value, dict):
        return [e for item in value.values() for e in _expressions(item)]
    if isinstance(value, TemplateLiteral):  # an ``{% if %}`` operand
        return _expressions(value.value)
    if isinstance(value, TokenBase):  # an ``{% if %}`` operator: ``and``, ``>``…
        return [*_expressions(value.first), *_expressions(value.second)]
    return []


def template_variables(source: str) -> list[str]:
    """The dotted names a template reads (``account.name``), in order, without the names
    it defines itself (a ``{% for %}`` or ``{% with %}`` variable, ``forloop``). Raises
    ``TemplateError`` if it does not compile."""
    try:
        template = _compiled(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Template error: {exc}") from exc
    nodes = template.nodelist.get_nodes_by_type(Node)
    own = {"forloop"}
    for node in nodes:
        if isinstance(node, ForNode):
            own.update(node.loopvars)
        elif isinstance(node, WithNode):
            own.update(node.extra_context)
    names: list[str] = []
    for node in nodes:
        for attribute in vars(node).values():
            for expression in _expressions(attribute):
                variables = [expression.var, *(arg for f in expression.filters for _, arg in f[1])]
                for variable in variables:
                    if isinstance(variable, Variable) and variable.lookups:
                        name = ".".join(variable.lookups)
                        if variable.lookups[0] not in own and name not in names:
                            names.append(name)
    return names
