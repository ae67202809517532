from django.urls import include, path
from rest_framework.routers import DefaultRouter

from apps.apitokens.api import ApiTokenViewSet, ObtainTokenView
from apps.customers.api import AccountViewSet, ContactViewSet, ProductViewSet
from apps.deals.api import DealLineItemViewSet, DealViewSet, LossReasonViewSet, WinReasonViewSet
from apps.engine.api import BulkEnrollmentViewSet, EnrollmentMoveViewSet
from apps.growth.api import ExpansionDealViewSet, ReferralViewSet, UsageSnapshotViewSet
from apps.health.api import AccountHealthView
from apps.notifications.api import NotificationViewSet
from apps.queues.api import QueueViewSet, TaskViewSet
from apps.surveys.api import ResponseViewSet
from apps.webhooks.api import DeliveryViewSet, EventTypesView, SubscriptionViewSet

router = DefaultRouter()
router.register("auth/tokens", ApiTokenViewSet, basename="api-token-own")
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
router.register("enrollment-moves", EnrollmentMoveViewSet)
router.register("usage-snapshots", UsageSnapshotViewSet)
router.register("referrals", ReferralViewSet)
router.register("expansion-deals", ExpansionDealViewSet)
router.register("survey-responses", ResponseViewSet, basename="survey-response")
router.register("webhooks/subscriptions", SubscriptionViewSet)
router.register("webhooks/deliveries", DeliveryViewSet)

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("accounts/<int:pk>/health/", AccountHealthView.as_view(), name="account-health"),
    path("webhooks/event-types/", EventTypesView.as_view(), name="webhook-event-types"),
    path("", include(router.urls)),
]
