"""System checks: the test-only loopback fetch of client metadata must not reach production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def cimd_loopback_fetch_off(**kwargs: Any) -> list[checks.CheckMessage]:
    if not settings.ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE:
        return []
    return [
        checks.Error(
            "ZAVA_OAUTH_CIMD_LOCALHOST_CA_FILE is set: client metadata documents may be "
            "fetched from this machine's loopback.",
            hint="Unset it outside tests; production fetches only public HTTPS addresses.",
            id="zava.E101",
        )
    ]
