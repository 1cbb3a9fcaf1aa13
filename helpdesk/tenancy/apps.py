from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "helpdesk.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from helpdesk.tenancy import checks  # noqa: F401  (registers system checks)
