from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "apps.apitokens"
    label = "apitokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        from apps.apitokens import schema  # noqa: F401  (registers the OpenAPI auth scheme)
        from apps.apitokens.selectors import preferences_section
        from apps.core.pages import register_preferences_section

        register_preferences_section("apitokens/_preferences_section.html", preferences_section)
