"""The deal pages of the CS web UI: the pipeline (``pipeline``) and the deal page with
its edits and transitions (``deal``). They write only through ``apps.deals.services``,
with the same permission and ownership checks as the API and the admin."""

from apps.deals.views.deal import (
    deal_detail,
    deal_edit,
    deal_panel,
    deal_transition,
    line_item_add,
    line_item_change,
    line_item_remove,
)
from apps.deals.views.pipeline import pipeline

__all__ = [
    "deal_detail",
    "deal_edit",
    "deal_panel",
    "deal_transition",
    "line_item_add",
    "line_item_change",
    "line_item_remove",
    "pipeline",
]
