"""URL routes: the admin, the MCP endpoint, OAuth metadata, health probes and metrics."""

from django.contrib import admin
from django.urls import path

from mcp_tools.endpoint import McpEndpointView
from mcp_tools.protected_resource import McpResourceMetadataView
from zava import health
from zava.observability.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("mcp", McpEndpointView.as_view(), name="mcp"),
    # RFC 9728: the root form and the path form for the resource /mcp.
    path(".well-known/oauth-protected-resource", McpResourceMetadataView.as_view()),
    path(".well-known/oauth-protected-resource/mcp", McpResourceMetadataView.as_view()),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
]
