from django.urls import path

from apps.queues import views

app_name = "queues"

urlpatterns = [
    path("work/", views.my_work, name="my_work"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/bulk/", views.tasks_bulk, name="tasks_bulk"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/snooze/", views.task_snooze, name="task_snooze"),
    path("tasks/<int:pk>/assign/", views.task_assign, name="task_assign"),
    path("tasks/<int:pk>/claim/", views.task_claim, name="task_claim"),
    path("tasks/<int:pk>/start/", views.task_start, name="task_start"),
    path("tasks/<int:pk>/comment/", views.task_comment, name="task_comment"),
]
