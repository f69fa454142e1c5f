"""The pages and endpoints of Zava's authorization server, under /o/.

Built on django-oauth-toolkit's views; Zava adds the admin-styled login, a consent
page that says what the client will see, refusal of accounts not linked to a
manager, the one resource tokens may be bound to (this server's /mcp) and limits
on requests per client address.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from oauth2_provider import views as toolkit

from mcp_tools.middleware import client_address
from mcp_tools.protected_resource import resource_url
from oauth_server.redirect_uris import is_loopback, metadata_redirect_problems
from retail import rate_limits
from retail.services.oauth_access import manager_store_names, signed_in_manager

View = Callable[..., HttpResponse]


def _too_many_requests(verdict: rate_limits.Verdict) -> HttpResponse:
    """429 with ``Retry-After`` and no body: these are forms and token requests."""
    headers = {"Retry-After": str(verdict.retry_after), "Content-Length": "0"}
    return HttpResponse(status=429, headers=headers)


def limited(bucket: str, limit_setting: str) -> Callable[[View], View]:
    """Refuse (429) POSTs from one address past the setting's count per minute."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                limit = getattr(settings, limit_setting)
                verdict = rate_limits.check_address(client_address(request), bucket, limit)
                if not verdict.allowed:
                    return _too_many_requests(verdict)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _page_context(title: str) -> dict[str, str]:
    """What the admin's base template needs to look like the admin."""
    return {
        "site_header": str(admin.site.site_header),
        "site_title": str(admin.site.site_title),
        "title": title,
    }


@method_decorator(limited("oauth-login", "ZAVA_OAUTH_REQUESTS_PER_MINUTE"), name="dispatch")
class SignInView(LoginView):
    """Django's login, in the admin's clothes, for managers connecting a client."""

    template_name = "admin/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(_page_context("Sign in to connect an MCP client"))
        context["app_path"] = self.request.get_full_path()
        return context


class ConsentView(toolkit.AuthorizationView):
    """Who is asking, where the answer goes, and which stores' data it will see."""

    template_name = "oauth_server/consent.html"
    login_url = reverse_lazy("oauth2_provider:login")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.manager = signed_in_manager(request.user)
        if request.user.is_authenticated and self.manager is None:
            context = {**_page_context("No manager for this account"), "account": request.user}
            return render(request, "oauth_server/no_manager.html", context, status=403)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        problem = _request_problem(
            request, request.GET.get("state"), request.GET.getlist("resource")
        )
        if request.GET.get("code_challenge_method", "S256") != "S256":
            problem = 'PKCE code_challenge_method must be "S256"; "plain" is refused.'
        if problem:
            return _bad_request(request, problem)
        return super().get(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        data = form.cleaned_data
        problem = _request_problem(
            self.request, data.get("state"), (data.get("resource") or "").split()
        )
        if problem:
            return _bad_request(self.request, problem)
        return super().form_valid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(_page_context("Connect an MCP client"))
        if self.manager is not None:
            context["manager"] = self.manager
            context["stores"] = manager_store_names(self.manager)
        context["scope_rows"] = list(
            zip(context.get("scopes", []), context.get("scopes_descriptions", []), strict=False)
        )
        redirect = urlsplit(context.get("redirect_uri") or "")
        context["redirect_host"] = redirect.netloc
        context["redirect_is_this_computer"] = is_loopback(redirect.hostname)
        application = context.get("application")
        # A name the client chose for itself (RFC 7591, or its own metadata document)
        # proves nothing: only head office's own entries are shown as they are.
        context["name_is_self_declared"] = application is not None and (
            application.registration_source != application.RegistrationSource.MANUAL
        )
        return context


def _request_problem(request: HttpRequest, state: str | None, resources: list[str]) -> str:
    """Why Zava refuses an otherwise valid authorization request ('' when it does not)."""
    if not state:
        return "The request has no state parameter; the client must send one."
    expected = resource_url(request)
    if resources != [expected]:
        return f"The request must name this server's MCP endpoint as its resource: {expected}"
    return ""


def _bad_request(request: HttpRequest, problem: str) -> HttpResponse:
    context = {**_page_context("This sign-in request cannot be used"), "problem": problem}
    return render(request, "oauth_server/bad_request.html", context, status=400)


@method_decorator(limited("oauth-token", "ZAVA_OAUTH_REQUESTS_PER_MINUTE"), name="dispatch")
class TokenView(toolkit.TokenView):
    """The toolkit's token endpoint, limited per address."""


def _refused_redirect_uris(request: HttpRequest) -> HttpResponse | None:
    """RFC 7591's ``invalid_redirect_uri`` when the metadata names a URI Zava refuses
    (:mod:`oauth_server.redirect_uris`); None to let the toolkit check the rest."""
    try:
        problems = metadata_redirect_problems(json.loads(request.body))
    except ValueError:
        return None  # not JSON: the toolkit answers invalid_client_metadata
    if not problems:
        return None
    body = {"error": "invalid_redirect_uri", "error_description": " ".join(problems)}
    return JsonResponse(body, status=400)


@method_decorator(limited("oauth-register", "ZAVA_OAUTH_REGISTRATIONS_PER_MINUTE"), name="dispatch")
class RegistrationView(toolkit.DynamicClientRegistrationView):
    """RFC 7591 registration, limited per address; 404 while switched off."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = _refused_redirect_uris(request)
        return refused or super().post(request, *args, **kwargs)


class RegistrationManagementView(toolkit.DynamicClientRegistrationManagementView):
    """RFC 7592: a registered client reads or updates itself, under the same URI rule."""

    def put(self, request: HttpRequest, client_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        # Checked before the token: the refusal tells only what the request itself says.
        refused = _refused_redirect_uris(request)
        return refused or super().put(request, client_id, *args, **kwargs)
