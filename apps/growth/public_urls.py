from django.urls import path

from apps.growth import public_views

app_name = "referral"

urlpatterns = [path("<str:token>/", public_views.refer, name="refer")]
