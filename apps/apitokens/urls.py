from django.urls import path

from apps.apitokens import views

app_name = "apitokens"

urlpatterns = [
    path("", views.token_create, name="create"),
    path("<int:pk>/revoke/", views.token_revoke, name="revoke"),
]
