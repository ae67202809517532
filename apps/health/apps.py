from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "apps.health"
    label = "health"
    verbose_name = "Account health"

    def ready(self) -> None:
        from apps.health import registrations

        registrations.register()
