from django.urls import path

from apps.deals import views

app_name = "deals"

urlpatterns = [
    path("", views.pipeline, name="pipeline"),
    path("<int:pk>/", views.deal_detail, name="deal_detail"),
    path("<int:pk>/edit/", views.deal_edit, name="deal_edit"),
    path("<int:pk>/line-items/", views.line_item_add, name="line_item_add"),
    path("<int:pk>/line-items/<int:item_pk>/", views.line_item_change, name="line_item_change"),
    path(
        "<int:pk>/line-items/<int:item_pk>/remove/",
        views.line_item_remove,
        name="line_item_remove",
    ),
    path("<int:pk>/transitions/<slug:name>/", views.deal_transition, name="deal_transition"),
    path("<int:pk>/panels/<slug:key>/", views.deal_panel, name="deal_panel"),
]
