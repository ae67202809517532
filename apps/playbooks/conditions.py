"""Step conditions: structured rules over the deal, account and enrollment context.

A rule is ``{"field": "deal.amount", "op": ">=", "value": 10000}``; all rules of a step
must hold. Fields are looked up in a plain dict, operators in a fixed table; nothing is
ever evaluated as code.
"""

import operator
from decimal import Decimal, InvalidOperation
from typing import Any

_MISSING = object()


def _number(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value


def _compare(op):
    def check(actual: Any, expected: Any) -> bool:
        if actual is _MISSING or actual is None:
            return False
        left, right = _number(actual), _number(expected)
        try:
            return op(left, right)
        except TypeError:  # e.g. a number compared with text: the rule does not hold
            return False

    return check


OPERATORS = {
    "==": lambda a, e: a is not _MISSING and (_number(a) == _number(e) or a == e),
    "!=": lambda a, e: a is _MISSING or not (_number(a) == _number(e) or a == e),
    ">": _compare(operator.gt),
    ">=": _compare(operator.ge),
    "<": _compare(operator.lt),
    "<=": _compare(operator.le),
    "in": lambda a, e: a is not _MISSING and a in (e or []),
    "not_in": lambda a, e: a is _MISSING or a not in (e or []),
    "is_set": lambda a, e: a not in (_MISSING, None, ""),
    "is_not_set": lambda a, e: a in (_MISSING, None, ""),
}
ROOTS = ("deal", "account", "context", "steps")


def lookup(data: dict[str, Any], path: str) -> Any:
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def conditions_problems(rules: Any) -> list[str]:
    if not isinstance(rules, list):
        return ["Conditions must be a list of rules."]
    problems = []
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or "field" not in rule or "op" not in rule:
            problems.append(f"Rule {number} needs a “field” and an “op”.")
            continue
        if str(rule["field"]).split(".")[0] not in ROOTS:
            problems.append(
                f"Rule {number}: “{rule['field']}” must start with one of {', '.join(ROOTS)}."
            )
        if rule["op"] not in OPERATORS:
            known = ", ".join(OPERATORS)
            problems.append(f"Rule {number}: unknown operator “{rule['op']}”; use one of {known}.")
        elif rule["op"] in ("in", "not_in") and not isinstance(rule.get("value"), list):
            problems.append(f"Rule {number}: “{rule['op']}” needs a list value.")
    return problems


def conditions_hold(rules: list[dict[str, Any]], data: dict[str, Any]) -> bool:
    return all(OPERATORS[r["op"]](lookup(data, r["field"]), r.get("value")) for r in rules)


def condition_data(*, deal: Any, account: Any, enrollment: Any) -> dict[str, Any]:
    """What conditions can read. ``steps.<key>`` holds earlier steps' results."""
    context = dict(enrollment.context)
    deal_data = (
        {
            "amount": deal.amount,
            "currency": deal.currency,
            "kind": deal.kind,
            "pipeline": deal.pipeline,
            "stage": deal.stage,
        }
        if deal is not None
        else {}  # an account event without a won deal: deal rules do not hold
    )
    return {
        "deal": deal_data,
        "account": {
            "tier": account.tier,
            "segment": account.segment,
            "country": account.country,
            "lifecycle_status": account.lifecycle_status,
        },
        "context": context,
        "steps": context.get("steps", {}),
    }
