from django.apps import AppConfig

from infrastructure.observability import metrics


class RetailConfig(AppConfig):
    name = "retail"
    verbose_name = "Zava retail"

    def ready(self) -> None:
        # Database system checks (zava.E001...): registered on import.
        from retail import checks  # noqa: F401
        from retail.replicas import refresh_replica_gauges

        metrics.refresh_before_scrape(refresh_replica_gauges)
