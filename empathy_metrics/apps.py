from django.apps import AppConfig


class EmpathyMetricsConfig(AppConfig):
    name = "empathy_metrics"
    verbose_name = "Empathy metrics"

    def ready(self) -> None:
        from empathy_metrics.journey_feedback import survey_answers_for_journeys
        from empathy_metrics.tasks import register_beat_schedule
        from helpdesk.celery import app as celery_app
        from helpdesk.tenancy.navigation import NavEntry, register
        from helpdesk.tenancy.policy import Perm
        from journeys.feedback import register_feedback_source

        register(
            NavEntry(
                "Dashboard",
                "metrics:dashboard",
                Perm.DASHBOARDS_VIEW,
                "insight",
                "chart",
                also_active_under=("dashboards/",),
            )
        )
        register(
            NavEntry("My metrics", "metrics:my-metrics", Perm.TICKETS_WORK, "work", "activity")
        )
        register(
            NavEntry("Surveys", "metrics:survey-settings", Perm.SETTINGS_MANAGE, "admin", "smile")
        )
        register_beat_schedule(celery_app)
        # Survey answers in the journeys' voice of the customer (journeys cannot import us).
        register_feedback_source(survey_answers_for_journeys)
