from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "apps.insights"
    label = "insights"
    verbose_name = "Insights"

    def ready(self) -> None:
        from apps.core.pages import register_nav_link, register_start_page

        # CS managers land on their team; everyone else keeps My work (queues' default).
        register_start_page("insights:team", permission="insights.view_team_dashboard", order=10)
        register_nav_link(
            label="Team",
            url_name="insights:team",
            permission="insights.view_team_dashboard",
            key="team",
        )
        register_nav_link(
            label="Insights",
            url_name="insights:deals",
            permission="insights.view_insights",
            key="insights",
        )
