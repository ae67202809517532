from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "apps.engine"
    label = "engine"
    verbose_name = "Engine"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.core import outbox, step_kinds
        from apps.core.events import subscribe_matching
        from apps.core.pages import register_deal_panel
        from apps.engine import execution, selectors, services
        from apps.engine.step_kinds import WaitConfigForm

        # Whatever the apps register, including apps that become ready after this one.
        subscribe_matching(
            registry.is_trigger_event,
            services.enrollments_start_for_event,
            many=services.enrollments_start_for_events,
        )
        subscribe_matching(registry.is_cancellation, services.enrollments_cancel_for_event)
        subscribe_matching(registry.is_waitable, services.step_runs_resume_waiting)
        outbox.register_drainer(
            "steps", execution.steps_drain, tables=("engine_steprun", "engine_enrollment")
        )
        # The deal page shows what a close started (the deals app cannot import this one).
        register_deal_panel("engine/_deal_enrollments.html", selectors.deal_enrollments)
        step_kinds.register(
            step_kinds.StepKind(
                name="wait",
                label="Wait for an event (or a timeout)",
                execute=services.execute_wait_step,
                validate_config=services.validate_wait_config,
                config_form=WaitConfigForm,
            )
        )
