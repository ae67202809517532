from django.apps import AppConfig


class GrowthConfig(AppConfig):
    name = "apps.growth"
    label = "growth"
    verbose_name = "Growth"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.core.events import subscribe
        from apps.growth import step_kinds  # noqa: F401  (registers "expansion_prompt")
        from apps.growth.services import expansion_won, expansions_won

        # With its batch form, so a batch of closes is still enrolled together.
        subscribe("deal.closed_won", expansion_won, many=expansions_won)

        # Usage crossing a product's threshold starts expansion playbooks.
        registry.register_trigger(
            registry.Trigger(
                name="account.usage_threshold_crossed",
                label="Usage crossed a product's threshold",
                subject=registry.account_subject,
            )
        )
