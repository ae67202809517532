"""My deals: the pipeline by stage, with the count and amounts of each stage."""

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.http import require_GET

from apps.core.pages import cs_page, render_page
from apps.deals import selectors
from apps.deals.forms import PAGE_SIZE, PipelineFilterForm


class CountedPaginator(Paginator):
    """A paginator told its count (the stage totals have it), so it asks nothing more."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def _query_without(params: QueryDict, *keys: str) -> str:
    kept = params.copy()
    for key in keys:
        kept.pop(key, None)
    return kept.urlencode()


def _pipeline_context(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    form = PipelineFilterForm(params, user=request.user)
    context: dict[str, Any] = {"filter_form": form, "nav": "deals", "sections": [], "totals": []}
    if not form.is_valid():
        return context
    filters = form.pipeline_filters()
    deals = selectors.pipeline_deals(filters=filters)
    totals = selectors.pipeline_totals(deals=deals)
    shown = [filters.stage] if filters.stage else list(selectors.PIPELINE_STAGES)
    sections = []
    for stage in shown:
        total = totals[stage]
        page_param = f"{stage}_page"
        page = None
        if total.count:
            paginator = CountedPaginator(
                selectors.pipeline_stage_deals(deals=deals, stage=stage),
                PAGE_SIZE,
                count=total.count,
            )
            page = paginator.get_page(params.get(page_param))
        sections.append(
            {
                "total": total,
                "page": page,
                "page_param": page_param,
                "query": _query_without(params, page_param),
            }
        )
    context.update(
        sections=sections,
        totals=[totals[stage] for stage in shown],
        mine=filters.owner is not None,
        filtered=bool(filters.stage or filters.close_from or filters.close_to or filters.search),
    )
    return context


@require_GET
@cs_page(permission="deals.view_deal")
def pipeline(request: HttpRequest) -> HttpResponse:
    context = _pipeline_context(request, request.GET)
    status = 400 if context["filter_form"].errors else 200
    return render_page(request, "deals/pipeline.html", context, status=status)
