from django.apps import AppConfig


class EmpathyMetricsConfig(AppConfig):
    name = "empathy_metrics"
    verbose_name = "Empathy metrics"
