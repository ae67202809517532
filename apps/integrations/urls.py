from django.urls import path

from apps.integrations import views

app_name = "integrations"

urlpatterns = [
    path("inbound/<slug:vendor>/", views.receive, name="receive"),
]
