from django.apps import AppConfig


class UiConfig(AppConfig):
    """Presentation helpers shared by every app's templates (no models)."""

    name = "helpdesk.ui"
    label = "ui"
