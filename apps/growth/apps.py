from django.apps import AppConfig


class GrowthConfig(AppConfig):
    name = "apps.growth"
    label = "growth"
    verbose_name = "Growth"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.core.events import subscribe
        from apps.core.pages import register_nav_link
        from apps.deals.origins import register_origin
        from apps.growth import step_kinds  # noqa: F401  (registers its step kinds)
        from apps.growth.origins import deal_origins
        from apps.growth.referrals import referral_won, referrals_won
        from apps.growth.services import expansion_won, expansions_won

        # With their batch forms, so a batch of closes is still enrolled together.
        subscribe("deal.closed_won", expansion_won, many=expansions_won)
        subscribe("deal.closed_won", referral_won, many=referrals_won)
        register_origin(deal_origins)
        register_nav_link(
            label="Whitespace",
            url_name="growth:whitespace",
            permission="deals.view_deal",
            key="whitespace",
        )
        register_nav_link(
            label="Referrals",
            url_name="growth:referrals",
            permission="growth.view_referral",
            key="referrals",
        )
        register_nav_link(
            label="Expansion",
            url_name="growth:expansion",
            permission="growth.view_expansiondeal",
            key="expansion",
        )

        # Usage crossing a product's threshold starts expansion playbooks.
        registry.register_trigger(
            registry.Trigger(
                name="account.usage_threshold_crossed",
                label="Usage crossed a product's threshold",
                subject=registry.account_subject,
            )
        )
        # A referred deal won: playbooks for the referrer's account (a thank-you, a gift).
        registry.register_trigger(
            registry.Trigger(
                name="referral.converted",
                label="A customer's referral became a won deal",
                subject=registry.account_subject,
            )
        )
