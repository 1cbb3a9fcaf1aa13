"""System checks that refuse a production start on demo infrastructure."""

from django.conf import settings
from django.core.checks import Error, register


@register(deploy=False)
def production_infrastructure(app_configs, **kwargs):
    if not settings.IS_PRODUCTION:
        return []
    errors = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        errors.append(
            Error(
                "Production needs PostgreSQL: set DATABASE_URL=postgres://...",
                id="helpdesk.E001",
            )
        )
    if not settings.REDIS_URL:
        errors.append(
            Error(
                "Production needs Redis for the channel layer, cache and Celery: set REDIS_URL.",
                id="helpdesk.E002",
            )
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        errors.append(
            Error("Celery runs tasks in-process (eager) in production.", id="helpdesk.E003")
        )
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(Error("The development SECRET_KEY is in use.", id="helpdesk.E004"))
    return errors
