from django.urls import include, path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter
from rest_framework.settings import api_settings

from apps.customers.api import AccountViewSet, ContactViewSet, ProductViewSet
from apps.deals.api import DealLineItemViewSet, DealViewSet, LossReasonViewSet, WinReasonViewSet
from apps.engine.api import BulkEnrollmentViewSet
from apps.growth.api import ExpansionDealViewSet, ReferralViewSet, UsageSnapshotViewSet
from apps.notifications.api import NotificationViewSet
from apps.queues.api import QueueViewSet, TaskViewSet
from apps.surveys.api import ResponseViewSet

router = DefaultRouter()
router.register("accounts", AccountViewSet)
router.register("contacts", ContactViewSet)
router.register("products", ProductViewSet)
router.register("deals", DealViewSet, basename="deal")
router.register("deal-line-items", DealLineItemViewSet)
router.register("win-reasons", WinReasonViewSet)
router.register("loss-reasons", LossReasonViewSet)
router.register("queues", QueueViewSet)
router.register("tasks", TaskViewSet, basename="task")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("bulk-enrollments", BulkEnrollmentViewSet)
router.register("usage-snapshots", UsageSnapshotViewSet)
router.register("referrals", ReferralViewSet)
router.register("expansion-deals", ExpansionDealViewSet)
router.register("survey-responses", ResponseViewSet, basename="survey-response")

urlpatterns = [
    # DRF's token view names its own parsers and no throttles; it gets the API's
    # (depth-limited JSON, the request rates).
    path(
        "auth/token/",
        ObtainAuthToken.as_view(
            parser_classes=api_settings.DEFAULT_PARSER_CLASSES,
            throttle_classes=api_settings.DEFAULT_THROTTLE_CLASSES,
        ),
        name="api-token",
    ),
    path("", include(router.urls)),
]
