from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from apps.core.events import subscribe
        from apps.core.pages import register_nav_link, register_topbar_count
        from apps.notifications import (
            reminders,
            step_kinds,  # noqa: F401  (registers "email", "reminder")
        )
        from apps.notifications.selectors import unread_count

        register_topbar_count("unread", unread_count)
        register_nav_link(
            label="Emails",
            url_name="notifications:emails",
            permission="notifications.view_emailmessage",
            key="emails",
        )

        subscribe(
            "task.assigned",
            reminders.task_assigned_notify,
            many=reminders.task_assigned_notify_many,
        )
        subscribe("task.sla_breached", reminders.task_sla_breached_notify)
        for event_name in ("task.completed", "task.skipped", "task.cancelled"):
            subscribe(event_name, reminders.task_reminder_emails_withdraw)
