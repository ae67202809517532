from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "apps.queues"
    label = "queues"
    verbose_name = "Task queues"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.queues import step_kinds  # noqa: F401  (registers the "task" kind)

        # A wait step can wait for the task another step created; the task's outcome
        # becomes readable as ``steps.<that step>.outcome``.
        registry.register_waitable(registry.Waitable(name="task.completed", label="Task completed"))
        registry.register_waitable(registry.Waitable(name="task.skipped", label="Task skipped"))
