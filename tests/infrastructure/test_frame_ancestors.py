"""``FrameAncestorsMiddleware``: every page refuses to be framed, unless it says otherwise."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory
from django.views.decorators.clickjacking import xframe_options_exempt

from infrastructure.frame_ancestors import POLICY, FrameAncestorsMiddleware


def _through(view) -> HttpResponse:
    return FrameAncestorsMiddleware(view)(RequestFactory().get("/o/authorize/"))


def test_a_page_gets_the_frame_ancestors_policy():
    assert _through(lambda request: HttpResponse("ok"))["Content-Security-Policy"] == POLICY


def test_a_page_with_its_own_policy_keeps_it():
    def view(request):
        return HttpResponse("ok", headers={"Content-Security-Policy": "default-src 'self'"})

    assert _through(view)["Content-Security-Policy"] == "default-src 'self'"


def test_a_page_exempt_from_frame_options_gets_no_policy():
    response = _through(xframe_options_exempt(lambda request: HttpResponse("ok")))
    assert "Content-Security-Policy" not in response
