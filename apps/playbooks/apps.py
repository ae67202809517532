from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "apps.playbooks"
    label = "playbooks"
    verbose_name = "Playbooks"
