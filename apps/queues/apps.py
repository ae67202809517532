from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "apps.queues"
    label = "queues"
    verbose_name = "Task queues"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.core.pages import register_start_page, register_topbar_count
        from apps.queues import step_kinds  # noqa: F401  (registers the "task" kind)
        from apps.queues.selectors import open_task_count

        # A wait step can wait for the task another step created; the task's outcome
        # becomes readable as ``steps.<that step>.outcome``.
        registry.register_waitable(registry.Waitable(name="task.completed", label="Task completed"))
        registry.register_waitable(registry.Waitable(name="task.skipped", label="Task skipped"))
        register_topbar_count("open_tasks", open_task_count)
        register_start_page("queues:my_work", order=1000)  # everyone's default
