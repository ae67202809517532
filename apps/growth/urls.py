from django.urls import path

from apps.growth import result_views, views

app_name = "growth"

urlpatterns = [
    path("whitespace/", views.whitespace, name="whitespace"),
    path("referrals/", result_views.referral_results, name="referrals"),
    path("expansion/", result_views.expansion_results, name="expansion"),
]
