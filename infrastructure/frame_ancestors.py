"""``Content-Security-Policy: frame-ancestors 'none'`` beside ``X-Frame-Options: DENY``.

Django's clickjacking middleware sends only the older header; CSP's ``frame-ancestors``
is what current browsers follow first (CSP Level 2), and the sign-in and consent pages
must never load inside another site's frame. Every response gets it, as every
response gets ``X-Frame-Options``, except a view marked ``xframe_options_exempt`` or
one that set a policy of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "frame-ancestors 'none'"


class FrameAncestorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(response, "xframe_options_exempt", False):
            return response
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = POLICY
        return response
