from django.apps import AppConfig


class GrowthConfig(AppConfig):
    name = "apps.growth"
    label = "growth"
    verbose_name = "Growth"

    def ready(self) -> None:
        from apps.core import event_registry as registry

        # Usage crossing a product's threshold starts expansion playbooks.
        registry.register_trigger(
            registry.Trigger(
                name="account.usage_threshold_crossed",
                label="Usage crossed a product's threshold",
                subject=registry.account_subject,
            )
        )
