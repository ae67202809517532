from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        from apps.core.events import subscribe_matching
        from apps.webhooks import catalogue, services

        # Every offered event makes a delivery per subscription that asked for it.
        subscribe_matching(
            catalogue.is_offered,
            services.deliveries_create_for_event,
            many=services.deliveries_create_for_events,
        )
