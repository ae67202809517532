"""The API's JSON parser: DRF's, refusing bodies nested deeper than any payload we take.

Python's JSON decoder recurses once per level; a body of a thousand ``[`` exhausts the
interpreter's recursion limit (RecursionError, a 500). Data that parses just below that
limit would fail the same way later, where it is copied or saved into a JSON column, so
the parser also refuses anything deeper than ``MAX_DEPTH``: Afterwin's payloads (usage
snapshot lists, bulk-enrollment filters) are a few levels deep.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64


def json_depth_exceeds(data: object, limit: int) -> bool:
    """Whether ``data`` nests lists and objects more than ``limit`` levels deep. Walked
    with a stack, not recursion, for the same reason the parser checks it."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - nested too deeply (at most {MAX_DEPTH} levels)."
            ) from None
        if json_depth_exceeds(data, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        return data
