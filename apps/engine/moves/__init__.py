"""Move running enrollments to another published version of their playbook.

An admin opens a published version, asks for a dry run (what would happen to each step
of each running enrollment: kept, removed, added, re-timed) and applies it; a Celery task
moves the enrollments chunk by chunk, each under its row lock, records every move
(``EnrollmentVersionChange``) and leaves an enrollment whose move failed on its version.
``plan`` says what a move does, ``selectors`` checks a request and makes the dry run,
``services`` starts and runs a move; this module re-exports what the others use.
"""

from apps.engine.moves.plan import (
    ADDED,
    CHANGE_LABELS,
    KEPT,
    REMOVED,
    RETIMED,
    EnrollmentPlan,
    MoveOptions,
    StepChange,
    enrollment_plan,
)
from apps.engine.moves.selectors import (
    MAX_CANARY,
    MovePreview,
    MoveRequest,
    enrollment_move_preview,
    enrollment_move_summary,
    enrollments_to_move,
    move_request_check,
    plans_for,
)
from apps.engine.moves.services import (
    CHUNK_SIZE,
    enrollment_move,
    enrollment_move_resume,
    enrollment_move_run,
    enrollment_move_start,
)

__all__ = [
    "ADDED",
    "CHANGE_LABELS",
    "CHUNK_SIZE",
    "KEPT",
    "MAX_CANARY",
    "REMOVED",
    "RETIMED",
    "EnrollmentPlan",
    "MoveOptions",
    "MovePreview",
    "MoveRequest",
    "StepChange",
    "enrollment_move",
    "enrollment_move_preview",
    "enrollment_move_resume",
    "enrollment_move_run",
    "enrollment_move_start",
    "enrollment_move_summary",
    "enrollment_plan",
    "enrollments_to_move",
    "move_request_check",
    "plans_for",
]
