from django.apps import AppConfig


class RetailConfig(AppConfig):
    name = "retail"
    verbose_name = "Zava retail"

    def ready(self) -> None:
        # Database system checks (zava.E001...): registered on import.
        from retail import checks  # noqa: F401
