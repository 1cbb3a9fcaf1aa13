from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "helpdesk.realtime"
    label = "realtime"
    verbose_name = "Real-time"
