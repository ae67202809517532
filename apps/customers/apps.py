from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "apps.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.customers import step_kinds  # noqa: F401  (registers "set_lifecycle")
        from apps.customers.models import Account

        # An account moving through its lifecycle starts playbooks (a welcome to active
        # customers, a win-back for churned ones), filtered by the status it entered.
        registry.register_trigger(
            registry.Trigger(
                name="account.lifecycle_changed",
                label="Account lifecycle changed",
                subject=registry.account_subject,
                payload_filters=(
                    registry.PayloadFilter(
                        key="lifecycle_statuses",
                        label="Statuses entered",
                        payload_field="status",
                        choices=tuple(Account.Lifecycle.choices),
                    ),
                ),
            )
        )

        registry.register_cancellation(
            registry.Cancellation(
                name="account.churned",
                label="Account churned",
                subject=registry.account_subject,
            )
        )
