from django.urls import path

from apps.surveys import views

app_name = "surveys"

urlpatterns = [
    path("responses/", views.responses, name="responses"),
    path("responses/<int:pk>/", views.response_detail, name="response_detail"),
    path("responses/<int:pk>/follow-up/", views.response_follow_up_view, name="follow_up"),
]
