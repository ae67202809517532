from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "apps.workspace"
    label = "workspace"
    verbose_name = "Workspace"

    def ready(self) -> None:
        from apps.core.pages import register_nav_link

        register_nav_link(
            label="Accounts",
            url_name="workspace:account_list",
            permission="customers.view_account",
            key="accounts",
        )
