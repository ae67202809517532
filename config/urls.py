from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

from apps.core.pages import home
from apps.core.views import favicon, healthz
from apps.notifications.public_views import unsubscribe

urlpatterns = [
    path("", home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("", include("apps.queues.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("api-tokens/", include("apps.apitokens.urls")),
    path("surveys/", include("apps.surveys.urls")),
    path("growth/", include("apps.growth.urls")),
    path("", include("apps.workspace.urls")),
    path("deals/", include("apps.deals.urls")),
    path("", include("apps.insights.urls")),
    path("integrations/", include("apps.integrations.urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("u/<str:token>/", unsubscribe, name="unsubscribe"),
    path("s/", include("apps.surveys.public_urls")),
    path("r/", include("apps.growth.public_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), which the
    # Content Security Policy allows; the plain view inlines it.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "apps.core.views.not_found"
