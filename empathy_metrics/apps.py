from django.apps import AppConfig


class EmpathyMetricsConfig(AppConfig):
    name = "empathy_metrics"
    verbose_name = "Empathy metrics"

    def ready(self) -> None:
        from empathy_metrics.journey_feedback import survey_answers_for_journeys
        from empathy_metrics.selectors.digest import register_dropoff_provider
        from empathy_metrics.tasks import register_beat_schedule
        from helpdesk.celery import app as celery_app
        from helpdesk.tenancy.navigation import NavEntry, register
        from helpdesk.tenancy.policy import Perm
        from journeys.digest_provider import stages_with_rising_dropoff
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
        # The digest's journey stages whose drop-off rose (computed by journeys, from its funnels).
        register_dropoff_provider(stages_with_rising_dropoff)
