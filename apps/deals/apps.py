from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "apps.deals"
    label = "deals"
    verbose_name = "Deals"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.core.pages import register_nav_link
        from apps.deals.models import Stage

        # Reps, sales managers and admins (whose roles change deals) work their pipeline.
        register_nav_link(
            label="Deals", url_name="deals:pipeline", permission="deals.change_deal", key="deals"
        )

        registry.register_trigger(
            registry.Trigger(
                name="deal.closed_won",
                label="Deal closed won",
                subject=registry.deal_subject,
            )
        )
        # Every transition writes one event; a deal "enters a stage" through any of them.
        registry.register_trigger(
            registry.Trigger(
                name="deal.stage_entered",
                label="Deal entered a stage",
                subject=registry.deal_subject,
                emitted_as=(
                    "deal.stage_changed",
                    "deal.closed_won",
                    "deal.closed_lost",
                    "deal.reopened",
                ),
                payload_filters=(
                    registry.PayloadFilter(
                        key="stages",
                        label="Stages entered",
                        payload_field="to_stage",
                        choices=tuple(Stage.choices),
                    ),
                ),
            )
        )
        registry.register_cancellation(
            registry.Cancellation(
                name="deal.reopened", label="Deal reopened", subject=registry.deal_subject
            )
        )
        registry.register_cancellation(
            registry.Cancellation(
                name="deal.closed_lost", label="Deal closed lost", subject=registry.deal_subject
            )
        )
