from django.urls import path

from apps.insights import views

app_name = "insights"

urlpatterns = [
    path("team/", views.team, name="team"),
    path("insights/", views.deals, name="deals"),
    path("insights/onboarding/", views.onboarding, name="onboarding"),
    path("insights/growth/", views.growth, name="growth"),
    path("insights/export/<slug:slug>.csv", views.export, name="export"),
]
