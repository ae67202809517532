from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "apps.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from apps.core import event_registry as registry

        registry.register_cancellation(
            registry.Cancellation(
                name="account.churned",
                label="Account churned",
                subject=registry.account_subject,
            )
        )
