from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"
    verbose_name = "CRM integrations"

    def ready(self) -> None:
        from apps.deals.origins import register_origin
        from apps.integrations.selectors import crm_deal_origins

        register_origin(crm_deal_origins)
