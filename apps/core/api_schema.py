"""The OpenAPI schema documents every status an endpoint can answer with, in one place.

DRF answers the same errors everywhere: 401 without valid credentials, 403 without the
permission, 404 for an object one cannot see (or a page past the last), 400 for bad input
keyed by field, 415 for a body in a format it does not read, 409 when a state or a
concurrent change refuses a write (``api_errors``).
Rather than each viewset listing them, this schema class adds them to every operation
that can return them, with one shared error body (the ``Error`` component). Errors an
operation already lists (with its own description) get that body too.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "What went wrong. `detail` speaks of the request as a whole; bad input is keyed by "
        "field, each field with its messages (`non_field_errors` for the input as a whole; "
        "a nested object's errors are keyed the same way inside it)."
    ),
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
            {"type": "object"},
        ]
    },
}

DESCRIPTIONS = {
    "400": "Bad input, keyed by field; nothing is changed.",
    "401": "No credentials, or a token that is invalid, expired or revoked.",
    "403": "Your role may not do this.",
    "404": "No such object, or not one you can see (for a list: a page past the last).",
    "409": "The object's state does not allow this, or a concurrent change won; `detail` "
    "says which.",
    "413": "The request body is too large.",
    "415": "The body is not in a format the endpoint reads (JSON, or a form).",
    "429": "Too many requests; try again later.",
}
WRITES = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_statuses(operation):
            responses.setdefault(code, {"description": DESCRIPTIONS[code]})
        error = self._error_component()
        for code, response in responses.items():
            if code.startswith("4") and not response.get("content"):
                response["content"] = {"application/json": {"schema": error.ref}}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> list[str]:
        codes = ["429"]
        if not self._anonymous_allowed():
            codes += ["401", "403"]
        parameters = operation.get("parameters", [])
        if any(p["in"] == "path" for p in parameters) or self._is_paginated_list():
            codes.append("404")
        if self.method in WRITES:
            codes += ["400", "409", "413", "415"]
        elif any(p["in"] == "query" for p in parameters):
            codes.append("400")  # a filter's value that does not parse
        if self.method == "DELETE":
            codes.append("409")  # something still refers to it
        return codes

    def _anonymous_allowed(self) -> bool:
        permissions = self.view.get_permissions()
        return all(isinstance(permission, AllowAny) for permission in permissions)

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _error_component(self) -> ResolvedComponent:
        component = ResolvedComponent(
            name="Error", type=ResolvedComponent.SCHEMA, object="Error", schema=ERROR_SCHEMA
        )
        self.registry.register_on_missing(component)
        return component
