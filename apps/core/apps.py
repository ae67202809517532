from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from apps.core import events, login_throttle, outbox

        outbox.register_drainer("events", events.events_drain, tables=("core_domainevent",))
        user_locked_out.connect(
            login_throttle.lockout_reaches_the_django_request, dispatch_uid="core.lockout"
        )
