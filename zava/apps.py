"""The project package as a Django app, so that its wiring runs once, at start-up."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import request_finished

from infrastructure.observability import metrics


class ZavaConfig(AppConfig):
    name = "zava"
    verbose_name = "Zava project"

    def ready(self) -> None:
        """Connect the project's signal receivers (once per process, whatever serves it)."""
        request_finished.connect(
            metrics.refresh_pool_gauges_after_request, dispatch_uid="zava-pool-gauges"
        )
