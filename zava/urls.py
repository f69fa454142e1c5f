"""URL routes: the admin, the MCP endpoint, OAuth metadata, health probes and metrics."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from oauth2_provider.views import OAuthServerMetadataView

from infrastructure.observability.metrics import metrics_view
from mcp_tools.endpoint import McpEndpointView
from mcp_tools.protected_resource import McpResourceMetadataView
from zava import health

urlpatterns = [
    # The audit's list before migration 0014 named it for requests: old links still work.
    path(
        "admin/retail/toolcall/",
        RedirectView.as_view(
            pattern_name="admin:retail_auditedrequest_changelist", query_string=True
        ),
    ),
    path("admin/", admin.site.urls),
    path("mcp", McpEndpointView.as_view(), name="mcp"),
    path("o/", include("oauth_server.urls")),
    # RFC 8414: the authorization server's metadata; its issuer is this origin.
    path(".well-known/oauth-authorization-server", OAuthServerMetadataView.as_view()),
    # RFC 9728: the root form and the path form for the resource /mcp.
    path(".well-known/oauth-protected-resource", McpResourceMetadataView.as_view()),
    path(".well-known/oauth-protected-resource/mcp", McpResourceMetadataView.as_view()),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
]
