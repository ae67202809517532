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


class StepFunnelDay(models.Model):
    """How far the enrollments started on one day (UTC), of accounts in one segment, got
    through one playbook step: counted from the step runs (first occurrences) by
    ``services.funnel_counts_rebuild`` every few minutes, so the funnel page sums a few
    thousand rows instead of a million step runs."""

    playbook = models.ForeignKey(
        "playbooks.Playbook", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    step_key = models.SlugField(max_length=64)
    day = models.DateField()
    segment = models.CharField(max_length=64, blank=True)
    reached = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    dead = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "step_key", "day", "segment"], name="one_funnel_row_per_day"
            )
        ]
        indexes = [models.Index(fields=["day"], name="funnel_day_idx")]

    def __str__(self) -> str:
        return f"{self.playbook_id}/{self.step_key} on {self.day}"
