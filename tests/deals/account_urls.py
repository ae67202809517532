"""The project's URLs plus an account page, as the accounts pages will add one."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urls

urlpatterns = [
    path("accounts/<int:pk>/", lambda request, pk: HttpResponse(), name="account_page"),
    *project_urls,
]
