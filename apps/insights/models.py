from django.db import models


class Insights(models.Model):
    """No table: the holder of the app's permissions (who reads the dashboards)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_insights", "Can read closed-won insights"),
            ("view_team_dashboard", "Can read the team dashboard"),
        ]

    def __str__(self) -> str:
        return "Insights"
