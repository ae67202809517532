from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "apps.queues"
    label = "queues"
    verbose_name = "Task queues"

    def ready(self) -> None:
        from apps.queues import step_kinds  # noqa: F401  (registers the "task" kind)
