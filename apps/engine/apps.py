from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "apps.engine"
    label = "engine"
    verbose_name = "Engine"

    def ready(self) -> None:
        from apps.core import step_kinds
        from apps.core.events import subscribe
        from apps.engine import services

        subscribe("deal.closed_won", services.enrollments_start_for_event)
        for event_name in ("deal.reopened", "deal.closed_lost", "account.churned"):
            subscribe(event_name, services.enrollments_cancel_for_event)
        for event_name in services.WAITABLE_EVENTS:
            subscribe(event_name, services.step_runs_resume_waiting)
        step_kinds.register(
            step_kinds.StepKind(
                name="wait",
                label="Wait for an event (or a timeout)",
                execute=services.execute_wait_step,
                validate_config=services.validate_wait_config,
            )
        )
