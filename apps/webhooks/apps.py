from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        from apps.core.events import subscribe_matching
        from apps.webhooks import listeners, services

        # An event some enabled subscription asked for makes a delivery for each of them.
        subscribe_matching(
            listeners.is_wanted,
            services.deliveries_create_for_event,
            many=services.deliveries_create_for_events,
        )
