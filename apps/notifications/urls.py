from django.urls import path

from apps.notifications import outbox_views, views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read-all/", views.notifications_read_all, name="read_all"),
    path("preferences/", views.preferences, name="preferences"),
    path("<int:pk>/read/", views.notification_read, name="read"),
    path("<int:pk>/open/", views.notification_open, name="open"),
    path("emails/", outbox_views.email_list, name="emails"),
    path("emails/<int:pk>/", outbox_views.email_detail, name="email_detail"),
]
