from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "apps.surveys"
    label = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from apps.core import event_registry as registry
        from apps.core.pages import register_nav_link, register_task_panel
        from apps.surveys import step_kinds  # noqa: F401  (registers the "survey" kind)
        from apps.surveys.models import BANDS
        from apps.surveys.selectors import answer_facts, responses_for_task

        # A wait on a survey step finishes on the answer; later steps read
        # ``steps.<survey step>.score``, ``.band`` and ``.comment``.
        registry.register_waitable(
            registry.Waitable(
                name="survey.answered",
                label="Survey answered",
                facts=answer_facts,
                fields=(("score", "score"), ("band", "band"), ("comment", "comment")),
            )
        )
        # A playbook may also start on an answer (a detractor anywhere, say).
        registry.register_trigger(
            registry.Trigger(
                name="survey.answered",
                label="Survey answered",
                subject=registry.account_subject,
                payload_filters=(
                    registry.PayloadFilter(
                        key="bands",
                        label="Answer bands",
                        payload_field="band",
                        choices=tuple((band, band.title()) for band in BANDS),
                    ),
                ),
            )
        )
        register_task_panel("surveys/_task_responses.html", responses_for_task)
        register_nav_link(
            label="Responses",
            url_name="surveys:responses",
            permission="surveys.view_response",
            key="responses",
        )
