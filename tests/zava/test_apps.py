"""The zava app config wires the project's signal receivers at start-up."""

from __future__ import annotations

from django.apps import apps
from django.core.signals import request_finished


def test_ready_connects_the_pool_gauge_receiver_once():
    config = apps.get_app_config("zava")
    # Connected by ready() at django.setup(), before any request built the middleware.
    assert request_finished.disconnect(dispatch_uid="zava-pool-gauges")
    config.ready()
    config.ready()  # a second call must not add a second receiver
    assert request_finished.disconnect(dispatch_uid="zava-pool-gauges")
    assert not request_finished.disconnect(dispatch_uid="zava-pool-gauges")
    config.ready()
