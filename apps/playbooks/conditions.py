"""Step conditions: structured rules over the deal, account and enrollment context.

A rule is ``{"field": "deal.amount", "op": ">=", "value": 10000}``. A step stores its
rules as a list, all of which must hold (every version published before "any" existed
says that), or as ``{"any": [...]}``, where one is enough. Fields are looked up in a plain
dict, operators in a fixed table; nothing is ever evaluated as code.
"""

import operator
from collections.abc import Collection
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
# How the builder words an operator ("score ≤ 6").
OPERATOR_LABELS = {
    "==": "=",
    "!=": "≠",
    ">": ">",
    ">=": "≥",
    "<": "<",
    "<=": "≤",
    "in": "is one of",
    "not_in": "is none of",
    "is_set": "is set",
    "is_not_set": "is not set",
}
MATCHES = {"all": "all of these hold", "any": "any of these holds"}
# What the deal and the account offer conditions (see ``condition_data``).
RECORD_FIELDS = (
    ("deal.amount", "Deal amount"),
    ("deal.currency", "Deal currency"),
    ("deal.kind", "Deal kind"),
    ("deal.pipeline", "Deal pipeline"),
    ("deal.stage", "Deal stage"),
    ("account.tier", "Account tier"),
    ("account.segment", "Account segment"),
    ("account.country", "Account country"),
    ("account.lifecycle_status", "Account lifecycle status"),
)


def lookup(data: dict[str, Any], path: str) -> Any:
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def conditions_problems(conditions: Any) -> list[str]:
    """What is wrong with a step's stored conditions: a list of rules (all must hold) or
    ``{"any": [...]}`` / ``{"all": [...]}``."""
    if isinstance(conditions, dict):
        if len(conditions) != 1 or next(iter(conditions)) not in MATCHES:
            return ['Group the rules under “any” or “all”, e.g. {"any": [...]}.']
        conditions = next(iter(conditions.values()))
    if not isinstance(conditions, list):
        return ["Conditions must be a list of rules."]
    rules, problems = conditions, []
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


def conditions_unknown_steps(conditions: Any, keys: Collection[str]) -> list[str]:
    """Rules of a step's stored conditions that read ``steps.<key>`` of a step that is not
    among ``keys`` (the playbook's steps): their result would never be there."""
    if isinstance(conditions, dict) and len(conditions) == 1:
        conditions = next(iter(conditions.values()))
    problems = []
    for number, rule in enumerate(conditions if isinstance(conditions, list) else [], start=1):
        root, _, rest = str(rule.get("field", "") if isinstance(rule, dict) else "").partition(".")
        key = rest.partition(".")[0]
        if root == "steps" and key not in keys:
            problems.append(f"Rule {number}: there is no step with the key “{key}”.")
    return problems


def conditions_hold(rules: Any, data: dict[str, Any], *, match: str = "all") -> bool:
    """Whether a step's rules hold: all of them, or with ``match="any"`` at least one.
    No rule at all always holds."""
    results = (OPERATORS[r["op"]](lookup(data, r["field"]), r.get("value")) for r in rules)
    if match == "any":
        return not rules or any(results)
    return all(results)


def rule_text(rule: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """``steps.nps_answer.score <= 6`` as “NPS answer: score ≤ 6”."""
    field = (labels or {}).get(rule.get("field"), rule.get("field"))
    op = OPERATOR_LABELS.get(rule.get("op"), rule.get("op"))
    if rule.get("op") in ("is_set", "is_not_set"):
        return f"{field} {op}"
    value = rule.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else value
    return f"{field} {op} {shown}"


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
