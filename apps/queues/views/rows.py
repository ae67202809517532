"""How a task reads on the CS pages, in a list row and on its own page."""

from dataclasses import dataclass

from apps.queues.models import OUTCOMES_BY_KIND, Task

SLA_LABELS = {
    "on_track": "On track",
    "due_soon": "Due soon",
    "breached": "Breached",
    "none": "No SLA",
}


@dataclass
class Row:
    task: Task
    sla: str

    @property
    def sla_label(self) -> str:
        return SLA_LABELS.get(self.sla, self.sla)

    @property
    def kind_label(self) -> str:
        return kind_label(self.task.kind)

    @property
    def outcome_label(self) -> str:
        return OUTCOMES_BY_KIND.get(self.task.kind, {}).get(self.task.outcome, self.task.outcome)


def kind_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()
