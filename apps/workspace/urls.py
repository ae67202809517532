from django.urls import path

from apps.workspace import views

app_name = "workspace"

urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/activity/", views.account_activity_page, name="account_activity"),
    path("accounts/<int:pk>/notes/", views.account_note_add, name="account_note_add"),
    path("search/", views.search_page, name="search"),
    path("search/suggest/", views.search_suggest, name="search_suggest"),
]
