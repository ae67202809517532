"""Where a deal came from, told by the app that made it.

A deal a playbook step prompted says which playbook, version and step; a referred deal
says who referred it. Those facts live in the apps that made the deals (which import
this one), so they register a reader here and the deal's admin page and API ask it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Origin:
    kind: str  # "prompted_by", "referred_by"
    label: str  # "Prompted by"
    text: str  # "New customer onboarding v3, step “Day-60 expansion prompt”"
    details: dict[str, Any] = field(default_factory=dict)  # ids, for the API

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "text": self.text, **self.details}


Reader = Callable[[list[int]], dict[int, Origin]]
_readers: list[Reader] = []


def register_origin(read: Reader) -> None:
    """``read(deal_ids)`` returns the origin of those deals it knows about."""
    if read not in _readers:
        _readers.append(read)


def origins_for(deal_ids: Iterable[int]) -> dict[int, list[Origin]]:
    ids = list(deal_ids)
    found: dict[int, list[Origin]] = {}
    for read in _readers:
        for deal_id, origin in read(ids).items():
            found.setdefault(deal_id, []).append(origin)
    return found
