"""The engine's REST endpoints: bulk enrollment (``bulk``) and moving running enrollments
to another version (``moves``); this module re-exports the viewsets config routes."""

from apps.engine.api.bulk import BulkEnrollmentViewSet
from apps.engine.api.moves import EnrollmentMoveViewSet

__all__ = ["BulkEnrollmentViewSet", "EnrollmentMoveViewSet"]
