"""The restricted context that step templates (``{{ account.name }}``) render with."""

import re
from typing import Any

from apps.core.step_kinds import StepExecution
from apps.playbooks.placeholders import template_context

_READS_DEAL = re.compile(r"{[{%][^}]*\bdeal\.")


def templates_missing_deal(execution: StepExecution, *, templates: dict[str, Any]) -> str | None:
    """Why a step's templates cannot render: they read the deal and the enrollment has
    none (an account event on an account without a won deal). None if they can."""
    if execution.deal is not None:
        return None
    fields = [name for name, text in templates.items() if _READS_DEAL.search(str(text or ""))]
    if not fields:
        return None
    return f"the {' and '.join(fields)} read the deal, and {execution.account.name} has no won deal"


def step_template_context(execution: StepExecution) -> dict[str, Any]:
    return template_context(
        account=execution.account,
        deal=execution.deal,
        enrollment_context=execution.enrollment.context,
    )
